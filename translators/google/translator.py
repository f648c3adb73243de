"""The Gemini API translator: OpenAI chat, embeddings and image generation <-> ``generativelanguage``.

Facts (ai.google.dev/api): ``POST {base}/models/{model}:{method}`` with the key in the
``x-goog-api-key`` header (never in the URL). Chat is ``:generateContent``, streamed on
``:streamGenerateContent?alt=sse``; embeddings are ``:embedContent`` / ``:batchEmbedContents``;
images are Imagen's ``:predict`` or a Gemini image model's ``:generateContent``. The mapping
lives in the modules this one wires together, each with the provider facts it relies on:

* ``translators.google.request``: chat requests (messages, media, tools, schemas, generation config);
* ``translators.google.response``: chat responses, SSE streams and Google errors;
* ``translators.google.embed``: embeddings, both ways;
* ``translators.google.images``: image generation, both ways.

The chat and embeddings mapping is reused by the Vertex AI translator, through the names this
module re-exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.contract import Built, HttpRequest, InvalidResponse, Target
from translators.google import images as google_images
from translators.google.embed import EMBED_HANDLED, embed_body, embed_texts, embeddings_response
from translators.google.request import (
    HANDLED,
    chat_unmapped,
    clean_schema,
    convert_messages,
    fetchable_urls,
    generate_body,
    generation_config,
    model_of,
)
from translators.google.response import FINISH, GeminiStream, gemini_usage, to_chat_completion, to_error, tool_call
from translators.openai_shapes import json_bytes, loads_or_none, unmapped

__all__ = [
    "EMBED_HANDLED",
    "FINISH",
    "HANDLED",
    "TRANSLATOR",
    "GeminiStream",
    "GoogleTranslator",
    "chat_unmapped",
    "clean_schema",
    "convert_messages",
    "embed_body",
    "embed_texts",
    "embeddings_response",
    "fetchable_urls",
    "gemini_usage",
    "generate_body",
    "generation_config",
    "headers",
    "model_of",
    "to_chat_completion",
    "to_error",
    "tool_call",
]


def headers(target: Target) -> dict[str, str]:
    """JSON content type plus the API key header."""
    out = {"content-type": "application/json"}
    if target.api_key:
        out["x-goog-api-key"] = target.api_key
    return out


class GoogleTranslator:
    """OpenAI chat, embeddings and image generation <-> Gemini API."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn in ("chatComplete", "embed", "imageGenerate")

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return fetchable_urls(body) if fn == "chatComplete" else []

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        base = (target.custom_host or target.base_url).rstrip("/")
        if fn == "imageGenerate":
            return google_images.build_request(body, target, base, headers(target), stream)
        model = model_of(body)
        if fn == "embed":
            method, payload = embed_body(body, model)
            url = f"{base}/models/{model}:{method}"
            return Built(HttpRequest("POST", url, headers(target), json_bytes(payload)), unmapped(body, EMBED_HANDLED))
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        payload = generate_body(body, target)
        url = f"{base}/models/{model}:{method}"
        return Built(HttpRequest("POST", url, headers(target), json_bytes(payload)), chat_unmapped(body))

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        if fn == "imageGenerate":
            return google_images.parse_response(body, target, request)
        parsed = loads_or_none(body)
        if fn == "embed":
            return embeddings_response(parsed, target, request)
        if not isinstance(parsed, Mapping) or not ("candidates" in parsed or "promptFeedback" in parsed):
            raise InvalidResponse(f"Invalid response received from {target.provider}: {body[:500]!r}")
        return to_chat_completion(parsed, target, request)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> GeminiStream:
        return GeminiStream(target, request)


TRANSLATOR = GoogleTranslator()
