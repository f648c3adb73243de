"""The bytes of an upstream HTTP/1.1 request: its head (a small body rides along in the same write),
then a body that did not: bytes, a sized stream (``Content-Length``), or an unsized stream or
iterable (chunked), sent in blocks.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.core.sockets import LAST_CHUNK, send_whole
from gateway.core.sockets import chunk as http_chunk

SEND_BLOCK = 64 * 1024
# bodies up to this size go out in the same write as the request head
INLINE_BODY = 16 * 1024


def request_head(
    method: str, target: str, host_header: str, headers: Mapping[str, str], body: Any
) -> tuple[bytes, bytes | None]:
    """Return the request head, and the body when it is small enough to go out with it."""
    if _unsafe(method) or _unsafe(target) or " " in target:
        raise ValueError("the request line contains a space or a line break")
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    names = set()
    for name, value in headers.items():
        if _unsafe(name) or _unsafe(value):
            raise ValueError(f"the request header {name!r} contains a line break")
        lines.append(f"{name}: {value}\r\n")
        names.add(name.lower())
    if "host" not in names:
        lines.insert(1, f"Host: {host_header}\r\n")
    inline: bytes | None = None
    if body is None:
        if method.upper() in ("POST", "PUT", "PATCH") and "content-length" not in names:
            lines.append("Content-Length: 0\r\n")
        inline = b""
    elif isinstance(body, (bytes, bytearray, memoryview)):
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}\r\n")
        inline = bytes(body) if len(body) <= INLINE_BODY else None
    elif "content-length" not in names and "transfer-encoding" not in names:
        size = _sized(body)
        lines.append(f"Content-Length: {size}\r\n" if size is not None else "Transfer-Encoding: chunked\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1"), inline


def _sized(body: Any) -> int | None:
    try:
        return len(body)
    except TypeError:
        return None


def send_body(sock: socket.socket, body: Any) -> None:
    """Send a body that did not go out with the head: bytes, a sized or unsized stream, or an iterable."""
    if body is None:
        return
    if isinstance(body, (bytes, bytearray, memoryview)):
        send_whole(sock, bytes(body))
        return
    sized = _sized(body) is not None
    if hasattr(body, "read"):
        chunks: Iterable[bytes] = iter(lambda: body.read(SEND_BLOCK), b"")
    else:
        chunks = body
    for chunk in chunks:
        if isinstance(chunk, str):
            chunk = chunk.encode()
        if not chunk:
            continue
        if sized:
            send_whole(sock, chunk)
        else:
            send_whole(sock, http_chunk(chunk))
    if not sized:
        send_whole(sock, LAST_CHUNK)


def _unsafe(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text
