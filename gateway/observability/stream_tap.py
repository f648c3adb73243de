"""Watch a stream on its way to the client, cheaply, and read its usage when it ends.

A stream's usage, model, errors and guardrail verdicts sit in its first and last events
(Anthropic's ``message_start`` and ``message_delta``, OpenAI's final usage chunk, the Responses
API's ``response.completed``, an in-band error event). ``StreamTap`` keeps only the first
``head`` and the last ``tail`` bytes as they pass (no parsing per chunk); ``summary`` parses those
SSE events once, after the stream has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from gateway.observability import usage as usage_of

HEAD_BYTES = 16 * 1024
TAIL_BYTES = 16 * 1024


class StreamSummary:
    """What a finished stream said about itself."""

    def __init__(self) -> None:
        self.usage: dict[str, int] | None = None
        self.model: str | None = None
        self.error: str | None = None
        self.error_code: str | None = None
        self.hook_results: dict[str, Any] = {}
        self.chunks = 0
        self.bytes = 0
        self.head = b""


class StreamTap:
    """Remember the head and tail of the bytes passing through ``tap``."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> None:
        self.head_cap = head
        self.tail_cap = tail
        self.head = bytearray()
        self.tail: list[bytes] = []
        self.tail_size = 0
        self.trimmed = False
        self.chunks = 0
        self.size = 0
        self.ended = False

    def feed(self, chunk: bytes) -> None:
        """Remember ``chunk`` if it falls in the head or the tail."""
        self.chunks += 1
        self.size += len(chunk)
        if len(self.head) < self.head_cap:
            self.head += chunk
            return
        self.tail.append(chunk)
        self.tail_size += len(chunk)
        while len(self.tail) > 1 and self.tail_size - len(self.tail[0]) >= self.tail_cap:
            self.tail_size -= len(self.tail.pop(0))
            self.trimmed = True

    def tap(self, stream: Iterator[bytes]) -> Iterator[bytes]:
        """Yield ``stream`` unchanged, feeding each chunk; closing this closes ``stream``."""
        try:
            for chunk in stream:
                self.feed(chunk)
                yield chunk
            self.ended = True
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def summary(self) -> StreamSummary:
        """Parse the remembered events (call once the stream is over)."""
        out = StreamSummary()
        out.chunks, out.bytes, out.head = self.chunks, self.size, bytes(self.head)
        if not self.trimmed:
            parts = [bytes(self.head) + b"".join(self.tail)]
        else:
            head = bytes(self.head)
            tail = b"".join(self.tail)
            parts = [head[: max(head.rfind(b"\n\n"), 0)], tail[tail.find(b"\n\n") + 2 :]]
        found = usage_of.empty()
        seen = False
        for part in parts:
            for payload in _events(part):
                used, model = usage_of.of_payload(payload)
                if used is not None:
                    usage_of.merge(found, used)
                    seen = True
                out.model = out.model or model
                _note_error(out, payload)
                hooks = payload.get("hook_results")
                if isinstance(hooks, dict):
                    out.hook_results.update(hooks)
        out.usage = found if seen else None
        return out


def _events(data: bytes) -> Iterator[dict[str, Any]]:
    """Yield the JSON payloads of the SSE events in ``data`` (others skipped)."""
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        lines = [line[5:].lstrip() for line in block.split(b"\n") if line.startswith(b"data:")]
        if not lines:
            continue
        text = b"\n".join(lines)
        if not text.startswith(b"{"):
            continue
        try:
            payload = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(payload, dict):
            yield payload


def _note_error(out: StreamSummary, payload: dict[str, Any]) -> None:
    error = payload.get("error")
    if payload.get("type") == "response.failed" and isinstance(payload.get("response"), dict):
        error = payload["response"].get("error") or error
    if isinstance(error, dict):
        out.error = str(error.get("message") or error.get("code") or "stream error")
        code = error.get("code") or error.get("type")
        out.error_code = code if isinstance(code, str) else out.error_code
    elif isinstance(error, str) and error:
        out.error = error


class TappedStream:
    """The response stream, watched: finishes the observation when closed (ended, cut or never read)."""

    def __init__(self, stream: Iterator[bytes], tap: StreamTap, on_close: Callable[[], None]) -> None:
        self.stream = iter(stream)
        self.inner = stream
        self.tap = tap
        self.on_close = on_close
        self.closed = False

    def __iter__(self) -> "TappedStream":
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self.stream)
        except StopIteration:
            self.tap.ended = True
            raise
        self.tap.feed(chunk)
        return chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self.on_close()
