"""Send requests to providers over one pooled ``requests.Session`` per worker.

Policy lives here (timeouts, cookies off, proxies and CA bundle resolved once, the total
deadline); transport is ``FastAdapter`` (``gateway.transport.adapter``: keep-alive pools per
origin and the llhttp parser), mounted on the session. The hot path calls the adapter's
``open`` directly: requests' per-call preparation (URL re-parsing, hooks, cookie jars,
response building) does nothing a gateway needs.

With an outbound proxy configured, every call goes to requests' plain ``HTTPAdapter`` (urllib3)
through ``adapter.send``, so requests handles the proxy; ``FastAdapter.send`` routes proxied
requests there too.

Operator-untrusted custom hosts are guarded: the *connected* peer address is checked before a
byte is sent, so a public name resolving to a private address is refused (the hostname check
alone misses DNS rebinding). Failures raise ``UpstreamFailure`` with a ``kind`` the routing
engine maps to statuses.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from gateway.core.settings import Settings
from gateway.transport.adapter import BlockedAddress, ConnectError, FastAdapter, FastResponse, ResponseCut
from gateway.transport.ssrf import TrustedHosts, is_public_address

log = logging.getLogger("gateway.transport.client")

USER_AGENT = "portkey-flask-gateway"
READ_BLOCK = 64 * 1024


class UpstreamFailure(Exception):
    """A request that produced no HTTP response: ``kind`` is ``connect``, ``timeout``, ``blocked`` or ``read``."""

    def __init__(self, kind: str, detail: str, seconds: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.seconds = seconds


class BodyFailure(UpstreamFailure):
    """The response body broke off after the headers: ``kind`` is ``stall`` (no data in time) or ``cut``."""


@dataclass(frozen=True)
class Timeout:
    """Connect and read (between bytes) timeouts in seconds, plus an optional total deadline."""

    connect: float
    read: float
    total: float | None = None


class UpstreamResponse:
    """A provider's response: status, headers and a body read as it arrives (the urllib3 one, for proxies)."""

    __slots__ = ("_content", "headers", "raw", "status_code")

    def __init__(self, raw: urllib3.BaseHTTPResponse) -> None:
        self.raw = raw
        self.status_code = raw.status
        self.headers = raw.headers
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        """The whole (decoded) body; reading it returns the connection to the pool.

        Raises ``BodyFailure`` when the body breaks off.
        """
        if self._content is None:
            try:
                self._content = self.raw.read(decode_content=True)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise body_failure(exc) from exc
            self.raw.release_conn()
        return self._content

    def iter_content(self) -> Iterator[bytes]:
        """Yield body bytes as they arrive (each chunk of a chunked body, else up to 64 KiB).

        Raises ``BodyFailure`` when the body breaks off.
        """
        raw = self.raw
        try:
            if raw.chunked and raw.supports_chunked_reads():
                yield from raw.read_chunked(decode_content=True)
            else:
                while True:
                    data = raw.read1(READ_BLOCK, decode_content=True)
                    if not data:
                        break
                    yield data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise body_failure(exc) from exc
        raw.release_conn()

    def close(self) -> None:
        """Drop the connection unless the body was read to its end, and free the pool slot."""
        raw = self.raw
        if not raw.isclosed():
            raw.close()
        raw.release_conn()


class FastUpstreamResponse(UpstreamResponse):
    """A response read through ``FastAdapter`` (same interface)."""

    __slots__ = ()

    def __init__(self, raw: FastResponse) -> None:  # type: ignore[override]
        self.raw = raw
        self.status_code = raw.status
        self.headers = raw.headers
        self._content = None

    @property
    def content(self) -> bytes:
        if self._content is None:
            try:
                self._content = self.raw.read()
            except (OSError, http.client.HTTPException) as exc:
                raise body_failure(exc) from exc
        return self._content

    def iter_content(self) -> Iterator[bytes]:
        try:
            yield from self.raw.iter_content()
        except (OSError, http.client.HTTPException) as exc:
            raise body_failure(exc) from exc

    def close(self) -> None:
        self.raw.close()


