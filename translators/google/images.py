"""Map OpenAI image generation to Google: Imagen ``:predict`` and Gemini native image output.

Imagen facts (ai.google.dev/gemini-api/docs/imagen; Vertex AI Imagen API reference):
``POST {base}/models/{imagen-model}:predict`` with ``{"instances": [{"prompt"}], "parameters":
{"sampleCount", "aspectRatio", "imageSize", "personGeneration", "outputOptions"}}``. ``sampleCount``
is 1 to 4 and defaults to 4, so OpenAI's default ``n = 1`` is always sent; ``aspectRatio`` is one
of ``1:1 3:4 4:3 9:16 16:9``; ``imageSize`` is ``1K`` (default) or ``2K`` (Standard and Ultra
models), sent as ``2K`` when the longer side of ``size`` is 2048 or more; ``outputOptions`` carries
``mimeType`` (``image/png`` or ``image/jpeg``) and ``compressionQuality`` (JPEG). The answer is
``{"predictions": [{"bytesBase64Encoded", "mimeType", "prompt"?, "raiFilteredReason"?}]}``: ``prompt``
is the rewritten prompt (``revised_prompt``); filtered images are left out, and a request whose
images were all filtered answers without ``predictions``.

Gemini image facts (ai.google.dev/gemini-api/docs/image-generation): ``gemini-*-image`` models
answer ``generateContent`` with ``inlineData`` image parts when
``generationConfig.responseModalities`` is ``["IMAGE"]`` (``["TEXT", "IMAGE"]`` for the 2.0
``*-image-generation`` preview, which cannot answer with images alone);
``generationConfig.imageConfig`` takes ``aspectRatio`` (``1:1 2:3 3:2 3:4 4:3 4:5 5:4 9:16 16:9
21:9``) and ``imageSize`` (``1K 2K 4K``). One candidate per request, so ``n`` must be 1. Parts
marked ``thought`` are interim images and are skipped; usage comes from ``usageMetadata``.

Both return bytes only: ``response_format: url`` is refused, as is streaming. When no image comes
back (all filtered, or the prompt was blocked) the answer is an invalid response (502) that names
the provider's reason. ``native_params`` is merged into the native body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.contract import Built, HttpRequest, InvalidResponse, ProviderRefusal, Target, TranslationError
from translators.google.request import model_of
from translators.image_inputs import (
    aspect_ratio,
    check_bytes_only,
    count_of,
    image,
    images_response,
    longest_side,
    output_format,
    prompt_of,
)
from translators.openai_shapes import json_bytes, loads_or_none, merge_native, unmapped

IMAGEN_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
GEMINI_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGEN_HANDLED = frozenset({"prompt", "n", "size", "response_format", "output_format", "output_compression"})
GEMINI_HANDLED = frozenset({"prompt", "n", "size", "response_format"})
_IMAGEN_MIME = {"png": "image/png", "jpeg": "image/jpeg"}


def is_imagen(model: str) -> bool:
    """Whether ``model`` is an Imagen model (served on ``:predict``)."""
    return model.startswith(("imagen", "imagegeneration"))


def is_gemini_image(model: str) -> bool:
    """Whether ``model`` is a Gemini model with native image output."""
    return model.startswith("gemini") and "image" in model


def predict_body(body: Mapping[str, Any], provider: str) -> dict[str, Any]:
    """Build the Imagen ``:predict`` body from an OpenAI images request."""
    parameters: dict[str, Any] = {"sampleCount": count_of(body)}
    ratio = aspect_ratio(body.get("size"), IMAGEN_RATIOS, provider)
    if ratio:
        parameters["aspectRatio"] = ratio
    if longest_side(body.get("size")) >= 2048:
        parameters["imageSize"] = "2K"
    fmt = body.get("output_format")
    if fmt is not None:
        if fmt not in _IMAGEN_MIME:
            raise TranslationError(f"output_format must be png or jpeg for {provider} Imagen", "output_format")
        parameters["outputOptions"] = {"mimeType": _IMAGEN_MIME[fmt]}
    if isinstance(body.get("output_compression"), int):
        if fmt != "jpeg":
            raise TranslationError("output_compression needs output_format jpeg", "output_compression")
        parameters["outputOptions"]["compressionQuality"] = body["output_compression"]
    return merge_native({"instances": [{"prompt": prompt_of(body)}], "parameters": parameters}, body)


def gemini_image_body(body: Mapping[str, Any], model: str, provider: str) -> dict[str, Any]:
    """Build a ``generateContent`` body asking a Gemini image model for one image."""
    if count_of(body) != 1:
        raise TranslationError(f"{provider} Gemini image models return one image per request: n must be 1", "n")
    modalities = ["TEXT", "IMAGE"] if "image-generation" in model else ["IMAGE"]
    config: dict[str, Any] = {"responseModalities": modalities}
    image_config: dict[str, Any] = {}
    ratio = aspect_ratio(body.get("size"), GEMINI_RATIOS, provider)
    if ratio:
        image_config["aspectRatio"] = ratio
    side = longest_side(body.get("size"))
    if side >= 2048:
        image_config["imageSize"] = "4K" if side >= 4096 else "2K"
    if image_config:
        config["imageConfig"] = image_config
    contents = [{"role": "user", "parts": [{"text": prompt_of(body)}]}]
    return merge_native({"contents": contents, "generationConfig": config}, body)


def build_request(body: Mapping[str, Any], target: Target, base: str, headers: dict[str, str], stream: bool) -> Built:
    """Build the image request: Imagen ``:predict`` or Gemini ``:generateContent`` under ``base``."""
    check_bytes_only(body, target.provider, stream)
    model = model_of(body)
    if is_imagen(model):
        payload, method, handled = predict_body(body, target.provider), "predict", IMAGEN_HANDLED
    elif is_gemini_image(model):
        payload, method, handled = gemini_image_body(body, model, target.provider), "generateContent", GEMINI_HANDLED
    else:
        raise TranslationError(
            f"{target.provider} image generation needs an imagen-* or gemini-*-image model, not {model}", "model"
        )
    request = HttpRequest("POST", f"{base}/models/{model}:{method}", headers, json_bytes(payload))
    return Built(request, unmapped(body, handled))


def _no_image(target: Target, reason: str) -> ProviderRefusal:
    return ProviderRefusal(f"{target.provider} error: generated no image: {reason}")


def from_predictions(raw: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """Map an Imagen ``:predict`` answer to OpenAI's images response."""
    predictions = [p for p in raw.get("predictions") or [] if isinstance(p, Mapping)]
    data = [image(p["bytesBase64Encoded"], p.get("prompt")) for p in predictions if p.get("bytesBase64Encoded")]
    if not data:
        reasons = [str(p["raiFilteredReason"]) for p in predictions if p.get("raiFilteredReason")]
        raise _no_image(target, "; ".join(reasons) or "every image was filtered by responsible-AI checks")
    fmt = next((output_format(p.get("mimeType")) for p in predictions if p.get("bytesBase64Encoded")), None)
    return images_response(target.provider, data, fmt)


