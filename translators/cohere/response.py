"""Map Cohere v2 chat answers, chat streams, embed answers and errors to OpenAI's shapes.

Facts (docs.cohere.com/reference/chat, /reference/chat-stream, /reference/embed, cohere-python v2
types): ``message.content`` is a list of ``text``/``thinking`` items; ``tool_plan`` and thinking
surface as ``reasoning_content``; ``tool_calls`` are OpenAI-shaped; ``citations`` are kept only when
``strict_open_ai_compliance`` is off. Usage comes from ``usage.tokens`` (else ``billed_units``) plus
``cached_tokens``; finish reasons ``COMPLETE``, ``STOP_SEQUENCE``, ``MAX_TOKENS``, ``TOOL_CALL``,
``ERROR``, ``TIMEOUT``. Streams are SSE events named by ``type``: ``message-start`` (id),
``content-start/-delta/-end`` (``delta.message.content.text|thinking``), ``tool-plan-delta``,
``tool-call-start`` (id and name) / ``-delta`` (arguments) / ``-end`` keyed by the event ``index``,
``message-end`` (finish reason, usage, optional ``error``). The choice index is always 0 (the
reference used the content index). Embed answers hold ``embeddings.float`` (``embedding_types:
["float"]`` is always sent) and ``meta.billed_units.input_tokens`` (else ``meta.tokens``);
``encoding_format: base64`` is OpenAI's little-endian float32 bytes, base64-encoded. Errors are
``{"message": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.contract import InvalidResponse, StreamError, StreamEvent, Target
from translators.openai_shapes import (
    ChunkWriter,
    assistant_message,
    chat_completion,
    embedding_list,
    error_envelope,
    finish_reason,
    include_usage,
    loads_or_none,
    new_id,
    text_error,
    usage,
)

FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "stop",
    "TIMEOUT": "stop",
}


def cohere_usage(raw: Any) -> dict[str, Any]:
    """Map Cohere usage (``tokens``, else ``billed_units``) to OpenAI's."""
    raw = raw if isinstance(raw, Mapping) else {}
    counts = raw.get("tokens") or raw.get("billed_units") or {}
    cached = raw.get("cached_tokens")
    return usage(
        int(counts.get("input_tokens") or 0),
        int(counts.get("output_tokens") or 0),
        cached=int(cached) if cached is not None else None,
    )


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in calls or []:
        function = call.get("function") or {}
        out.append(
            {
                "id": call.get("id", ""),
                "type": "function",
                "function": {"name": function.get("name", ""), "arguments": function.get("arguments") or "{}"},
            }
        )
    return out


def to_chat_completion(answer: Mapping[str, Any], target: Target, model: str) -> dict[str, Any]:
    """Map a Cohere v2 chat response to an OpenAI ``chat.completion``."""
    message = answer.get("message") or {}
    text: list[str] = []
    thinking: list[str] = []
    for item in message.get("content") or []:
        if item.get("type") == "text":
            text.append(item.get("text", ""))
        elif item.get("type") == "thinking":
            thinking.append(item.get("thinking", ""))
    if message.get("tool_plan"):
        thinking.append(message["tool_plan"])
    calls = _tool_calls(message.get("tool_calls"))
    reply = assistant_message(text, calls, thinking)
    if not target.strict and message.get("citations"):
        reply["citations"] = message["citations"]
    return chat_completion(
        id=answer.get("id") or new_id("chatcmpl"),
        model=model,
        provider=target.provider,
        message=reply,
        finish=finish_reason(answer.get("finish_reason") or "COMPLETE", FINISH, target.strict),
        usage=cohere_usage(answer.get("usage")),
    )


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map a Cohere error body (``{"message": ...}``) to OpenAI's envelope."""
    parsed = loads_or_none(body)
    if isinstance(parsed, Mapping) and isinstance(parsed.get("message"), str):
        return error_envelope(target.provider, parsed["message"])
    return text_error(status, body, target.provider)


class CohereStream:
    """Map Cohere v2 stream events to OpenAI chunks."""

    def __init__(self, target: Target, request: Mapping[str, Any]) -> None:
        self.strict = target.strict
        self.writer = ChunkWriter(
            id=new_id("chatcmpl"),
            model=str(request.get("model", "")),
            provider=target.provider,
            include_usage=include_usage(request),
        )
        self.completed = False
        self.finish_reason: Any = None
        self.usage: Any = None

    def _tool_call(self, data: Mapping[str, Any], start: bool) -> list[dict[str, Any]]:
        call = ((data.get("delta") or {}).get("message") or {}).get("tool_calls") or {}
        function = call.get("function") or {}
        entry: dict[str, Any] = {"index": self.writer.tool_call_index(data.get("index"))}
        if start:
            entry["id"] = call.get("id", "")
            entry["type"] = "function"
            entry["function"] = {"name": function.get("name", ""), "arguments": function.get("arguments") or ""}
        else:
            entry["function"] = {"arguments": function.get("arguments") or ""}
        return [self.writer.chunk({"tool_calls": [entry]})]

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Translate one event."""
        data = event.data if isinstance(event.data, Mapping) else {}
        kind = data.get("type") or event.type
        writer = self.writer
        if kind in ("content-delta", "content-start"):
            content = ((data.get("delta") or {}).get("message") or {}).get("content") or {}
            if content.get("thinking"):
                return [writer.chunk({"reasoning_content": content["thinking"]})]
            if content.get("text"):
                return [writer.chunk({"content": content["text"]})]
            return []
        if kind == "tool-call-delta":
            return self._tool_call(data, start=False)
        if kind == "tool-call-start":
            return self._tool_call(data, start=True)
        if kind == "tool-plan-delta":
            plan = ((data.get("delta") or {}).get("message") or {}).get("tool_plan")
            return [writer.chunk({"reasoning_content": plan})] if plan else []
        if kind == "message-start":
            writer.id = data.get("id") or writer.id
            return [writer.chunk({"role": "assistant", "content": ""})]
        if kind == "message-end":
            delta = data.get("delta") or {}
            if delta.get("error"):
                raise StreamError(str(delta["error"]), "provider_error")
            self.finish_reason = delta.get("finish_reason") or "COMPLETE"
            self.usage = delta.get("usage")
            self.completed = True
            return []
        if kind == "error" or event.error:
            raise StreamError(str(data.get("message") or event.data or "stream error"), "provider_error")
        return []  # content-end, tool-call-end, citation-*, debug

    def finish(self) -> list[dict[str, Any]]:
        """The finish chunk and, when asked for, the usage chunk."""
        reason = finish_reason(self.finish_reason, FINISH, self.strict)
        return [self.writer.chunk({}, reason)] + self.writer.usage_chunk(cohere_usage(self.usage))


def to_embeddings(answer: Mapping[str, Any], target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map a Cohere embed response to OpenAI's embeddings list."""
    vectors = (answer.get("embeddings") or {}).get("float")
    if not isinstance(vectors, list):
        raise InvalidResponse(f"Invalid response received from cohere: no float embeddings in {str(answer)[:300]}")
    meta = answer.get("meta") or {}
    counts = meta.get("billed_units") or meta.get("tokens") or {}
    tokens = int(counts.get("input_tokens") or 0)
    return embedding_list(vectors, request, target.provider, tokens)
