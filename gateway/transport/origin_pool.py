"""Idle keep-alive connections to one origin (scheme, host, port, guarded or not), most recent first.

Never blocking: a request that finds no idle connection opens one. A connection given back more
than ``FRESH_S`` ago is checked with a zero-timeout poll before use, and dropped when the peer
closed it meanwhile (or sent stray bytes).
"""

from __future__ import annotations

import select
import socket
import time
from typing import Any

# a pooled connection given back less than this long ago is reused without a liveness check
FRESH_S = 1.0


def _original_poll() -> Any:
    """``select.poll`` as the OS provides it (gevent may patch it; a zero-timeout poll never blocks)."""
    try:
        from gevent.monkey import get_original

        return get_original("select", "poll")
    except (ImportError, AttributeError):  # pragma: no cover - gevent is a dependency
        return select.poll


_poll = _original_poll()


def _readable_now(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read (EOF or stray bytes: it must not be reused)."""
    try:
        poller = _poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class Origin:
    """Idle keep-alive connections to one origin, with the time each was last given back."""

    __slots__ = ("guard", "host", "host_header", "https", "idle", "maxsize", "port")

    def __init__(self, https: bool, host: str, port: int, guard: bool, maxsize: int) -> None:
        self.https = https
        self.host = host
        self.port = port
        self.guard = guard
        self.maxsize = maxsize
        default = 443 if https else 80
        name = f"[{host}]" if ":" in host else host
        self.host_header = name if port == default else f"{name}:{port}"
        self.idle: list[tuple[socket.socket, float]] = []

    def take(self, check: bool = False) -> socket.socket | None:
        """Return an idle connection that is still open, or None.

        A connection idle for more than ``FRESH_S`` (any, with ``check``) is checked first (a
        zero-timeout poll): one the peer closed is dropped. A fresher one is used as it is; if the
        peer closed it in that moment, the request is retried once on a new connection (``_Stale``).
        """
        idle = self.idle
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            sock, since = idle.pop()
            if (now - since < FRESH_S and not check) or not _readable_now(sock):
                return sock
            sock.close()
        return None

    def give(self, sock: socket.socket) -> None:
        if len(self.idle) < self.maxsize:
            self.idle.append((sock, time.monotonic()))
        else:
            sock.close()

    def close(self) -> None:
        while self.idle:
            self.idle.pop()[0].close()