def _guarded(conn_cls: type, trusted: TrustedHosts) -> type:
    """Return a connection class that refuses private, untrusted peer addresses."""

    class Guarded(conn_cls):  # type: ignore[misc, valid-type]
        def _new_conn(self):
            sock = super()._new_conn()
            peer = ipaddress.ip_address(sock.getpeername()[0].split("%", 1)[0])
            if not is_public_address(peer) and not trusted.trusts_ip(peer):
                sock.close()
                raise BlockedAddress(f"custom host resolved to a non-public address {peer}")
            return sock

    Guarded.__name__ = f"Guarded{conn_cls.__name__}"
    return Guarded


class GuardedAdapter(HTTPAdapter):
    """An adapter whose pools check every new connection's peer address."""

    def __init__(self, trusted: TrustedHosts, **kwargs: Any) -> None:
        self._trusted = trusted
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)

        class Http(HTTPConnectionPool):
            ConnectionCls = _guarded(HTTPConnection, self._trusted)

        class Https(HTTPSConnectionPool):
            ConnectionCls = _guarded(HTTPSConnection, self._trusted)

        self.poolmanager.pool_classes_by_scheme = {"http": Http, "https": Https}


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return monkey.is_module_patched("socket")


class UpstreamClient:
    """Own the worker's ``requests.Session`` and perform every upstream call."""

    def __init__(self, settings: Settings, trusted: TrustedHosts) -> None:
        self.settings = settings
        session = requests.Session()
        session.trust_env = False
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        session.headers = CaseInsensitiveDict({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})
        session.proxies = dict(settings.proxies)
        session.verify = settings.ca_bundle or True
        session.max_redirects = 0
        self._retries = Retry(total=1, connect=1, read=0, status=0, other=0, redirect=False, raise_on_status=False)
        pool = {
            "pool_connections": settings.pool_connections,
            "pool_maxsize": settings.pool_maxsize,
            "pool_block": False,
            "max_retries": self._retries,
        }
        # requests' plain adapters (urllib3) serve the calls that go through an outbound proxy
        self._adapter = HTTPAdapter(**pool)
        self._guarded = GuardedAdapter(trusted, **pool)
        self.fast = FastAdapter(
            trusted,
            ca_bundle=settings.ca_bundle,
            pool_connections=settings.pool_connections,
            pool_maxsize=settings.pool_maxsize,
            fallback=self._adapter,
        )
        session.mount("http://", self.fast)
        session.mount("https://", self.fast)
        self.session = session
        self._default_headers = dict(session.headers)
        self._patched = _gevent_patched()

    def close(self) -> None:
        """Close every pooled connection."""
        self.session.close()
        self.fast.close()
        self._guarded.close()

    @contextmanager
    def deadline(self, total: float | None) -> Iterator[None]:
        """Bound the block's duration to ``total`` seconds when the worker is gevent-patched."""
        if total is None or not self._patched:
            yield
            return
        import gevent

        with gevent.Timeout(total, UpstreamFailure("timeout", f"exceeded {total:g}s", total)):
            yield

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        stream: bool = False,
        timeout: Timeout,
        guard: bool = False,
    ) -> UpstreamResponse:
        """Send one request; return the response (body unread when ``stream``), or raise ``UpstreamFailure``.

        ``timeout.total`` bounds the whole exchange up to the response headers (and the body when
        not streaming) when the worker is gevent-patched; otherwise it caps the read timeout.
        """
        read = timeout.read if timeout.total is None else min(timeout.read, timeout.total)
        all_headers = dict(headers)
        present = {name.lower() for name in headers}
        for name, value in self._default_headers.items():
            if name.lower() not in present:
                all_headers[name] = value
        if body is not None and not isinstance(body, (bytes, bytearray)) and hasattr(body, "__len__"):
            all_headers["Content-Length"] = str(len(body))
        response: UpstreamResponse | None = None
        try:
            with self.deadline(timeout.total):
                if self.session.proxies:
                    adapter = self._guarded if guard else self._adapter
                    raw = self._via_proxy(adapter, method, url, all_headers, body, timeout.connect, read)
                    response = UpstreamResponse(raw)
                else:
                    fast = self.fast.open(
                        method,
                        url,
                        all_headers,
                        body,
                        connect_timeout=timeout.connect,
                        read_timeout=read,
                        guard=guard,
                    )
                    response = FastUpstreamResponse(fast)
                if not stream:
                    response.content  # noqa: B018 - read the body inside the deadline
        except BaseException as exc:
            if response is not None:
                response.close()
            failure = _failure(exc, timeout.connect, read)
            if failure is exc:
                raise
            raise failure from exc
        return response

    def _via_proxy(
        self,
        adapter: HTTPAdapter,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        connect: float,
        read: float,
    ) -> urllib3.BaseHTTPResponse:
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, headers=headers, data=body)
        response = adapter.send(
            prepared, stream=True, timeout=(connect, read), verify=self.session.verify, proxies=self.session.proxies
        )
        return response.raw


