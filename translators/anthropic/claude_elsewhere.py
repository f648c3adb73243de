"""Send Anthropic Messages requests natively to Claude on Vertex AI and on Bedrock.

Facts: Vertex AI serves Claude at ``.../publishers/anthropic/models/{model}:rawPredict`` (stream:
``:streamRawPredict``, Anthropic SSE) with the Messages body minus ``model`` plus
``"anthropic_version": "vertex-2023-10-16"``. Bedrock serves it with ``InvokeModel``
(``/model/{id}/invoke``) and ``InvokeModelWithResponseStream`` (``/invoke-with-response-stream``:
AWS event-stream ``chunk`` events whose ``bytes`` field is one base64-encoded Anthropic stream
event) with the body minus ``model`` and ``stream`` plus ``"anthropic_version":
"bedrock-2023-05-31"`` and ``anthropic_beta`` as a list. Answers are Anthropic's own JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from translators.bedrock.request import model_family, request_for
from translators.contract import HttpRequest, StreamEvent, Target
from translators.google import vertex

VERTEX_VERSION = "vertex-2023-10-16"
BEDROCK_VERSION = "bedrock-2023-05-31"


def is_vertex_claude(model: str) -> bool:
    """Whether a Vertex model name is a Claude model."""
    return vertex.publisher_of(model)[0] == "anthropic"


def is_bedrock_claude(model: str) -> bool:
    """Whether a Bedrock model id is an Anthropic model."""
    return model_family(model) == "anthropic"


def _beta(target: Target) -> list[str]:
    beta = target.option("anthropic_beta")
    if isinstance(beta, str):
        return [b.strip() for b in beta.split(",") if b.strip()]
    return list(beta or [])


def vertex_request(body: Mapping[str, Any], target: Target, stream: bool) -> HttpRequest:
    """The Vertex ``rawPredict`` / ``streamRawPredict`` request for a Messages body."""
    _, model = vertex.publisher_of(str(body.get("model", "")))
    payload = {k: v for k, v in body.items() if k != "model"}
    version = target.option("anthropic_version")
    payload["anthropic_version"] = body.get("anthropic_version") or (
        version if isinstance(version, str) and version.startswith("vertex-") else VERTEX_VERSION
    )
    headers = vertex.headers(target)
    if _beta(target):
        headers["anthropic-beta"] = ",".join(_beta(target))
    url = vertex.model_url(target, "anthropic", model, "streamRawPredict" if stream else "rawPredict")
    return HttpRequest("POST", url, headers, orjson.dumps(payload))


def bedrock_request(body: Mapping[str, Any], target: Target, stream: bool) -> HttpRequest:
    """The Bedrock ``InvokeModel`` (or its streaming form) request for a Messages body."""
    payload = {k: v for k, v in body.items() if k not in ("model", "stream")}
    payload["anthropic_version"] = BEDROCK_VERSION
    if _beta(target):
        payload["anthropic_beta"] = _beta(target)
    action = "invoke-with-response-stream" if stream else "invoke"
    return request_for(target, str(body.get("model", "")), action, payload)


def bedrock_event(event: StreamEvent) -> tuple[str, bytes]:
    """One Bedrock stream frame as an Anthropic SSE event ``(name, data JSON bytes)``."""
    data = event.data if isinstance(event.data, Mapping) else {}
    if event.error:
        message = str(data.get("message") or event.type)
        kind = "overloaded_error" if "throttl" in event.type.lower() else "api_error"
        return "error", orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
    raw = base64.b64decode(data.get("bytes", ""))
    name = orjson.loads(raw).get("type", "") if raw else ""
    return name, raw
