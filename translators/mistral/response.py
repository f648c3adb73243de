"""Map Mistral AI's near-OpenAI answers, streams and errors to OpenAI's exact shapes.

Facts (docs.mistral.ai API reference, mistralai/client-python models): chat and FIM answers are
chat-shaped (``choices[].message``; FIM is turned into an OpenAI ``text_completion``). ``content``
may be a list of chunks: ``text`` chunks and ``thinking`` chunks (whose ``thinking`` is a string or
a list of text chunks); thinking text becomes ``reasoning_content``. Tool-call ``arguments`` that
arrive as an object are serialised to a JSON string. Finish reasons: ``stop``, ``length``,
``model_length`` (-> length), ``tool_calls``, ``error`` (-> stop). Streams are OpenAI-style SSE
chunks ending in ``[DONE]``; streamed tool calls are numbered by their call ``id`` (id-less deltas
follow Mistral's ``index``), so parallel calls get distinct indices 0, 1, ... Mistral has no
``stream_options``: its last chunk carries ``usage``, which is taken off that chunk and re-emitted
as OpenAI's final usage chunk (empty ``choices``) when the client asked for ``include_usage``.
Errors carry a ``message`` string (with ``type``, ``param``, ``code``) or a validation ``detail``
list of ``{loc, msg, type}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from translators.contract import StreamError, StreamEvent, Target
from translators.openai_shapes import (
    ChunkWriter,
    error_envelope,
    finish_reason,
    include_usage,
    loads_or_none,
    now,
    text_error,
)

FINISH = {"stop": "stop", "length": "length", "model_length": "length", "tool_calls": "tool_calls", "error": "stop"}


def _text_and_thinking(content: Any) -> tuple[Any, str]:
    """Split Mistral list content into ``(text, thinking text)``; strings pass unchanged."""
    if not isinstance(content, list):
        return content, ""
    text: list[str] = []
    thinking: list[str] = []
    for chunk in content:
        if not isinstance(chunk, Mapping):
            continue
        if chunk.get("type") == "text":
            text.append(chunk.get("text", ""))
        elif chunk.get("type") == "thinking":
            inner = chunk.get("thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            else:
                thinking.extend(p.get("text", "") for p in inner or [] if isinstance(p, Mapping))
    return "".join(text), "".join(thinking)


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value if value is not None else {}).decode()


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(message)
    text, thinking = _text_and_thinking(message.get("content"))
    out["content"] = text
    if thinking:
        out["reasoning_content"] = thinking
    if message.get("tool_calls"):
        out["tool_calls"] = [
            {
                "id": call.get("id", ""),
                "type": "function",
                "function": {
                    "name": (call.get("function") or {}).get("name", ""),
                    "arguments": _arguments((call.get("function") or {}).get("arguments")),
                },
            }
            for call in message["tool_calls"]
        ]
    return out


def to_chat_completion(answer: dict[str, Any], target: Target) -> dict[str, Any]:
    """Map a Mistral chat answer: list content, finish reasons, the ``provider`` field."""
    choices = []
    for choice in answer.get("choices") or []:
        mapped = dict(choice)
        mapped["message"] = _message(choice.get("message") or {})
        mapped["finish_reason"] = finish_reason(choice.get("finish_reason"), FINISH, target.strict)
        mapped.setdefault("logprobs", None)
        choices.append(mapped)
    return {**answer, "object": "chat.completion", "choices": choices, "provider": target.provider}


def to_text_completion(answer: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """Map a Mistral FIM answer (chat-shaped) to an OpenAI ``text_completion``."""
    choices = []
    for choice in answer.get("choices") or []:
        text, _ = _text_and_thinking((choice.get("message") or {}).get("content"))
        choices.append(
            {
                "index": choice.get("index", 0),
                "text": text or "",
                "logprobs": None,
                "finish_reason": finish_reason(choice.get("finish_reason"), FINISH, target.strict),
            }
        )
    out = {
        "id": answer.get("id", ""),
        "object": "text_completion",
        "created": answer.get("created") or now(),
        "model": answer.get("model", ""),
        "provider": target.provider,
        "choices": choices,
    }
    if answer.get("usage") is not None:
        out["usage"] = answer["usage"]
    return out


def _error_message(raw: Any) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("detail"), (list, str)):
        raw = raw["detail"]
    if isinstance(raw, list):
        parts = []
        for item in raw:
            if isinstance(item, Mapping):
                loc = ".".join(str(p) for p in item.get("loc") or [])
                parts.append(f"{loc}: {item.get('msg', item.get('type', 'invalid'))}" if loc else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return raw if isinstance(raw, str) else orjson.dumps(raw).decode()


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map a Mistral error (``message`` string or validation ``detail`` list) to OpenAI's envelope."""
    parsed = loads_or_none(body)
    if isinstance(parsed, Mapping):
        raw = parsed.get("message") if parsed.get("message") is not None else parsed.get("detail")
        if raw is not None:
            return error_envelope(
                target.provider, _error_message(raw), parsed.get("type"), parsed.get("param"), parsed.get("code")
            )
    return text_error(status, body, target.provider)


