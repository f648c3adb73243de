"""Decode and encode server-sent events at the byte level.

``SSEDecoder`` is incremental: feed it chunks split anywhere (inside a line, between ``\\r``
and ``\\n``) and it yields the same events as for the whole stream. It accepts ``\\n``,
``\\r\\n`` and ``\\r`` line ends, ignores comments, joins multi-line ``data`` and keeps JSON
containing U+2028 intact (it never decodes before splitting). ``pending`` counts the bytes
fed since the last event boundary, so a relay can forward whole events only, and
``finish`` reports an unterminated trailing event instead of silently completing it.
"""

from __future__ import annotations

import re

import orjson

_LINE_END = re.compile(rb"\r\n|\r|\n")


class ServerSentEvent:
    """One dispatched event: ``event`` type (``""`` when absent), ``data``, ``id``, ``retry``."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, event: str = "", data: str = "", id: str | None = None, retry: int | None = None) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def json(self):
        """Parse ``data`` as JSON."""
        return orjson.loads(self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServerSentEvent) and (self.event, self.data, self.id, self.retry) == (
            other.event,
            other.data,
            other.id,
            other.retry,
        )

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, retry={self.retry!r})"


class SSEDecoder:
    """Turn a byte stream into ``ServerSentEvent`` objects, chunk by chunk."""

    __slots__ = ("_bom_checked", "_buf", "_data", "_event", "_id", "_retry", "_since_boundary")

    def __init__(self) -> None:
        self._buf = b""
        self._event = ""
        self._data: list[bytes] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._since_boundary = 0
        self._bom_checked = False

    @property
    def pending(self) -> int:
        """Bytes fed since the last blank line (the tail a relay must hold back)."""
        return self._since_boundary

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume ``chunk``; return the events it completed."""
        if not chunk:
            return []
        if not self._bom_checked:
            if len(self._buf) + len(chunk) < 3 and b"\xef\xbb\xbf".startswith(self._buf + chunk):
                self._buf += chunk
                self._since_boundary += len(chunk)
                return []
            self._bom_checked = True
            if (self._buf + chunk).startswith(b"\xef\xbb\xbf"):
                chunk = (self._buf + chunk)[3:]
                self._since_boundary += 3 - len(self._buf)
                self._buf = b""
        self._since_boundary += len(chunk)
        buf = self._buf + chunk if self._buf else chunk
        events: list[ServerSentEvent] = []
        # A trailing "\r" may be the first half of "\r\n": decide when the next byte arrives.
        hold_cr = buf.endswith(b"\r")
        work = buf[:-1] if hold_cr else buf
        pos = 0
        consumed_to_boundary = -1
        if b"\r" not in work:
            lines = work.split(b"\n")
            tail = lines.pop()
            for line in lines:
                end = pos + len(line) + 1
                if self._line(line, events):
                    consumed_to_boundary = end
                pos = end
            rest = tail
        else:
            for match in _LINE_END.finditer(work):
                if self._line(work[pos : match.start()], events):
                    consumed_to_boundary = match.end()
                pos = match.end()
            rest = work[pos:]
        self._buf = rest + b"\r" if hold_cr else rest
        if consumed_to_boundary >= 0:
            self._since_boundary = len(buf) - consumed_to_boundary
        return events

    def _line(self, line: bytes, events: list[ServerSentEvent]) -> bool:
        """Process one complete line; return True when it was a blank (dispatching) line."""
        if not line:
            if self._data:
                data = b"\n".join(self._data).decode("utf-8", "replace")
                events.append(ServerSentEvent(self._event, data, self._id, self._retry))
            self._event = ""
            self._data = []
            self._retry = None
            return True
        if line[0] == 0x3A:  # ":" comment
            return False
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:
                self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)
        return False

    def finish(self) -> tuple[list[ServerSentEvent], ServerSentEvent | None]:
        """End the stream: return events completed by a held ``\\r`` and any unterminated event."""
        events: list[ServerSentEvent] = []
        buf, self._buf = self._buf, b""
        if buf.endswith(b"\r"):
            if self._line(buf[:-1], events):
                self._since_boundary = 0
        elif buf:
            self._line(buf, events)
        partial = None
        if self._data or self._event:
            partial = ServerSentEvent(self._event, b"\n".join(self._data).decode("utf-8", "replace"), self._id)
            self._event, self._data = "", []
        return events, partial


def encode_event(data: bytes | str, event: str | None = None) -> bytes:
    """Encode one event with a JSON or text ``data`` payload that holds no newline."""
    payload = data.encode() if isinstance(data, str) else data
    if event:
        return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
    return b"data: " + payload + b"\n\n"


def encode_json_event(obj, event: str | None = None) -> bytes:
    """Encode one event whose ``data`` is ``obj`` serialised as JSON."""
    return encode_event(orjson.dumps(obj), event)


DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"
