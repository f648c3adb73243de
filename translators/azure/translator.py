"""Build Azure OpenAI requests; answers and streams are OpenAI's and relayed unchanged.

Facts (learn.microsoft.com, Azure OpenAI data-plane reference): a deployment is called at
``https://{resource}.openai.azure.com/openai/deployments/{deployment}/{path}?api-version={v}``
with ``path`` one of ``chat/completions``, ``completions``, ``embeddings`` (``build_request``)
or ``images/generations``, ``images/edits``, ``audio/speech``, ``audio/transcriptions``,
``audio/translations`` (``route``). Files, batches, fine-tuning jobs and responses belong to the
resource, not a deployment: ``/openai/{files|batches|fine_tuning/jobs|responses}...?api-version={v}``.
The GA ``v1`` API lives at ``/openai/v1/{path}`` without ``api-version``; there the deployment
is named by the body's ``model``. A custom host replaces ``https://{resource}.openai.azure.com``.
Auth is ``api-key: <key>``, or ``Authorization: Bearer <Entra token>`` (a static
``azure_ad_token``, or one the gateway fetched for ``azure_auth_mode`` ``entra``/``managed``:
``Target.credentials``). Azure OpenAI has no moderations and no image-variations endpoint.

Unlike the reference, the body is never filtered through a whitelist: the client's body (with
override params already merged) is forwarded as-is, so ``parallel_tool_calls``,
``service_tier`` and newer fields reach Azure. The translator is a ``passthrough`` one: 2xx
bodies and streams are relayed byte for byte and only ``parse_error`` maps answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote_plus

from translators.contract import NATIVE_PARAMS, Built, HttpRequest, Target, TranslationError
from translators.hostnames import host_label
from translators.openai_shapes import json_bytes, merge_native, wire_error_envelope

#: Unified endpoint -> path under the deployment (or under ``/openai/v1``), built by ``build_request``.
PATHS = {"chatComplete": "chat/completions", "complete": "completions", "embed": "embeddings"}
#: Endpoints ``route`` sends to a deployment (or to ``/openai/v1``).
DEPLOYMENT_PATHS = {
    "imageGenerate": "images/generations",
    "imageEdit": "images/edits",
    "createSpeech": "audio/speech",
    "createTranscription": "audio/transcriptions",
    "createTranslation": "audio/translations",
}
#: First segments of the gateway paths (after ``/v1``) ``route`` sends to the resource's ``/openai``.
RESOURCE_ROOTS = frozenset({"files", "batches", "fine_tuning", "responses"})
UNSERVED = {
    "moderate": "Moderations are not an Azure OpenAI endpoint (Azure filters content on every call)",
    "imageVariation": "Image variations are not an Azure OpenAI endpoint",
}
HOST_TEMPLATE = "https://{resource}.openai.azure.com"
#: Characters left as they are when a client path is put in the URL (``?`` and ``#`` are escaped).
PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _bearer(token: Any) -> str:
    text = str(token).strip()
    return text[7:].strip() if text[:7].lower() == "bearer " else text


def auth_headers(target: Target) -> dict[str, str]:
    """Return the auth header: a static AD token, else a fetched Entra token, else ``api-key``."""
    static = target.option("azure_ad_token")
    if static:
        return {"authorization": f"Bearer {_bearer(static)}"}
    token = target.credentials.get("access_token")
    if token:
        return {"authorization": f"Bearer {token}"}
    if target.api_key:
        return {"api-key": target.api_key}
    return {}


def resource_host(resource: Any) -> str:
    """Return ``https://{resource}.openai.azure.com``; ``resource`` must be one host name label."""
    if not resource:
        raise TranslationError("azure-openai needs resource_name (x-portkey-azure-resource-name)", "resource_name")
    return HOST_TEMPLATE.format(resource=host_label(resource, "resource_name"))


def _host(target: Target) -> str:
    if target.custom_host:
        return target.custom_host.rstrip("/")
    return resource_host(target.option("resource_name"))


def _version(target: Target) -> str:
    version = str(target.option("api_version", default=""))
    if not version:
        raise TranslationError("azure-openai needs api_version (x-portkey-azure-api-version)", "api_version")
    return version


