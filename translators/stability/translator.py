"""Map OpenAI image generation to Stability AI's Stable Image API (v2beta) and back.

Facts (platform.stability.ai/docs/api-reference): ``POST https://api.stability.ai/v2beta/stable-image/
generate/{core|ultra|sd3}``, ``Authorization: Bearer <key>``, a ``multipart/form-data`` body (even
without files), and ``Accept: application/json`` for ``{"image": <base64>, "finish_reason":
"SUCCESS" | "CONTENT_FILTERED", "seed"}`` (``image/*`` answers raw bytes with ``finish-reason`` and
``seed`` headers; both are read). Form fields: ``prompt`` (required), ``aspect_ratio`` (``21:9 16:9 3:2
5:4 1:1 4:5 2:3 9:16 9:21``, default ``1:1``), ``negative_prompt``, ``seed``, ``style_preset``,
``output_format`` (``png`` default, ``jpeg``, ``webp``; ``sd3`` takes ``png``/``jpeg``), and on ``sd3``
``model`` and ``cfg_scale``. Optional ``stability-client-id``, ``-user-id`` and ``-version`` headers
come from the ``stability_client_*`` options (``x-portkey-stability-client-*`` headers). Errors are
``{"id", "name", "errors": [...]}`` (``name`` such as ``bad_request``, ``content_moderation``,
``rate_limit_exceeded``).

Model -> endpoint: ``stable-image-core`` (or ``core``, or no model) -> ``core``;
``stable-image-ultra`` (or ``ultra``) -> ``ultra``; ``sd3*`` (``sd3.5-large``, ``sd3.5-large-turbo``,
``sd3.5-medium``, ``sd3.5-flash``, ``sd3-large``, ...) -> ``sd3`` with the name in the ``model`` field
(plain ``sd3`` leaves the field out, so Stability's default model is used).

OpenAI params: ``size`` -> the nearest ``aspect_ratio`` (``translators.image_inputs``); ``output_format``
as is; ``n`` must be 1 (one image per request, and a translator makes one request);
``response_format: url`` is refused (Stability returns bytes and the gateway stores no files), so
images come back as ``b64_json`` whether or not it was asked for; streaming is refused. The
Stability fields ``negative_prompt``, ``seed``, ``style_preset`` and ``cfg_scale`` pass through;
``native_params`` adds or replaces form fields. A filtered image (``CONTENT_FILTERED``) is returned
as Stability sends it; with strict compliance off each image also carries ``seed`` and
``finish_reason``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from translators.contract import Built, HttpRequest, InvalidResponse, StreamError, Target, TranslationError
from translators.image_inputs import aspect_ratio, check_bytes_only, count_of, image, images_response, prompt_of
from translators.openai_shapes import error_envelope, loads_or_none, merge_native, text_error, unmapped

PROVIDER_LABEL = "stability-ai"
RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")
ENDPOINTS = {"stable-image-core": "core", "core": "core", "stable-image-ultra": "ultra", "ultra": "ultra"}
PASSED = ("negative_prompt", "seed", "style_preset", "cfg_scale")
HANDLED = frozenset({"prompt", "n", "size", "response_format", "output_format", *PASSED})
CLIENT_HEADERS = {
    "stability_client_id": "stability-client-id",
    "stability_client_user_id": "stability-client-user-id",
    "stability_client_version": "stability-client-version",
}


def endpoint_of(model: Any) -> tuple[str, str | None]:
    """Return ``(endpoint, model field)`` for an OpenAI ``model`` (``core`` when none is named)."""
    if model is None or model == "":
        return "core", None
    if not isinstance(model, str):
        raise TranslationError("model must be a string", "model")
    if model in ENDPOINTS:
        return ENDPOINTS[model], None
    if model.startswith("sd3"):
        return "sd3", None if model == "sd3" else model
    raise TranslationError(
        f"{PROVIDER_LABEL} image models are stable-image-core, stable-image-ultra and sd3* (such as sd3.5-large)",
        "model",
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def form_fields(body: Mapping[str, Any], model: str | None, provider: str) -> dict[str, str]:
    """Build the form fields of a generate request from an OpenAI images request."""
    if count_of(body) != 1:
        raise TranslationError(f"{provider} generates one image per request: n must be 1", "n")
    fields: dict[str, Any] = {"prompt": prompt_of(body)}
    if model:
        fields["model"] = model
    ratio = aspect_ratio(body.get("size"), RATIOS, provider)
    if ratio:
        fields["aspect_ratio"] = ratio
    if body.get("output_format") is not None:
        fields["output_format"] = body["output_format"]
    for name in PASSED:
        if body.get(name) is not None:
            fields[name] = body[name]
    merged = merge_native(fields, body)
    return {name: _text(value) for name, value in merged.items() if value is not None}


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def multipart(fields: Mapping[str, str], boundary: str) -> bytes:
    """Encode text fields as a ``multipart/form-data`` body."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


