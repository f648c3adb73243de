"""The fast upstream transport: keep-alive pools per origin and geventhttpclient's llhttp parser.

``FastAdapter`` is a requests ``HTTPAdapter`` mounted on the worker's session, so the session
stays the policy layer; ``UpstreamClient`` calls its ``open`` directly on the hot path (requests'
per-call preparation does nothing a gateway needs). What it keeps of a general HTTP client:

- one pool of idle keep-alive connections per origin (scheme, host, port, guarded or not), at most
  ``pool_maxsize`` idle connections each (``worker_connections``), never blocking: a request that
  finds no idle connection opens one; an idle connection the peer closed is dropped before use;
- with ``guard``, the peer address of every new connection is checked before a byte is sent, so a
  public name that resolves to a private address is refused (``BlockedAddress``);
- TLS with the configured CA bundle (certifi's by default), SNI and hostname checking;
- the connect timeout for the TCP connect and the TLS handshake, the read timeout between bytes;
- one transparent retry on a fresh connection when a reused connection turns out to be stale
  (the peer closed or reset it before any byte of the response arrived), when the body can be
  sent again;
- request bodies as bytes, sized streams (``Content-Length``), or unsized streams and iterables
  (chunked), sent in blocks; responses with ``Content-Length``, chunked or ended by close;
- gzip and deflate response bodies decoded as they arrive;
- closing a response before its end closes the connection (a client disconnect reaches the provider).

Outbound proxies and any per-call TLS option other than the configured bundle are not served here:
``send`` routes those requests to the plain requests/urllib3 adapter, explicitly.
Errors are raised as ``ConnectError`` (no connection), ``BlockedAddress``, ``TimeoutError``
(no data in time), ``ResponseCut`` (the connection broke off) or ``http.client.HTTPException``
(a malformed response); ``gateway.transport.client`` maps them to its failure kinds.

Its parts: ``origin_pool.py`` (the idle connections of an origin), ``http_request.py`` (the bytes
of a request), ``http_response.py`` (the answer read off its connection); this module connects,
sends and retries.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers, select_proxy

from gateway.core.sockets import send_whole
from gateway.transport.http_request import request_head, send_body
from gateway.transport.http_response import (
    READ_BLOCK,
    FastResponse,
    HTTPParseError,
    ResponseCut,
    ResponseHeaders,
    ResponseParser,
)
from gateway.transport.origin_pool import Origin
from gateway.transport.ssrf import TrustedHosts, is_public_address


class BlockedAddress(OSError):
    """A connection whose peer address is private and not trusted."""


class ConnectError(OSError):
    """No connection could be made (resolution, refusal, connect timeout, TLS handshake)."""


class _Stale(Exception):
    """A reused connection failed before any response byte arrived (internal: retried once)."""


def _replayable(body: Any) -> tuple[bool, int | None]:
    """Whether ``body`` can be sent again, and the stream position to rewind to."""
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
        return True, None
    if hasattr(body, "seek") and hasattr(body, "tell"):
        try:
            return True, body.tell()
        except OSError:
            return False, None
    return False, None


class FastAdapter(HTTPAdapter):
    """A requests adapter over gevent-friendly keep-alive pools and the llhttp parser."""

    def __init__(
        self,
        trusted: TrustedHosts,
        *,
        ca_bundle: str = "",
        pool_connections: int = 10,
        pool_maxsize: int = 10,
        fallback: HTTPAdapter | None = None,
    ) -> None:
        super().__init__(pool_connections=pool_connections, pool_maxsize=pool_maxsize)
        self._trusted = trusted
        self._maxsize = pool_maxsize
        self._max_origins = 4 * pool_connections
        self._origins: dict[tuple[bool, str, str], Origin] = {}
        self._ca_bundle = ca_bundle or DEFAULT_CA_BUNDLE_PATH
        self._tls: ssl.SSLContext | None = None
        self.fallback = fallback or HTTPAdapter(pool_connections=pool_connections, pool_maxsize=pool_maxsize)

    # -- the hot path ---------------------------------------------------------------------------

    def open(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: Any = None,
        *,
        connect_timeout: float,
        read_timeout: float,
        guard: bool = False,
    ) -> FastResponse:
        """Send one request and return the response once its headers arrived."""
        if isinstance(body, str):
            body = body.encode()
        origin, target = self._origin(url, guard)
        head_only = method.upper() == "HEAD"
        head, inline = request_head(method, target, origin.host_header, headers, body)
        replayable, position = _replayable(body)
        sock = origin.take(check=not replayable)  # a body that cannot be sent twice needs a live connection
        if sock is not None:
            try:
                return self._exchange(origin, sock, head, inline, body, head_only, read_timeout, reused=True)
            except _Stale:
                if not replayable:
                    raise ResponseCut("a pooled connection was closed by the provider") from None
                if position is not None:
                    body.seek(position)
        sock = self._connect(origin, connect_timeout, read_timeout)
        try:
            return self._exchange(origin, sock, head, inline, body, head_only, read_timeout, reused=False)
        except _Stale as exc:  # pragma: no cover - only a reused connection is stale
            raise ResponseCut(str(exc)) from None

    def _origin(self, url: str, guard: bool) -> tuple[Origin, str]:
        scheme, _, rest = url.partition("://")
        netloc, slash, path = rest.partition("/")
        key = (guard, scheme, netloc)
        origin = self._origins.get(key)
        if origin is None:
            https = scheme.lower() == "https"
            if not https and scheme.lower() != "http":
                raise ConnectError(f"unsupported URL scheme {scheme!r}")
            host, port = _split_netloc(netloc, 443 if https else 80)
            origin = Origin(https, host, port, guard, self._maxsize)
            if len(self._origins) >= self._max_origins:  # drop the oldest origin's idle connections
                oldest = next(iter(self._origins))
                self._origins.pop(oldest).close()
            self._origins[key] = origin
        target = "/" + path if slash else "/"
        return origin, target.partition("#")[0]

    def _connect(self, origin: Origin, connect_timeout: float, read_timeout: float) -> socket.socket:
        """Open a connection to ``origin`` (peer checked when guarded, TLS when https)."""
        try:
            infos = socket.getaddrinfo(origin.host, origin.port, 0, socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectError(f"cannot resolve {origin.host}: {exc.strerror or exc}") from exc
        if origin.guard:  # check every address before connecting, then connect only to checked ones
            infos = [info for info in infos if self._allowed(info[4][0])]
            if not infos:
                raise BlockedAddress(f"custom host {origin.host} resolves only to non-public addresses")
        last: OSError | None = None
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(connect_timeout)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            break
        else:
            if isinstance(last, TimeoutError):
                raise ConnectError(f"connect timeout after {connect_timeout:g}s") from last
            raise ConnectError(f"cannot connect to {origin.host}:{origin.port}: {_strerror(last)}") from last
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.guard:
                peer = ipaddress.ip_address(sock.getpeername()[0].split("%", 1)[0])
                if not is_public_address(peer) and not self._trusted.trusts_ip(peer):
                    raise BlockedAddress(f"custom host resolved to a non-public address {peer}")
            if origin.https:
                try:
                    sock = self._tls_context().wrap_socket(sock, server_hostname=origin.host)
                except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
                    raise ConnectError(f"TLS handshake with {origin.host} failed: {exc}") from exc
            sock.settimeout(read_timeout)
        except BaseException:
            sock.close()
            raise
        return sock

    def _allowed(self, address: str) -> bool:
        peer = ipaddress.ip_address(address.split("%", 1)[0])
        return is_public_address(peer) or self._trusted.trusts_ip(peer)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context(cafile=self._ca_bundle)
            context.set_alpn_protocols(["http/1.1"])
            self._tls = context
        return self._tls

    def _exchange(
        self,
        origin: Origin,
        sock: socket.socket,
        head: bytes,
        inline: bytes | None,
        body: Any,
        head_only: bool,
        read_timeout: float,
        *,
        reused: bool,
    ) -> FastResponse:
        """Send the request on ``sock`` and read the response head; ``_Stale`` when a reused one is dead."""
        parser = ResponseParser(head_only)
        received = False
        try:
            if reused:
                sock.settimeout(read_timeout)
            try:
                if inline is not None:
                    send_whole(sock, head + inline)
                else:
                    send_whole(sock, head)
                    send_body(sock, body)
            except TimeoutError:
                raise
            except OSError as exc:  # reset, broken pipe, TLS EOF
                if reused:
                    raise _Stale(str(exc)) from exc
                raise ResponseCut(f"the provider closed the connection while the request was sent ({exc})") from exc
            while not parser.headers_done or parser.get_code() < 200:
                try:
                    data = sock.recv(READ_BLOCK)
                except TimeoutError:
                    raise
                except OSError as exc:
                    if reused and not received:
                        raise _Stale(str(exc)) from exc
                    raise ResponseCut(f"the provider broke the connection ({exc.__class__.__name__})") from exc
                if not data:
                    if reused and not received:
                        raise _Stale("closed before the response")
                    raise ResponseCut("the provider closed the connection before the response headers")
                received = True
                parser.feed(data)
        except BaseException:
            sock.close()
            raise
        return FastResponse(origin, sock, parser)

    def close(self) -> None:
        """Close every idle pooled connection (and the fallback adapter's pools)."""
        for origin in self._origins.values():
            origin.close()
        self._origins.clear()
        self.fallback.close()
        super().close()

    # -- requests' adapter interface ------------------------------------------------------------

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a prepared request; proxied or differently verified requests go to the plain adapter."""
        if not self.serves(request.url or "", verify=verify, cert=cert, proxies=proxies):
            plain = self.fallback
            return plain.send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        connect, read = _timeouts(timeout)
        raw = self.open(
            request.method or "GET",
            request.url or "",
            dict(request.headers),
            request.body,
            connect_timeout=connect,
            read_timeout=read,
        )
        response = Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.headers.items())
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = raw.reason
        response.url = request.url or ""
        response.request = request
        response.connection = self
        if not stream:
            response._content = raw.read()
        return response

    def serves(self, url: str, *, verify: bool | str = True, cert: Any = None, proxies: Any = None) -> bool:
        """Whether this adapter sends ``url`` itself (no proxy for it, the configured TLS verification)."""
        if proxies and select_proxy(url, proxies):
            return False
        if cert is not None:
            return False
        return verify is True or verify == self._ca_bundle


def _unsafe(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text


def _split_netloc(netloc: str, default: int) -> tuple[str, int]:
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    try:
        return host, int(port) if port else default
    except ValueError:
        raise ConnectError(f"invalid port in {netloc!r}") from None


def _timeouts(timeout: Any) -> tuple[float, float]:
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect = read = timeout
    return float(connect if connect is not None else 30.0), float(read if read is not None else 600.0)


def _strerror(exc: OSError | None) -> str:
    if exc is None:
        return "no address"
    return exc.strerror or exc.__class__.__name__


__all__ = [
    "BlockedAddress",
    "ConnectError",
    "FastAdapter",
    "FastResponse",
    "HTTPParseError",
    "ResponseCut",
    "ResponseHeaders",
]
