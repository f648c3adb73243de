"""Map OpenAI Chat Completions to Anthropic's Messages API and back, streams included.

Request facts (docs.anthropic.com, Messages API): ``POST /v1/messages`` with ``x-api-key`` and
``anthropic-version``; ``max_tokens`` is required (default here: 4096, or the thinking budget
plus 4096); every system/developer message becomes a ``system`` text block, in order;
consecutive tool results travel in one user turn; ``response_format`` maps to
``output_config.format`` (structured outputs). Usage reports ``prompt_tokens`` including cache
reads and writes (OpenAI semantics) and keeps the raw cache counts. Streamed tool calls get
``index`` = ordinal of their ``tool_use`` block and ``id`` = the block's id, so parallel calls
never collide. The message mapping is reused for Claude on Vertex AI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.anthropic.request import HANDLED, headers, messages_body
from translators.anthropic.response import AnthropicStream, to_chat_completion, to_error
from translators.contract import Built, HttpRequest, InvalidResponse, Target
from translators.openai_shapes import (
    json_bytes,
    loads_or_none,
    unmapped,
)


class AnthropicTranslator:
    """OpenAI chat <-> Anthropic Messages."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn == "chatComplete"

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return []  # Anthropic fetches http(s) images itself (url sources)

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        base = (target.custom_host or target.base_url).rstrip("/")
        payload = messages_body(body)
        request = HttpRequest("POST", base + "/messages", headers(target), json_bytes(payload))
        return Built(request, unmapped(body, HANDLED))

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        message = loads_or_none(body)
        if not isinstance(message, Mapping) or "content" not in message:
            raise InvalidResponse(f"Invalid response received from anthropic: {body[:500]!r}")
        return to_chat_completion(message, target)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> AnthropicStream:
        return AnthropicStream(target, request)


TRANSLATOR = AnthropicTranslator()