def _usage(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    if not meta:
        return None
    prompt = int(meta.get("promptTokenCount") or 0)
    completion = int(meta.get("candidatesTokenCount") or 0) + int(meta.get("thoughtsTokenCount") or 0)
    details = {"text_tokens": 0, "image_tokens": 0}
    for item in meta.get("promptTokensDetails") or []:
        kind = "image_tokens" if item.get("modality") == "IMAGE" else "text_tokens"
        details[kind] += int(item.get("tokenCount") or 0)
    if not any(details.values()):
        details["text_tokens"] = prompt
    total = int(meta.get("totalTokenCount") or 0) or prompt + completion
    return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": total, "input_tokens_details": details}


def from_generate_content(raw: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """Map a Gemini ``generateContent`` answer with image parts to OpenAI's images response."""
    data: list[dict[str, Any]] = []
    fmt = None
    reasons: list[str] = []
    for candidate in raw.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData")
            if isinstance(inline, Mapping) and inline.get("data") and not part.get("thought"):
                data.append(image(inline["data"]))
                fmt = fmt or output_format(inline.get("mimeType"))
        reason = candidate.get("finishMessage") or candidate.get("finishReason")
        if reason and reason != "STOP":
            reasons.append(str(reason))
    if not data:
        feedback = raw.get("promptFeedback") or {}
        reason = feedback.get("blockReason") if isinstance(feedback, Mapping) else None
        raise _no_image(target, str(reason or "; ".join(reasons) or "the model answered without an image"))
    return images_response(target.provider, data, fmt, _usage(raw.get("usageMetadata") or {}))


def parse_response(body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map Google's image answer (read by the request's model) to OpenAI's images response."""
    raw = loads_or_none(body)
    imagen = is_imagen(str(request.get("model") or "").removeprefix("models/"))
    if not isinstance(raw, Mapping) or not (imagen or "candidates" in raw or "promptFeedback" in raw):
        raise InvalidResponse(f"Invalid response received from {target.provider}: {body[:500]!r}")
    return from_predictions(raw, target) if imagen else from_generate_content(raw, target)
