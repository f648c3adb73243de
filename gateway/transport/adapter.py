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
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import ssl
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from geventhttpclient._parser import HTTPParseError, HTTPResponseParser
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers, select_proxy

from gateway.core.sockets import LAST_CHUNK, send_whole
from gateway.core.sockets import chunk as http_chunk
from gateway.transport.ssrf import TrustedHosts, is_public_address

READ_BLOCK = 64 * 1024
SEND_BLOCK = 64 * 1024
# bodies up to this size go out in the same write as the request head
INLINE_BODY = 16 * 1024
# a pooled connection given back less than this long ago is reused without a liveness check
FRESH_S = 1.0


class BlockedAddress(OSError):
    """A connection whose peer address is private and not trusted."""


class ConnectError(OSError):
    """No connection could be made (resolution, refusal, connect timeout, TLS handshake)."""


class ResponseCut(ConnectionError):
    """The connection closed or broke before the response was complete."""


class _Stale(Exception):
    """A reused connection failed before any response byte arrived (internal: retried once)."""


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


class _Parser(HTTPResponseParser):
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


class _Decoder:
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

    def __init__(self, origin: Origin, sock: socket.socket, parser: _Parser) -> None:
        self._origin = origin
        self._sock: socket.socket | None = sock
        self._parser = parser
        self.status = parser.get_code()
        self.reason = ""
        self.headers = ResponseHeaders(parser.lines)
        encoding = self.headers.get("content-encoding", "").strip().lower()
        self._decoder = _Decoder(encoding) if encoding in ("gzip", "x-gzip", "deflate") else None
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
        head, inline = self._head(method, target, origin, headers, body)
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

    def _head(
        self, method: str, target: str, origin: Origin, headers: Mapping[str, str], body: Any
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
            lines.insert(1, f"Host: {origin.host_header}\r\n")
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
        parser = _Parser(head_only)
        received = False
        try:
            if reused:
                sock.settimeout(read_timeout)
            try:
                if inline is not None:
                    send_whole(sock, head + inline)
                else:
                    send_whole(sock, head)
                    _send_body(sock, body)
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


def _sized(body: Any) -> int | None:
    try:
        return len(body)
    except TypeError:
        return None


def _send_body(sock: socket.socket, body: Any) -> None:
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
