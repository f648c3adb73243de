"""An upstream HTTP/1.1 response read off its connection: llhttp (through geventhttpclient) parses it,
the body is handed on as it arrives, gzip and deflate bodies are decoded on the way.

``FastResponse`` gives its connection back to the pool it came from once the message is complete
and the connection may be kept; closing it before the end closes the connection, so a client that
disconnects reaches the provider. A broken or closed connection raises ``ResponseCut``; a malformed
response raises ``HTTPParseError`` (an ``http.client.HTTPException``).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from geventhttpclient._parser import HTTPParseError, HTTPResponseParser

if TYPE_CHECKING:
    import socket

    from gateway.transport.origin_pool import Origin

READ_BLOCK = 64 * 1024


class ResponseCut(ConnectionError):
    """The connection closed or broke before the response was complete."""


class ResponseHeaders(Mapping[str, str]):
    """Response headers: case-insensitive lookup (repeated fields joined), ``items()`` as received."""

    __slots__ = ("_joined", "_lines")

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self._lines = lines
        joined: dict[str, str] = {}
        for name, value in lines:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        self._joined = joined

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        return self._joined.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every header line as received (a repeated field, e.g. ``set-cookie``, once per line)."""
        return list(self._lines)

    def getlist(self, name: str) -> list[str]:
        key = name.lower()
        return [v for n, v in self._lines if n.lower() == key]

    def __repr__(self) -> str:
        return f"ResponseHeaders({self._lines!r})"


class ResponseParser(HTTPResponseParser):
    """llhttp (through geventhttpclient) with the callbacks a proxy needs."""

    def __init__(self, head_only: bool) -> None:
        super().__init__()
        self.head_only = head_only
        self.lines: list[tuple[str, str]] = []
        self.field = ""
        self.value: str | None = None
        self.headers_done = False
        self.complete = False
        self.body: list[bytes] = []

    def _on_message_begin(self) -> None:
        if self.complete:  # the final response after an interim 1xx one
            self.complete = False
            self.headers_done = False
            self.lines = []

    def _on_status(self, message: str) -> None:
        pass

    def _on_header_field(self, text: str) -> None:
        if self.value is not None:
            self.lines.append((self.field, self.value))
            self.field, self.value = text, None
        else:
            self.field += text

    def _on_header_value(self, text: str) -> None:
        self.value = text if self.value is None else self.value + text

    def _on_headers_complete(self) -> bool:
        if self.value is not None or self.field:
            self.lines.append((self.field, self.value or ""))
        self.field, self.value = "", None
        self.headers_done = True
        return self.head_only  # True: no body follows (HEAD)

    def _on_body(self, data: bytearray) -> None:
        self.body.append(bytes(data))

    def _on_message_complete(self) -> None:
        self.complete = True


class BodyDecoder:
    """Decode a gzip or deflate body as it arrives."""

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes) -> bytes:
        if self._first and not self.gzip and data:
            self._first = False
            try:
                return self._obj.decompress(data)
            except zlib.error:  # a raw deflate stream without the zlib header
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        self._first = False
        return self._obj.decompress(data)

    def flush(self) -> bytes:
        return self._obj.flush()


class FastResponse:
    """A response whose body is read from the connection as it arrives."""

    __slots__ = ("_decoder", "_origin", "_parser", "_sock", "headers", "reason", "status")

    def __init__(self, origin: Origin, sock: socket.socket, parser: ResponseParser) -> None:
        self._origin = origin
        self._sock: socket.socket | None = sock
        self._parser = parser
        self.status = parser.get_code()
        self.reason = ""
        self.headers = ResponseHeaders(parser.lines)
        encoding = self.headers.get("content-encoding", "").strip().lower()
        self._decoder = BodyDecoder(encoding) if encoding in ("gzip", "x-gzip", "deflate") else None
        if parser.complete:
            self._finish()

    def _finish(self) -> None:
        """The message is complete: keep the connection for the next request when it allows."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._parser.should_keep_alive():
            self._origin.give(sock)
        else:
            sock.close()

    def _pending(self) -> bytes:
        body = self._parser.body
        if not body:
            return b""
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        return data

    def _decode(self, data: bytes, last: bool) -> bytes:
        if self._decoder is None:
            return data
        try:
            out = self._decoder.feed(data)
            return out + self._decoder.flush() if last else out
        except zlib.error as exc:
            self.close()
            raise ResponseCut(f"undecodable {self.headers.get('content-encoding')} body") from exc

    def _receive(self) -> None:
        """Read the next bytes of the body into the parser (raises on a broken connection)."""
        sock = self._sock
        if sock is None:
            raise ResponseCut("the response is closed")
        try:
            data = sock.recv(READ_BLOCK)
            if data:
                self._parser.feed(data)
            else:
                with contextlib.suppress(HTTPParseError):
                    self._parser.feed(b"")  # the end of a body delimited by the connection's close
                if not self._parser.complete:
                    raise ResponseCut("the connection closed before the end of the response")
        except BaseException:
            self.close()
            raise
        if self._parser.complete:
            self._finish()

    def iter_content(self) -> Iterator[bytes]:
        """Yield the (decoded) body as it arrives: each chunk of a chunked body, else what one read brought."""
        parser = self._parser
        body = parser.body
        decoder = self._decoder
        while True:
            if body:
                pieces = body[:]
                body.clear()
                for piece in pieces:
                    out = piece if decoder is None else self._decode(piece, False)
                    if out:
                        yield out
            if parser.complete:
                if decoder is not None:
                    tail = self._decode(b"", True)
                    if tail:
                        yield tail
                return
            self._receive()

    def read(self) -> bytes:
        """Return the whole (decoded) body."""
        parser = self._parser
        while not parser.complete:
            self._receive()
        return self._decode(self._pending(), True)

    def close(self) -> None:
        """Free the connection: pooled again if the body was read to its end, else closed."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    # what requests' Response.iter_content and close use on ``raw``
    def stream(self, amt: int = READ_BLOCK, decode_content: bool = True) -> Iterator[bytes]:
        return self.iter_content()

    def release_conn(self) -> None:
        self.close()
