"""Map OpenAI Chat Completions and Embeddings to Vertex AI: Gemini and Claude publisher models.

Facts (cloud.google.com/vertex-ai/docs/reference/rest): host ``https://{region}-aiplatform.googleapis.com``
(``https://aiplatform.googleapis.com`` for region ``global``); models live at
``/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}``; auth is
``Authorization: Bearer <OAuth access token>`` (the gateway resolves a service account to a token
in ``gateway/auth_google.py``; the service account's ``project_id`` wins over ``vertex_project_id``).
A ``custom_host`` replaces the scheme and host. The model prefix picks the publisher: none or
``google.`` is Gemini (the Gemini API mapping of ``translators.google.translator``; ``:generateContent``,
``:streamGenerateContent?alt=sse``, embeddings on ``:predict`` with ``instances[].content``);
``anthropic.`` or ``claude-*`` is Claude on Vertex (the Anthropic Messages mapping without ``model``
in the body, ``anthropic_version: vertex-2023-10-16``, ``:rawPredict`` / ``:streamRawPredict``;
http(s) images are downloaded and sent as base64). Errors come in Google's or Anthropic's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from translators.anthropic import request as anthropic_request
from translators.anthropic import response as anthropic_response
from translators.contract import Built, HttpRequest, InvalidResponse, StreamTranslator, Target, TranslationError
from translators.google import translator as google
from translators.hostnames import host_label
from translators.openai_shapes import json_bytes, loads_or_none, merge_native, remote_image_urls, unmapped

DEFAULT_REGION = "us-central1"
ANTHROPIC_VERSION = "vertex-2023-10-16"
_PREFIXES = ("google", "anthropic", "meta", "mistralai", "endpoints")
_GEMINI_HANDLED = google.HANDLED | {"labels"}
_CLAUDE_HANDLED = anthropic_request.HANDLED | {"anthropic_version"}
_EMBED_HANDLED = google.EMBED_HANDLED | {"auto_truncate"}


def publisher_of(model: str) -> tuple[str, str]:
    """Return ``(publisher, model id)`` from a model name such as ``anthropic.claude-sonnet-4-5``."""
    prefix, dot, rest = model.partition(".")
    if dot and prefix in _PREFIXES:
        publisher, model = prefix, rest
    else:
        publisher = "anthropic" if model.startswith("claude-") else "google"
    if publisher not in ("google", "anthropic"):
        raise TranslationError(f"vertex-ai {publisher} models are not supported by this gateway", "model")
    return publisher, model


def _publisher(body: Mapping[str, Any]) -> tuple[str, str]:
    return publisher_of(google.model_of(body))


def model_url(target: Target, publisher: str, model: str, method: str) -> str:
    """Return the full URL of ``method`` on a publisher model."""
    region = host_label(target.option("vertex_region", default=DEFAULT_REGION), "vertex_region").lower()
    project = target.credentials.get("project_id") or target.option("vertex_project_id")
    if not project:
        raise TranslationError("vertex_project_id (or a service account with project_id) is required", "model")
    project = quote(str(project), safe=":")
    if target.custom_host:
        host = target.custom_host.rstrip("/")
    elif region == "global":
        host = "https://aiplatform.googleapis.com"
    else:
        host = f"https://{region}-aiplatform.googleapis.com"
    return f"{host}/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}"


def headers(target: Target) -> dict[str, str]:
    """JSON content type plus the OAuth bearer token."""
    out = {"content-type": "application/json"}
    token = target.credentials.get("access_token") or target.api_key
    if token:
        out["authorization"] = f"Bearer {token}"
    return out


def _inline_fetched(payload: dict[str, Any], target: Target) -> None:
    """Replace Claude ``url`` image sources the gateway downloaded with base64 sources."""
    for message in payload.get("messages") or []:
        for block in message.get("content") or []:
            source = block.get("source") if isinstance(block, dict) else None
            if isinstance(source, dict) and source.get("type") == "url":
                fetched = target.fetched.get(source.get("url", ""))
                if fetched is not None:
                    block["source"] = {"type": "base64", "media_type": fetched.media_type, "data": fetched.b64}


def _claude(body: Mapping[str, Any], target: Target, model: str, stream: bool) -> Built:
    payload = anthropic_request.messages_body(body, include_model=False)
    version = target.option("anthropic_version")
    if not (isinstance(version, str) and version.startswith("vertex-")):
        version = body.get("anthropic_version") or ANTHROPIC_VERSION
    payload["anthropic_version"] = version
    if stream:
        payload["stream"] = True
    _inline_fetched(payload, target)
    request_headers = headers(target)
    beta = target.option("anthropic_beta")
    if beta:
        request_headers["anthropic-beta"] = beta if isinstance(beta, str) else ",".join(beta)
    url = model_url(target, "anthropic", model, "streamRawPredict" if stream else "rawPredict")
    return Built(HttpRequest("POST", url, request_headers, json_bytes(payload)), unmapped(body, _CLAUDE_HANDLED))


def _gemini(body: Mapping[str, Any], target: Target, model: str, stream: bool) -> Built:
    payload = google.generate_body(body, target)
    if body.get("labels") is not None:
        payload["labels"] = body["labels"]
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    url = model_url(target, "google", model, method)
    return Built(
        HttpRequest("POST", url, headers(target), json_bytes(payload)), google.chat_unmapped(body, _GEMINI_HANDLED)
    )


def _embed(body: Mapping[str, Any], target: Target, model: str) -> Built:
    instance_extra = {"task_type": body["task_type"]} if body.get("task_type") else {}
    payload: dict[str, Any] = {"instances": [{"content": t, **instance_extra} for t in google.embed_texts(body)]}
    parameters: dict[str, Any] = {}
    if isinstance(body.get("dimensions"), int):
        parameters["outputDimensionality"] = body["dimensions"]
    if isinstance(body.get("auto_truncate"), bool):
        parameters["autoTruncate"] = body["auto_truncate"]
    if parameters:
        payload["parameters"] = parameters
    url = model_url(target, "google", model, "predict")
    request = HttpRequest("POST", url, headers(target), json_bytes(merge_native(payload, body)))
    return Built(request, unmapped(body, _EMBED_HANDLED))


class VertexTranslator:
    """OpenAI chat and embeddings <-> Vertex AI publisher models (Gemini, Claude)."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn in ("chatComplete", "embed")

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        if fn != "chatComplete" or not isinstance(body.get("model"), str) or not body["model"]:
            return []
        try:
            publisher = _publisher(body)[0]
        except TranslationError:
            return []
        if publisher == "anthropic":
            return remote_image_urls(body.get("messages"))
        return google.fetchable_urls(body)

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        publisher, model = _publisher(body)
        if fn == "embed":
            if publisher != "google":
                raise TranslationError("vertex-ai embeddings need a Google embedding model", "model")
            return _embed(body, target, model)
        if publisher == "anthropic":
            return _claude(body, target, model, stream)
        return _gemini(body, target, model, stream)

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        parsed = loads_or_none(body)
        if fn == "embed":
            return google.embeddings_response(parsed, target, request)
        if _publisher(request)[0] == "anthropic":
            if not isinstance(parsed, Mapping) or "content" not in parsed:
                raise InvalidResponse(f"Invalid response received from {target.provider}: {body[:500]!r}")
            return anthropic_response.to_chat_completion(parsed, target)
        if not isinstance(parsed, Mapping) or not ("candidates" in parsed or "promptFeedback" in parsed):
            raise InvalidResponse(f"Invalid response received from {target.provider}: {body[:500]!r}")
        return google.to_chat_completion(parsed, target, request)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return google.to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> StreamTranslator:
        if _publisher(request)[0] == "anthropic":
            return anthropic_response.AnthropicStream(target, request)
        return google.GeminiStream(target, request)


TRANSLATOR = VertexTranslator()
