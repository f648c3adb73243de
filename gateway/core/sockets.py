"""Writing to a (gevent) socket with as few system calls as the data allows."""

from __future__ import annotations

import socket


def send_whole(sock: socket.socket, data: bytes) -> None:
    """Send all of ``data``: one ``send`` when the socket takes it whole (the usual case), ``sendall``
    for what is left. gevent's ``sendall`` asks the kernel for the send buffer size on every call (one
    extra system call) to size its chunks; a single ``send`` does not."""
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])
