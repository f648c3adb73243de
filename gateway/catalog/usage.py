"""Read token usage from a provider's answer: a JSON body or the events of a stream, in any client format.

Normalised usage is ``{"input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens"}``. It is
read from OpenAI chat/completions/embeddings (``prompt_tokens`` ...), Responses (``input_tokens`` ...,
also inside ``response.completed``) and Anthropic Messages (``message_start`` / ``message_delta``).
``StreamUsage`` wraps a response stream, watches events that mention ``usage`` and reports the final
usage once the stream ends (or is closed), without changing a byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

FIELDS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens")


def empty() -> dict[str, int]:
    return dict.fromkeys(FIELDS, 0)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def normalise(raw: Any) -> dict[str, int] | None:
    """Normalised usage from one provider ``usage`` object (OpenAI, Responses or Anthropic names)."""
    if not isinstance(raw, dict):
        return None
    out = empty()
    out["input_tokens"] = _int(raw.get("prompt_tokens", raw.get("input_tokens")))
    out["output_tokens"] = _int(raw.get("completion_tokens", raw.get("output_tokens")))
    if "prompt_tokens" not in raw and "input_tokens" not in raw and "total_tokens" in raw:
        out["input_tokens"] = _int(raw["total_tokens"])
    details = raw.get("prompt_tokens_details") or raw.get("input_tokens_details") or {}
    out["cached_tokens"] = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    if "cache_read_input_tokens" in raw:  # Anthropic: input_tokens excludes the cache reads
        out["cached_tokens"] = _int(raw["cache_read_input_tokens"])
        out["input_tokens"] += out["cached_tokens"] + _int(raw.get("cache_creation_input_tokens"))
    out_details = raw.get("completion_tokens_details") or raw.get("output_tokens_details") or {}
    out["reasoning_tokens"] = _int(out_details.get("reasoning_tokens")) if isinstance(out_details, dict) else 0
    return out


def from_object(payload: Any) -> dict[str, int] | None:
    """Usage named anywhere an answer or stream event carries it."""
    if not isinstance(payload, dict):
        return None
    for holder in (payload, payload.get("response"), payload.get("message")):
        if isinstance(holder, dict) and isinstance(holder.get("usage"), dict):
            return normalise(holder["usage"])
    return None


def from_body(body: bytes | None) -> dict[str, int] | None:
    """Usage of a JSON answer, or None when it has none."""
    if not body or b'"usage"' not in body:
        return None
    try:
        return from_object(orjson.loads(body))
    except orjson.JSONDecodeError:
        return None


def merge(into: dict[str, int], more: dict[str, int]) -> None:
    """Streams repeat or grow counts (Anthropic's ``message_delta`` is cumulative): keep the largest."""
    for key in FIELDS:
        into[key] = max(into[key], more[key])


def model_of(body: bytes | None) -> str | None:
    if not body:
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    model = payload.get("model") if isinstance(payload, dict) else None
    return model if isinstance(model, str) else None


class StreamUsage:
    """Relay ``stream`` unchanged; call ``done(usage, model)`` once when it ends, is cut or is closed."""

    def __init__(self, stream: Iterator[bytes], done: Callable[[dict[str, int] | None, str | None], None]) -> None:
        self.stream = stream if hasattr(stream, "__next__") else iter(stream)
        self._source = stream
        self.done = done
        self.usage: dict[str, int] | None = None
        self.model: str | None = None
        self._tail = b""
        self._finished = False

    def __iter__(self) -> "StreamUsage":
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self.stream)
        except StopIteration:
            self.close()
            raise
        self._scan(chunk)
        return chunk

    def _scan(self, chunk: bytes) -> None:
        data = self._tail + chunk
        lines = data.split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > 1 << 20:  # a line this long carries no usage we could use
            self._tail = b""
        for line in lines:
            if line.startswith(b"data:") and (b'"usage"' in line or (self.model is None and b'"model"' in line)):
                self._event(line[5:].strip())

    def _event(self, data: bytes) -> None:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(payload, dict):
            return
        if self.model is None:
            holder = payload.get("message") or payload.get("response") or payload
            model = holder.get("model") if isinstance(holder, dict) else None
            self.model = model if isinstance(model, str) else None
        found = from_object(payload)
        if found is not None:
            if self.usage is None:
                self.usage = empty()
            merge(self.usage, found)

    def close(self) -> None:
        if not self._finished:
            self._finished = True
            try:
                close = getattr(self._source, "close", None) or getattr(self.stream, "close", None)
                if close is not None:
                    close()
            finally:
                self.done(self.usage, self.model)
