"""Relay WebSocket messages both ways between two wsproto peers until either side closes.

Each side is a ``Peer`` (a socket and its sans-I/O wsproto connection). ``run_session`` runs one
relay per direction: messages are copied whole (fragments reassembled by wsproto), pings are
answered where they arrive, and a close on one side is passed to the other with its code (a side
that vanishes without a close frame becomes 1001 "went away"). Both sockets are shut at most
``CLOSE_GRACE`` seconds after the first side closes.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    CloseConnection,
    Event,
    Message,
    Ping,
)
from wsproto.utilities import LocalProtocolError

from gateway.core.safelog import log_unexpected

log = logging.getLogger("gateway.realtime.session")

RECV_BYTES = 64 * 1024
#: After one side has closed, how long the other gets to finish its close handshake.
CLOSE_GRACE = 2.0
GOING_AWAY = 1001
ABNORMAL = 1006


class Peer:
    """One side of a session: a socket and its wsproto connection.

    ``state`` guards the wsproto connection and is never held across I/O; ``writing`` keeps
    frames whole on the wire. A reader therefore never waits for a blocked writer, so two
    relays pushing large messages at each other cannot deadlock.
    """

    def __init__(self, name: str, sock: Any, conn: Connection, pending: Sequence[Event] = ()) -> None:
        self.name = name
        self.sock = sock
        self.conn = conn
        self.state = threading.Lock()
        self.writing = threading.Lock()
        #: Events that arrived with the handshake answer, returned by the first ``receive``.
        self.pending = list(pending)
        #: The close code and reason this side sent us (1006: it vanished without one).
        self.closed_with: tuple[int, str] | None = None

    def send(self, event: Event) -> bool:
        """Send ``event``; return False when the connection state or the socket no longer allows it."""
        with self.writing:
            with self.state:
                try:
                    data = self.conn.send(event)
                except LocalProtocolError:
                    return False
            try:
                self.sock.sendall(data)
            except OSError:
                return False
        return True

    def close(self, code: int, reason: str | None) -> None:
        """Send a close frame, or answer the peer's, unless this side is already closed or closing."""
        if self.conn.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self.send(CloseConnection(code=code, reason=reason or None))

    def receive(self) -> list[Event]:
        """Wait for data and return the events it completes (a 1006 close when the stream ends)."""
        if self.pending:
            pending, self.pending = self.pending, []
            return pending
        try:
            data = self.sock.recv(RECV_BYTES)
        except OSError:
            data = b""
        with self.state:
            try:
                self.conn.receive_data(data or None)
            except LocalProtocolError:
                return [CloseConnection(code=ABNORMAL)]
            return list(self.conn.events())

    def shutdown(self) -> None:
        """Shut and close the socket, waking any reader."""
        with suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            self.sock.close()


def relay(src: Peer, dst: Peer) -> None:
    """Copy messages from ``src`` to ``dst`` until ``src`` closes, then close ``dst`` with the same code."""
    while True:
        for event in src.receive():
            if isinstance(event, Message):
                dst.send(event)  # dropped once ``dst`` is closing
            elif isinstance(event, Ping):
                src.send(event.response())
            elif isinstance(event, CloseConnection):
                code, reason = event.code, event.reason or ""
                src.closed_with = (code, reason)
                src.close(code, reason)  # answer a close, or fail the connection after a protocol error
                if code == ABNORMAL:
                    code, reason = GOING_AWAY, f"{src.name} went away"
                dst.close(code, reason)
                return


def run_session(client: Peer, upstream: Peer, grace: float = CLOSE_GRACE) -> dict[str, Any]:
    """Relay both ways until either side closes, give the other ``grace`` seconds, then shut both sockets."""
    first_done = threading.Event()

    def pump(src: Peer, dst: Peer) -> None:
        try:
            relay(src, dst)
        except Exception as exc:  # noqa: BLE001 - logged without its text
            log_unexpected(log, exc, "realtime relay %s -> %s failed", src.name, dst.name)
        finally:
            first_done.set()

    threads = [
        threading.Thread(target=pump, args=pair, name=f"realtime-{pair[0].name}", daemon=True)
        for pair in ((client, upstream), (upstream, client))
    ]
    for thread in threads:
        thread.start()
    first_done.wait()
    deadline = time.monotonic() + grace
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    upstream.shutdown()
    client.shutdown()
    for thread in threads:
        thread.join(1.0)
    return {"client": client.closed_with, "upstream": upstream.closed_with}
