"""Watch a stream on its way to the client: rebuild the answer, check it and cache it at the end.

``ObservedEncoder`` wraps the client's encoder. It passes every chunk through and feeds a
``ChatAccumulator`` (chat or legacy text completion chunks, every choice); when the provider
completes, it hands the rebuilt completion to a callback (output guardrails, the cache) before
writing the stream's end. If the callback denies the answer, the stream ends with an error event
instead (the documented output guardrail mode for streams: the text has been sent, the verdict
arrives in-band).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from translators.openai_shapes import now


class _Choice:
    """One choice of a streamed answer, as it grows."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None

    def add(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        text = delta.get("content") if "delta" in choice else choice.get("text")  # chat or text completion
        if text:
            self.content.append(text)
        if delta.get("reasoning_content"):
            self.reasoning.append(delta["reasoning_content"])
        for call in delta.get("tool_calls") or []:
            entry = self.calls.setdefault(
                call.get("index", 0), {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            if call.get("id"):
                entry["id"] = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                entry["function"]["name"] = function["name"]
            entry["function"]["arguments"] += function.get("arguments") or ""
        if choice.get("finish_reason"):
            self.finish = choice["finish_reason"]

    def as_chat(self, index: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content or not self.calls else None,
        }
        if self.calls:
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        return {"index": index, "message": message, "logprobs": None, "finish_reason": self.finish or "stop"}

    def as_text(self, index: int) -> dict[str, Any]:
        return {"index": index, "text": "".join(self.content), "logprobs": None, "finish_reason": self.finish or "stop"}


class ChatAccumulator:
    """Rebuild a ``chat.completion`` (or a ``text_completion``) from its stream chunks, every choice."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.provider = ""
        self.object = "chat.completion"
        self.choices: dict[int, _Choice] = {}
        self.usage: dict[str, Any] | None = None

    def add(self, chunk: dict[str, Any]) -> None:
        """Fold one chunk in."""
        self.id = self.id or str(chunk.get("id") or "")
        self.model = self.model or str(chunk.get("model") or "")
        self.provider = self.provider or str(chunk.get("provider") or "")
        if chunk.get("object") == "text_completion":
            self.object = "text_completion"
        if chunk.get("usage"):
            self.usage = dict(chunk["usage"])
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            self.choices.setdefault(index if isinstance(index, int) else 0, _Choice()).add(choice)

    @property
    def text(self) -> str:
        """The first choice's text so far."""
        first = self.choices.get(0)
        return "".join(first.content) if first else ""

    def completion(self) -> dict[str, Any]:
        """The answer as a ``chat.completion`` or ``text_completion``, one entry per streamed choice."""
        text = self.object == "text_completion"
        indexes = sorted(self.choices) or [0]
        choices = [(self.choices.get(i) or _Choice()) for i in indexes]
        out: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "created": now(),
            "model": self.model,
            "choices": [c.as_text(i) if text else c.as_chat(i) for i, c in zip(indexes, choices, strict=True)],
        }
        if self.provider:
            out["provider"] = self.provider
        if self.usage:
            out["usage"] = self.usage
        return out


class ObservedEncoder:
    """Pass chunks to ``inner``; at the end ask ``on_done(completion)`` for a denial message, if any."""

    def __init__(self, inner: Any, on_done: Callable[[dict[str, Any]], str | None]) -> None:
        self.inner = inner
        self.on_done = on_done
        self.accumulator = ChatAccumulator()

    def chunks(self, chunks: list[dict[str, Any]]) -> bytes:
        """Encode and remember the chunks."""
        for chunk in chunks:
            self.accumulator.add(chunk)
        return self.inner.chunks(chunks)

    def done(self) -> bytes:
        """End the stream, or end it with an error event when the answer is denied."""
        denial = self.on_done(self.accumulator.completion())
        if denial:
            return self.inner.error("guardrail_denied", denial)
        return self.inner.done()

    def error(self, code: str, message: str) -> bytes:
        """An upstream failure: nothing to check or cache."""
        return self.inner.error(code, message)
