"""Send requests to providers over one pooled ``requests.Session`` per worker.

Policy lives here (timeouts, cookies off, proxies and CA bundle resolved once, connect-only
adapter retries); transport stays in requests' ``HTTPAdapter``. A second adapter guards
operator-untrusted custom hosts: it checks the *connected* peer address, so a public name
resolving to a private address is refused (the hostname check alone misses DNS rebinding).
Failures are raised as ``UpstreamFailure`` with a ``kind`` the routing engine maps to statuses.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from gateway.settings import Settings
from gateway.ssrf import TrustedHosts, is_public_address

log = logging.getLogger("gateway.upstream")

USER_AGENT = "portkey-flask-gateway"


class UpstreamFailure(Exception):
    """A request that produced no HTTP response: ``kind`` is ``connect``, ``timeout``, ``blocked`` or ``read``."""

    def __init__(self, kind: str, detail: str, seconds: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.seconds = seconds


class BlockedAddress(OSError):
    """A connection whose peer address is private and not trusted."""


@dataclass(frozen=True)
class Timeout:
    """Connect and read (between bytes) timeouts in seconds, plus an optional total deadline."""

    connect: float
    read: float
    total: float | None = None


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
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


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
        retries = Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0, raise_on_status=False)
        pool = {
            "pool_connections": settings.pool_connections,
            "pool_maxsize": settings.pool_maxsize,
            "pool_block": False,
            "max_retries": retries,
        }
        adapter = HTTPAdapter(**pool)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session
        self._guarded = GuardedAdapter(trusted, **pool)
        self._patched = _gevent_patched()

    def close(self) -> None:
        """Close every pooled connection."""
        self.session.close()
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
    ) -> requests.Response:
        """Send one request; return the response (body unread when ``stream``), or raise ``UpstreamFailure``.

        ``timeout.total`` bounds the whole exchange up to the response headers (and the body when
        not streaming) when the worker is gevent-patched; otherwise it caps the read timeout.
        """
        read = timeout.read if timeout.total is None else min(timeout.read, timeout.total)
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, headers=headers, data=body)
        response = None
        try:
            with self.deadline(timeout.total):
                if guard and not self.session.proxies:
                    response = self._guarded.send(
                        prepared, stream=True, timeout=(timeout.connect, read), verify=self.session.verify
                    )
                else:
                    response = self.session.send(
                        prepared, stream=True, timeout=(timeout.connect, read), allow_redirects=False
                    )
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


def _failure(exc: BaseException, connect: float, read: float) -> BaseException:
    """Map a transport exception to an ``UpstreamFailure`` (other exceptions are returned unchanged)."""
    if isinstance(exc, UpstreamFailure):
        return exc
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return UpstreamFailure("connect", f"connect timeout after {connect:g}s")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return UpstreamFailure("timeout", f"no data for {read:g}s", read)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _classify(exc, read)
    if isinstance(exc, requests.exceptions.RequestException):
        return UpstreamFailure("read", _describe(exc))
    return exc


def _classify(exc: BaseException, read: float) -> UpstreamFailure:
    """Map a requests ``ConnectionError`` to an ``UpstreamFailure`` kind."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, BlockedAddress):
            return UpstreamFailure("blocked", str(cur))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            if isinstance(reason, BlockedAddress):
                return UpstreamFailure("blocked", str(reason))
            if "Read timed out" in str(reason):
                return UpstreamFailure("timeout", f"no data for {read:g}s", read)
        args = getattr(cur, "args", ())
        nxt = next((a for a in args if isinstance(a, BaseException)), None)
        cur = nxt or cur.__cause__ or cur.__context__
    return UpstreamFailure("connect", _describe(exc))


def _describe(exc: BaseException) -> str:
    """Return a short, secret-free description of a transport error."""
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:300] or exc.__class__.__name__