def _failure(exc: BaseException, connect: float, read: float) -> BaseException:
    """Map a transport exception to an ``UpstreamFailure`` (other exceptions are returned unchanged)."""
    if isinstance(exc, UpstreamFailure):
        return exc
    cause = _root(exc)
    if isinstance(cause, BlockedAddress):
        return UpstreamFailure("blocked", str(cause))
    if isinstance(cause, ConnectError):
        return UpstreamFailure("connect", str(cause))
    if isinstance(cause, ResponseCut):
        return UpstreamFailure("read", str(cause))
    # urllib3 2's NewConnectionError subclasses ConnectTimeoutError: a refused connection is no timeout
    if isinstance(cause, urllib3.exceptions.NewConnectionError) and not isinstance(cause.__cause__, TimeoutError):
        return UpstreamFailure("connect", _describe(cause))
    if isinstance(cause, urllib3.exceptions.ConnectTimeoutError) or isinstance(exc, requests.exceptions.ConnectTimeout):
        return UpstreamFailure("connect", f"connect timeout after {connect:g}s")
    if isinstance(cause, (urllib3.exceptions.ReadTimeoutError, TimeoutError)) or isinstance(
        exc, requests.exceptions.ReadTimeout
    ):
        return UpstreamFailure("timeout", f"no data for {read:g}s", read)
    if isinstance(
        cause,
        (
            urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.SSLError,
            urllib3.exceptions.NameResolutionError,
            ConnectionRefusedError,
        ),
    ):
        return UpstreamFailure("connect", _describe(cause))
    if isinstance(
        exc, (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError, http.client.HTTPException)
    ):
        return UpstreamFailure("read", _describe(cause))
    return exc


def body_failure(exc: BaseException) -> BodyFailure:
    """Map an error raised while reading a body: a read timeout is a stall, anything else a cut."""
    if isinstance(exc, BodyFailure):
        return exc
    if _is_timeout(exc):
        return BodyFailure("stall", "no data from the provider in time")
    return BodyFailure("cut", f"the connection to the provider was lost ({exc.__class__.__name__})")


def _is_timeout(exc: BaseException) -> bool:
    """Return whether a transport error (or one it wraps) is a read timeout."""
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 8:
        if isinstance(cur, (TimeoutError, urllib3.exceptions.ReadTimeoutError)):
            return True
        if "timed out" in str(cur):
            return True
        nested = next((a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)), None)
        cur = cur.__cause__ or cur.__context__ or nested
        seen += 1
    return False


def _root(exc: BaseException) -> BaseException:
    """Unwrap urllib3's ``MaxRetryError`` and requests' wrappers down to the transport error."""
    seen = 0
    while seen < 6:
        seen += 1
        reason = getattr(exc, "reason", None)
        if isinstance(reason, BaseException):
            exc = reason
            continue
        nested = next((a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)), None)
        if isinstance(exc, requests.exceptions.RequestException) and nested is not None:
            exc = nested
            continue
        break
    return exc


def _describe(exc: BaseException) -> str:
    """Return a short, secret-free description of a transport error."""
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    if "object at 0x" in text and ">: " in text:
        text = text.split(">: ", 1)[1]
    return text.strip("()'\" ")[:300] or exc.__class__.__name__
