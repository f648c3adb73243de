"""Open the two WebSocket connections of a realtime session.

``connect_upstream`` dials the provider (peer address checked for untrusted custom hosts, TLS with
the gateway's CA bundle), sends the client handshake and reads the answer, keeping any frames that
arrived with it; a refusal becomes a provider error with the upstream's status and message.
``ClientHandshake`` validates the client's upgrade request on the raw gunicorn socket and, once
the upstream has accepted, answers it with 101.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import h11
from requests.utils import DEFAULT_CA_BUNDLE_PATH, requote_uri
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    Event,
    RejectConnection,
    RejectData,
    Request,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from gateway.core.errors import BadRequest, GatewayError, ProviderError, UpstreamTimeout, UpstreamUnavailable
from gateway.realtime.pump import RECV_BYTES, Peer
from gateway.transport.ssrf import is_public_address
from translators.openai_shapes import wire_error_envelope

MAX_REFUSAL_BODY = 64 * 1024
#: Upstream refusal headers worth relaying to the client.
_REFUSAL_HEADERS = ("retry-after", "retry-after-ms", "x-request-id", "apim-request-id")
_tls_contexts: dict[str, ssl.SSLContext] = {}


@dataclass
class UpstreamPlan:
    """Where and how to open the upstream WebSocket."""

    provider: str
    url: str
    headers: dict[str, str]
    subprotocols: list[str]
    guard: bool
    connect_timeout: float
    handshake_timeout: float


if TYPE_CHECKING:
    from gateway.web.state import GatewayState


def _tls_context(cafile: str) -> ssl.SSLContext:
    context = _tls_contexts.get(cafile)
    if context is None:
        context = _tls_contexts[cafile] = ssl.create_default_context(cafile=cafile)
    return context


def _refusal(provider: str, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> ProviderError:
    """The upstream's handshake refusal as a provider error with its status and message."""
    named = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}
    if status < 400:
        return UpstreamUnavailable(provider, f"the WebSocket handshake was answered with HTTP {status}")
    error = wire_error_envelope(provider, status, body, named.get("content-type", ""))["error"]
    kind = error["type"] if isinstance(error["type"], str) else None
    keep = {name: named[name] for name in _REFUSAL_HEADERS if name in named}
    return ProviderError(
        provider, status, error["message"], error_type=kind, param=error["param"], code=error["code"], headers=keep
    )


def _handshake(sock: socket.socket, ws: WSConnection, plan: UpstreamPlan) -> tuple[AcceptConnection, list[Event]]:
    """Read the upstream's handshake answer and any frames that came with it; raise a refusal or failure."""
    status, refusal_headers, body = 0, [], bytearray()
    while True:
        try:
            data = sock.recv(RECV_BYTES)
        except TimeoutError:
            raise UpstreamTimeout(plan.provider, plan.handshake_timeout) from None
        try:
            ws.receive_data(data)
            events = list(ws.events())
        except (RemoteProtocolError, h11.ProtocolError) as exc:
            raise UpstreamUnavailable(plan.provider, f"invalid WebSocket handshake answer ({exc})") from None
        for index, event in enumerate(events):
            if isinstance(event, AcceptConnection):
                return event, events[index + 1 :]
            if isinstance(event, RejectConnection):
                status, refusal_headers = event.status_code, list(event.headers)
                if not event.has_body:
                    raise _refusal(plan.provider, status, refusal_headers, b"")
            elif isinstance(event, RejectData):
                body += event.data[: MAX_REFUSAL_BODY - len(body)]
                if event.body_finished:
                    raise _refusal(plan.provider, status, refusal_headers, bytes(body))
        if not data:
            if status:
                raise _refusal(plan.provider, status, refusal_headers, bytes(body))
            raise UpstreamUnavailable(plan.provider, "the connection closed during the WebSocket handshake")


def connect_upstream(state: "GatewayState", plan: UpstreamPlan) -> tuple[Peer, str | None]:
    """Open the upstream WebSocket; return its peer and the subprotocol it chose, or raise."""
    parts = urlsplit(plan.url)
    secure = parts.scheme == "wss"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    try:
        sock = socket.create_connection((host, port), timeout=plan.connect_timeout)
    except TimeoutError:
        raise UpstreamUnavailable(plan.provider, f"connect timeout after {plan.connect_timeout:g}s") from None
    except OSError as exc:
        raise UpstreamUnavailable(plan.provider, exc.strerror or exc.__class__.__name__) from None
    try:
        if plan.guard:
            peer = ipaddress.ip_address(sock.getpeername()[0].split("%", 1)[0])
            if not is_public_address(peer) and not state.trusted.trusts_ip(peer):
                raise BadRequest("Invalid custom host", code="invalid_custom_host", param="x-portkey-custom-host")
        if secure:
            sock = _tls_context(state.settings.ca_bundle or DEFAULT_CA_BUNDLE_PATH).wrap_socket(
                sock, server_hostname=host
            )
        sock.settimeout(plan.handshake_timeout)
        ws = WSConnection(ConnectionType.CLIENT)
        request = Request(
            host=parts.netloc,
            target=requote_uri((parts.path or "/") + (f"?{parts.query}" if parts.query else "")),
            subprotocols=plan.subprotocols,
            extra_headers=[(name.encode(), value.encode()) for name, value in plan.headers.items()],
        )
        sock.sendall(ws.send(request))
        accepted, early = _handshake(sock, ws, plan)
        sock.settimeout(None)
    except (GatewayError, ProviderError):
        sock.close()
        raise
    except TimeoutError:
        sock.close()
        raise UpstreamTimeout(plan.provider, plan.handshake_timeout) from None
    except (OSError, LocalProtocolError, h11.ProtocolError) as exc:
        sock.close()
        raise UpstreamUnavailable(plan.provider, str(exc)[:300] or exc.__class__.__name__) from None
    assert ws.connection is not None
    return Peer("upstream", sock, ws.connection, early), accepted.subprotocol


class ClientHandshake:
    """The client's validated (not yet answered) upgrade request on the raw gunicorn socket."""

    def __init__(self, environ: Mapping[str, Any], headers: Sequence[tuple[str, str]], target: str) -> None:
        self.sock = environ.get("gunicorn.socket")
        self.ws = WSConnection(ConnectionType.SERVER)
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        try:
            self.ws.initiate_upgrade_connection(raw, target)
            self.request = next(e for e in self.ws.events() if isinstance(e, Request))
        except (RemoteProtocolError, h11.ProtocolError, UnicodeError, StopIteration) as exc:
            upgrade = next((v for n, v in headers if n.lower() == "upgrade"), "")
            status = 426 if upgrade.lower() != "websocket" else 400
            message = f"GET /v1/realtime is a WebSocket endpoint: {exc}"
            extra = {"Upgrade": "websocket"}
            raise GatewayError(message, status_code=status, code="websocket_required", headers=extra) from None
        if self.sock is None:
            raise GatewayError("WebSocket sessions need the gunicorn server (gunicorn.socket)", status_code=501)

    def accept(self, subprotocol: str | None, extra_headers: Sequence[tuple[str, str]]) -> Peer:
        """Answer 101 (with the upstream's subprotocol, if the client offered it) and return the client peer."""
        offered = self.request.subprotocols
        chosen = subprotocol if subprotocol in offered else ("realtime" if "realtime" in offered else None)
        encoded = [(name.encode(), value.encode()) for name, value in extra_headers]
        self.sock.sendall(self.ws.send(AcceptConnection(subprotocol=chosen, extra_headers=encoded)))
        assert self.ws.connection is not None
        return Peer("client", self.sock, self.ws.connection)