def headers(target: Target, boundary: str) -> dict[str, str]:
    """Bearer auth, the JSON answer, the form's content type and the optional client headers."""
    out = {"accept": "application/json", "content-type": f"multipart/form-data; boundary={boundary}"}
    if target.api_key:
        out["authorization"] = f"Bearer {target.api_key}"
    for option, header in CLIENT_HEADERS.items():
        value = target.option(option)
        if value:
            out[header] = str(value)
    return out


def to_images(parsed: Any, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``{"image", "finish_reason", "seed"}`` to OpenAI's images response."""
    if not isinstance(parsed, Mapping) or not isinstance(parsed.get("image"), str) or not parsed["image"]:
        raise InvalidResponse(f"Invalid response received from {target.provider}: {orjson.dumps(parsed)[:500]!r}")
    item = image(parsed["image"])
    if not target.strict:
        for key in ("seed", "finish_reason"):
            if parsed.get(key) is not None:
                item[key] = parsed[key]
    native = request.get("native_params")
    fmt = (native.get("output_format") if isinstance(native, Mapping) else None) or request.get("output_format")
    return images_response(target.provider, [item], str(fmt or "png"))


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map ``{"id", "name", "errors": [...]}`` (or ``message``) to OpenAI's error envelope."""
    parsed = loads_or_none(body)
    if isinstance(parsed, Mapping) and (parsed.get("errors") or parsed.get("message") or parsed.get("name")):
        errors = parsed.get("errors")
        if isinstance(errors, list) and errors:
            message = "; ".join(str(e) for e in errors)
        else:
            message = str(parsed.get("message") or parsed.get("name"))
        return error_envelope(target.provider, message, parsed.get("name"))
    return text_error(status, body, target.provider)


class StabilityTranslator:
    """OpenAI image generation <-> Stability AI Stable Image."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn == "imageGenerate"

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return []

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        if fn != "imageGenerate":
            raise TranslationError(f"{fn} is not supported by {target.provider}")
        check_bytes_only(body, target.provider, stream)
        endpoint, model = endpoint_of(body.get("model"))
        fields = form_fields(body, model, target.provider)
        boundary = f"stability{uuid.uuid4().hex}"
        base = (target.custom_host or target.base_url).rstrip("/")
        url = f"{base}/v2beta/stable-image/generate/{endpoint}"
        request = HttpRequest("POST", url, headers(target, boundary), multipart(fields, boundary))
        return Built(request, unmapped(body, HANDLED))

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        content_type = target.response_headers.get("content-type", "")
        if content_type.startswith("image/"):  # answered with bytes despite Accept: application/json
            parsed: Any = {
                "image": base64.b64encode(body).decode(),
                "finish_reason": target.response_headers.get("finish-reason"),
                "seed": target.response_headers.get("seed"),
            }
            request = {**request, "output_format": request.get("output_format") or content_type[6:]}
        else:
            parsed = loads_or_none(body)
        return to_images(parsed, target, request)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> Any:
        raise StreamError(f"{target.provider} does not stream", "unsupported", 400)


TRANSLATOR = StabilityTranslator()
