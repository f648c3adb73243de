"""Build Azure OpenAI requests; answers and streams are OpenAI's and relayed unchanged.

Facts (learn.microsoft.com, Azure OpenAI data-plane reference): a deployment is called at
``https://{resource}.openai.azure.com/openai/deployments/{deployment}/{path}?api-version={v}``
with ``path`` one of ``chat/completions``, ``completions``, ``embeddings``. The GA ``v1`` API
lives at ``/openai/v1/{path}`` without ``api-version``; there the deployment is named by the
body's ``model``. A custom host replaces ``https://{resource}.openai.azure.com``. Auth is
``api-key: <key>``, or ``Authorization: Bearer <Entra token>`` (a static ``azure_ad_token``, or
one the gateway fetched for ``azure_auth_mode`` ``entra``/``managed``: ``Target.credentials``).

Unlike the reference, the body is never filtered through a whitelist: the client's body (with
override params already merged) is forwarded as-is, so ``parallel_tool_calls``,
``service_tier`` and newer fields reach Azure. The translator is a ``passthrough`` one: 2xx
bodies and streams are relayed byte for byte and only ``parse_error`` maps answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from translators import openai as openai_wire
from translators.base import NATIVE_PARAMS, Built, HttpRequest, Target, TranslationError, json_bytes, merge_native

#: Unified endpoint -> path under the deployment (or under ``/openai/v1``).
PATHS = {"chatComplete": "chat/completions", "complete": "completions", "embed": "embeddings"}
HOST_TEMPLATE = "https://{resource}.openai.azure.com"


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


def endpoint_url(fn: str, target: Target) -> str:
    """Return the deployment (or ``v1``) URL for ``fn``."""
    if target.custom_host:
        host = target.custom_host.rstrip("/")
    else:
        resource = target.option("resource_name")
        if not resource:
            raise TranslationError("azure-openai needs resource_name (x-portkey-azure-resource-name)", "resource_name")
        host = HOST_TEMPLATE.format(resource=resource)
    version = str(target.option("api_version", default=""))
    if version == "v1":
        return f"{host}/openai/v1/{PATHS[fn]}"
    deployment = target.option("deployment_id")
    if not deployment:
        raise TranslationError("azure-openai needs deployment_id (x-portkey-azure-deployment-id)", "deployment_id")
    if not version:
        raise TranslationError("azure-openai needs api_version (x-portkey-azure-api-version)", "api_version")
    return (
        f"{host}/openai/deployments/{quote(str(deployment), safe='')}/{PATHS[fn]}?api-version={quote(version, safe='')}"
    )


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
        deployment = target.option("deployment_id")
        if target.option("api_version") == "v1" and deployment:
            payload["model"] = deployment
        headers = {"content-type": "application/json", **auth_headers(target)}
        return Built(HttpRequest("POST", url, headers, json_bytes(payload)))

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError("azure-openai answers are relayed unchanged (passthrough)")

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        out = openai_wire.error_envelope(target.provider, status, body, content_type)
        if not isinstance(out["error"]["type"], (str, type(None))):
            out["error"]["type"] = None  # Azure content-filter errors carry a numeric ``status``, not a type
        return out

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> Any:
        raise NotImplementedError("azure-openai streams are relayed unchanged (passthrough)")


TRANSLATOR = AzureTranslator()