class MistralStream:
    """Re-emit Mistral's OpenAI-shaped chunks, fixing usage, tool-call indices and finish reasons."""

    def __init__(self, fn: str, target: Target, request: Mapping[str, Any]) -> None:
        self.fim = fn == "complete"
        self.strict = target.strict
        self.provider = target.provider
        self.writer = ChunkWriter(
            id="", model=str(request.get("model", "")), provider=target.provider, include_usage=include_usage(request)
        )
        self.by_native_index: dict[Any, int] = {}
        self.usage: Any = None
        self.completed = False

    def _tool_calls(self, calls: list[Any]) -> list[dict[str, Any]]:
        out = []
        for call in calls:
            native = call.get("index", 0)
            call_id = call.get("id")
            if call_id:
                index = self.writer.tool_call_index(("id", call_id))
                self.by_native_index[native] = index
            else:
                index = self.by_native_index.get(native)
                if index is None:
                    index = self.writer.tool_call_index(("index", native))
            entry: dict[str, Any] = {"index": index}
            if call_id:
                entry["id"] = call_id
                entry["type"] = "function"
            function = call.get("function")
            if isinstance(function, Mapping):
                entry["function"] = {**function, "arguments": _arguments(function.get("arguments", ""))}
            out.append(entry)
        return out

    def _choice(self, choice: Mapping[str, Any]) -> dict[str, Any]:
        delta = dict(choice.get("delta") or {})
        text, thinking = _text_and_thinking(delta.get("content"))
        if "content" in delta:
            delta["content"] = text
        if thinking:
            delta["reasoning_content"] = thinking
        if delta.get("tool_calls"):
            delta["tool_calls"] = self._tool_calls(delta["tool_calls"])
        reason = finish_reason(choice.get("finish_reason"), FINISH, self.strict)
        if self.fim:
            return {"index": choice.get("index", 0), "text": text or "", "logprobs": None, "finish_reason": reason}
        return {"index": choice.get("index", 0), "delta": delta, "logprobs": None, "finish_reason": reason}

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Translate one event."""
        data = event.data
        if data == "[DONE]":
            self.completed = True
            return []
        if not isinstance(data, Mapping):
            return []
        if event.error or data.get("object") == "error" or "error" in data:
            error = data.get("error") if isinstance(data.get("error"), Mapping) else data
            raise StreamError(_error_message(error.get("message") or "stream error"), str(error.get("type") or "error"))
        if data.get("usage") is not None:
            self.usage = data["usage"]
        writer = self.writer
        writer.id = data.get("id") or writer.id
        writer.model = data.get("model") or writer.model
        choices = data.get("choices") or []
        if not choices:
            return []
        return [
            {
                "id": writer.id,
                "object": "text_completion" if self.fim else "chat.completion.chunk",
                "created": data.get("created") or writer.created,
                "model": writer.model,
                "provider": self.provider,
                "choices": [self._choice(c) for c in choices],
            }
        ]

    def finish(self) -> list[dict[str, Any]]:
        """The usage chunk, when the client asked for it and Mistral reported usage."""
        if self.usage is None:
            return []
        chunks = self.writer.usage_chunk(dict(self.usage))
        if self.fim:
            for chunk in chunks:
                chunk["object"] = "text_completion"
        return chunks
