"""Map Anthropic Messages answers, errors and streams back to OpenAI Chat Completions.

Usage reports ``prompt_tokens`` including cache reads and writes (OpenAI semantics) and keeps the
raw cache counts. Streamed tool calls get ``index`` = ordinal of their ``tool_use`` block and
``id`` = the block's id, so parallel calls never collide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from translators.anthropic.request import FINISH
from translators.contract import StreamError, StreamEvent, Target
from translators.openai_shapes import (
    ChunkWriter,
    assistant_message,
    chat_completion,
    error_envelope,
    finish_reason,
    include_usage,
    loads_or_none,
    text_error,
    usage,
)


def message_usage(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Map Anthropic usage to OpenAI's: prompt tokens include cache reads and writes."""
    read = int(raw.get("cache_read_input_tokens") or 0)
    created = int(raw.get("cache_creation_input_tokens") or 0)
    prompt = int(raw.get("input_tokens") or 0) + read + created
    completion = int(raw.get("output_tokens") or 0)
    out = usage(prompt, completion, cached=read)
    out["prompt_tokens_details"]["cache_creation_tokens"] = created
    if read:
        out["cache_read_input_tokens"] = read
    if created:
        out["cache_creation_input_tokens"] = created
    return out


def to_chat_completion(message: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """Map an Anthropic ``message`` to an OpenAI ``chat.completion``."""
    text: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    blocks = message.get("content") or []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
        elif kind == "tool_use":
            calls.append(tool_use_call(block))
    reply = assistant_message(text, calls, thinking)
    if not target.strict:
        reply["content_blocks"] = blocks
    return chat_completion(
        id=message.get("id", ""),
        model=message.get("model", ""),
        provider=target.provider,
        message=reply,
        finish=finish_reason(message.get("stop_reason") or "end_turn", FINISH, target.strict),
        usage=message_usage(message.get("usage") or {}),
    )


def tool_use_call(block: Mapping[str, Any]) -> dict[str, Any]:
    """Map an Anthropic ``tool_use`` block to an OpenAI tool call."""
    arguments = orjson.dumps(block.get("input") or {}).decode()
    return {
        "id": block.get("id", ""),
        "type": "function",
        "function": {"name": block.get("name", ""), "arguments": arguments},
    }


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map an Anthropic error body to OpenAI's envelope."""
    parsed = loads_or_none(body)
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    if isinstance(error, Mapping):
        return error_envelope(target.provider, str(error.get("message", "")), error.get("type"))
    return text_error(status, body, target.provider)


# -- stream --------------------------------------------------------------------------------------


class AnthropicStream:
    """Map Anthropic stream events to OpenAI chunks."""

    def __init__(self, target: Target, request: Mapping[str, Any]) -> None:
        self.target = target
        self.writer = ChunkWriter(
            id="", model=str(request.get("model", "")), provider=target.provider, include_usage=include_usage(request)
        )
        self.completed = False
        self.usage: dict[str, Any] = {}
        self.stop_reason: str | None = None

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Translate one event."""
        data = event.data if isinstance(event.data, Mapping) else {}
        kind = data.get("type") or event.type
        writer = self.writer
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                return [writer.chunk({"content": delta.get("text", "")})]
            if dtype == "input_json_delta":
                index = writer.tool_call_index(data.get("index"))
                return [
                    writer.chunk(
                        {"tool_calls": [{"index": index, "function": {"arguments": delta.get("partial_json", "")}}]}
                    )
                ]
            if dtype == "thinking_delta":
                return [writer.chunk({"reasoning_content": delta.get("thinking", "")})]
            if not self.target.strict:
                return [writer.chunk({"content_blocks": [{"index": data.get("index"), "delta": delta}]})]
            return []
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = writer.tool_call_index(data.get("index"))
                return [
                    writer.chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": index,
                                    "id": block.get("id", ""),
                                    "type": "function",
                                    "function": {"name": block.get("name", ""), "arguments": ""},
                                }
                            ]
                        }
                    )
                ]
            if block.get("type") == "text" and block.get("text"):
                return [writer.chunk({"content": block["text"]})]
            return []
        if kind == "message_start":
            message = data.get("message") or {}
            writer.id = message.get("id", writer.id)
            writer.model = message.get("model") or writer.model
            self.usage = dict(message.get("usage") or {})
            return [writer.chunk({"role": "assistant", "content": ""})]
        if kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            return []
        if kind == "message_stop":
            self.completed = True
            return []
        if kind == "error" or event.error:
            error = data.get("error") if isinstance(data.get("error"), Mapping) else data
            code = str(error.get("type") or "provider_error")
            status = 529 if code == "overloaded_error" else None
            raise StreamError(str(error.get("message") or "stream error"), code, status)
        return []  # ping, content_block_stop

    def finish(self) -> list[dict[str, Any]]:
        """The finish chunk and, when asked for, the usage chunk."""
        writer = self.writer
        reason = finish_reason(self.stop_reason or "end_turn", FINISH, self.target.strict)
        return [writer.chunk({}, reason)] + writer.usage_chunk(message_usage(self.usage))


# -- the translator ------------------------------------------------------------------------------