def _deployment_prefix(target: Target) -> str:
    deployment = target.option("deployment_id")
    if not deployment:
        raise TranslationError("azure-openai needs deployment_id (x-portkey-azure-deployment-id)", "deployment_id")
    return f"deployments/{quote(str(deployment), safe='')}/"


def _with_version(version: str, query: str) -> str:
    """``api-version={version}`` followed by the client's query (any ``api-version`` of its own dropped)."""
    kept = [p for p in query.split("&") if p and unquote_plus(p.partition("=")[0]) != "api-version"]
    return "&".join([f"api-version={quote(version, safe='')}", *kept])


def endpoint_url(fn: str, target: Target) -> str:
    """Return the deployment (or ``v1``) URL for ``fn``."""
    host = _host(target)
    if target.option("api_version") == "v1":
        return f"{host}/openai/v1/{PATHS[fn]}"
    prefix = _deployment_prefix(target)
    return f"{host}/openai/{prefix}{PATHS[fn]}?{_with_version(_version(target), '')}"


def route(fn: str, target: Target, method: str, path: str, query: str) -> HttpRequest:
    """Return the URL and auth for a non-chat endpoint (``path`` is the gateway path after ``/v1``)."""
    if fn in UNSERVED:
        raise TranslationError(UNSERVED[fn])
    if fn in DEPLOYMENT_PATHS:
        rest = DEPLOYMENT_PATHS[fn]
    elif path.startswith("/") and path[1:].partition("/")[0] in RESOURCE_ROOTS and fn not in PATHS:
        rest = quote(path.lstrip("/"), safe=PATH_SAFE)
    else:
        raise TranslationError(f"{fn} is not supported by azure-openai")
    host = _host(target)
    if target.option("api_version") == "v1":
        url = f"{host}/openai/v1/{rest}" + (f"?{query}" if query else "")
    else:
        prefix = _deployment_prefix(target) if fn in DEPLOYMENT_PATHS else ""
        url = f"{host}/openai/{prefix}{rest}?{_with_version(_version(target), query)}"
    return HttpRequest(method, url, auth_headers(target))


def body_model(fn: str, target: Target) -> str | None:
    """Return the deployment the body's ``model`` must name for ``fn``, if it must name one."""
    deployment = target.option("deployment_id")
    if not deployment:
        return None
    if fn == "responses" or (target.option("api_version") == "v1" and (fn in PATHS or fn in DEPLOYMENT_PATHS)):
        return str(deployment)
    return None


class AzureTranslator:
    """OpenAI in, OpenAI out, with Azure's URLs and auth."""

    stream_format = "sse"
    passthrough = True

    def supports(self, fn: str) -> bool:
        return fn in PATHS

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return []  # Azure fetches image URLs itself

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        url = endpoint_url(fn, target)
        payload = dict(body)
        if NATIVE_PARAMS in payload:
            payload = merge_native(payload, body)
            del payload[NATIVE_PARAMS]
        model = body_model(fn, target)
        if model:
            payload["model"] = model
        headers = {"content-type": "application/json", **auth_headers(target)}
        return Built(HttpRequest("POST", url, headers, json_bytes(payload)))

    def route(self, fn: str, target: Target, method: str, path: str, query: str) -> HttpRequest:
        """Route images, audio, files, batches, fine-tuning and responses calls (see ``route``)."""
        return route(fn, target, method, path, query)

    def body_model(self, fn: str, target: Target) -> str | None:
        """Return the deployment a routed body's ``model`` must name (see ``body_model``)."""
        return body_model(fn, target)

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError("azure-openai answers are relayed unchanged (passthrough)")

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        out = wire_error_envelope(target.provider, status, body, content_type)
        if not isinstance(out["error"]["type"], (str, type(None))):
            out["error"]["type"] = None  # Azure content-filter errors carry a numeric ``status``, not a type
        return out

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> Any:
        raise NotImplementedError("azure-openai streams are relayed unchanged (passthrough)")


TRANSLATOR = AzureTranslator()
