"""Writing to a (gevent) socket with as few system calls as the data allows, and HTTP/1.1 chunk framing."""

from __future__ import annotations

import socket


def send_whole(sock: socket.socket, data: bytes) -> None:
    """Send all of ``data``: one ``send`` when the socket takes it whole (the usual case), ``sendall``
    for what is left. gevent's ``sendall`` asks the kernel for the send buffer size on every call (one
    extra system call) to size its chunks; a single ``send`` does not."""
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])


#: The chunk that ends a chunked body (no trailers).
LAST_CHUNK = b"0\r\n\r\n"


def chunk(data: bytes) -> bytes:
    """``data`` framed as one HTTP/1.1 chunk (size in hex, CRLF, data, CRLF)."""
    return b"%x\r\n%b\r\n" % (len(data), data)
