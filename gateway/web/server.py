"""gunicorn classes for the gateway: a gevent worker that holds slow clients to deadlines, JSON
rejection pages, and an access log that never writes a secret.

``gunicorn.conf.py`` names them (``worker_class``, ``logger_class``). The module imports only
gunicorn and gevent at import time (the master loads it before a worker monkey-patches), never
the app, ``requests``, ``urllib3`` nor ``ssl``-using code of the gateway.

``GatewayWorker`` (a ``GeventWorker``):

* **header-read deadline**: a new connection must deliver its first request head within
  ``header_timeout`` seconds (``GATEWAY_HEADER_TIMEOUT``, default 10), however slowly it trickles
  bytes; between keep-alive requests it may idle for ``keepalive`` seconds as before.
* **idle bound**: connections waiting for a request head (new, or kept alive between requests) give
  way to new ones. When a connection starts waiting while the worker's open connections are within
  ``headroom`` (a tenth of ``worker_connections``) of its limit, or while ``max_idle`` connections
  (``GATEWAY_MAX_IDLE_CONNECTIONS``, default no cap beyond that) already wait, the one waiting longest
  is closed. Held-open sockets therefore never fill the worker's connection pool (a full pool stops
  gunicorn accepting, and new requests would queue behind them); connections inside a request are
  never touched, and nothing is closed while the worker has room.
* **one write per answer**: a request is served by ``response_writer.serve_request``, whose response
  sends the head together with the first body chunk.
* **turns**: after each answer on a kept-alive connection the greenlet waits for the next turn of
  the event loop before reading that connection's next request. A gevent socket read that finds its
  bytes already there does not yield, so without this a busy connection whose next request and
  upstream answer were always ready kept the worker to itself: measured with a greenlet switch
  tracer under wrk at concurrency 32, single turns served up to 66 requests (23 ms CPU) while the
  worker's other connections waited, and p99 was 47 ms against a median of 6. With turns,
  ``bench/run.py`` printed p99 at concurrency 32 of 21.6 to 23.3 ms (the reference's 29.7 to 34.5 in
  the same runs), and no added p50 at concurrency 1.
* **JSON rejections**: gunicorn answers requests it cannot parse (bad request line, bad or
  duplicate framing headers, a header over ``limit_request_field_size``: 400, 414, 431, ...) itself,
  before the app sees them, with an HTML page. The worker writes the gateway's documented error
  shape instead (``{"status": "failure", "message", "error": {...}}`` with
  ``x-portkey-error-origin: gateway``), naming the limit but never echoing what the client sent.

``RedactingLogger`` replaces the values of known secret query parameters (``key``, ``api_key``,
``access_token``, ``X-Amz-Signature``, ...) with ``REDACTED`` in every access-log atom that holds
the query string (``%(r)s``, ``%(q)s``, ``{raw_uri}e``, ...), and the values of credential headers.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import OrderedDict

import gevent
from gevent import getcurrent
from gunicorn import glogging, util
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidHeader,
    InvalidRequestLine,
)
from gunicorn.workers.ggevent import GeventWorker

from gateway.core.safelog import describe
from gateway.web.response_writer import serve_request

#: Query parameter names whose values never reach the access log (compared case-insensitively).
SECRET_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "api-key",
        "apikey",
        "access_token",
        "token",
        "id_token",
        "refresh_token",
        "client_secret",
        "secret",
        "password",
        "sig",
        "signature",
        "code",
        "auth",
        "authorization",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "x-portkey-api-key",
    }
)
#: Request headers whose values never reach the access log.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-portkey-api-key",
        "x-portkey-config",
        "cookie",
        "x-portkey-aws-secret-access-key",
        "x-portkey-aws-session-token",
        "x-portkey-azure-ad-token",
        "x-portkey-vertex-service-account-json",
    }
)
REDACTED = "REDACTED"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_PARAM = re.compile(r"(^|[?&;])([^=&;#?/\s]+)=([^&;#\s]*)")

#: The message per status gunicorn rejects with (the gateway's words, never the client's bytes).
_MESSAGES = {
    400: "Malformed HTTP request: the request line or a header could not be parsed",
    403: "Request forbidden",
    414: "Request line too long: the URL may be at most {line} bytes",
    417: "Expectation failed",
    431: "Request header fields too large: one header may be at most {field} bytes, at most {fields} headers",
    501: "Unsupported transfer coding",
}
_CODES = {414: "uri_too_long", 431: "headers_too_large", 501: "unsupported_transfer_coding"}


def redact_query(text: str | None) -> str | None:
    """Return ``text`` (a query string or a URI) with the values of secret parameters replaced."""
    if not text or "=" not in text:
        return text

    def swap(match: re.Match[str]) -> str:
        name = match.group(2)
        if name.lower() in SECRET_PARAMS or name.lower().removeprefix("amp;") in SECRET_PARAMS:
            return f"{match.group(1)}{name}={REDACTED}"
        return match.group(0)

    return _PARAM.sub(swap, text)


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with secret query parameters and credential headers redacted in access lines,
    and exceptions (an error escaping the app mid-response, say) logged as class and frames only."""

    def exception(self, msg, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.pop("exc_info", None)
        exc = sys.exc_info()[1]
        safe_args = tuple(redact_query(a) if isinstance(a, str) else a for a in args)
        if exc is None:
            self.error_log.error(msg, *safe_args, **kwargs)
        else:
            self.error_log.error(str(msg) + "\n%s", *safe_args, describe(exc), **kwargs)

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q", "{raw_uri}e", "{query_string}e", "{request_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_query(atoms[key])
        for name in SECRET_HEADERS:
            for key in (f"{{{name}}}i", "{http_" + name.replace("-", "_") + "}e"):
                if key in atoms:
                    atoms[key] = REDACTED
        return atoms


def json_error_page(status_int: int, reason: str, limits: dict[str, int]) -> bytes:
    """Return the full HTTP response gunicorn sends for a request it rejects, as gateway JSON."""
    message = _MESSAGES.get(status_int, reason).format(**limits)
    error_type = "invalid_request_error" if 400 <= status_int < 500 else "gateway_error"
    body = json.dumps(
        {
            "status": "failure",
            "message": message,
            "error": {"message": message, "type": error_type, "param": None, "code": _CODES.get(status_int)},
        },
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "x-portkey-error-origin: gateway\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def next_turn() -> None:
    """Wait for the event loop's next turn: after it has polled every socket (without blocking) and
    run what was ready.

    A timer of 0 s is already due, so the loop polls with no timeout and fires it in its next turn.
    ``gevent.sleep(0)`` would resume before the poll (sockets whose bytes have arrived would still
    wait); ``gevent.sleep`` of any time above 0 rounds the loop's poll up to libev's 1 ms minimum,
    which a lone client would wait for after every answer.
    """
    hub = gevent.get_hub()
    timer = hub.loop.timer(0)
    try:
        hub.wait(timer)
    finally:
        timer.close()


class _Waiting:
    """One connection waiting for its next request head; ``close`` ends the wait at once."""

    __slots__ = ("active", "glet", "timeout")

    def __init__(self, seconds: float) -> None:
        self.glet = getcurrent()
        self.timeout = gevent.Timeout(seconds, False)
        self.active = False

    def close(self) -> None:
        """Cut the wait short: from the hub, throw the wait's own timeout into the waiting greenlet."""
        self.timeout.close()
        gevent.get_hub().loop.run_callback(self._fire)

    def _fire(self) -> None:
        # Runs in the hub; the greenlet may have got its request head meanwhile, then nothing happens.
        if self.active:
            self.glet.throw(self.timeout)


class GatewayWorker(GeventWorker):
    """gevent worker with a header-read deadline, a bound on idle connections and JSON rejection pages."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.header_timeout = float(os.environ.get("GATEWAY_HEADER_TIMEOUT") or 10)
        self.max_idle = max(1, int(os.environ.get("GATEWAY_MAX_IDLE_CONNECTIONS") or self.worker_connections))
        self.headroom = max(1, self.worker_connections // 10)
        #: Connections this worker is handling (waiting or inside a request).
        self._open = 0
        #: Connections waiting for a request head, oldest first (greenlet -> wait).
        self._waiting: OrderedDict[object, _Waiting] = OrderedDict()
        #: Greenlets whose connection has not delivered its first request yet.
        self._fresh: set[object] = set()

    def init_process(self) -> None:
        limits = {
            "line": self.cfg.limit_request_line,
            "field": self.cfg.limit_request_field_size,
            "fields": self.cfg.limit_request_fields,
        }

        def write_error(sock, status_int, reason, mesg):  # type: ignore[no-untyped-def]
            util.write_nonblock(sock, json_error_page(status_int, reason, limits))

        # ``Worker.handle_error`` is gunicorn's only caller of ``util.write_error``; this process serves
        # nothing but the gateway, so its rejection pages become JSON.
        util.write_error = write_error
        super().init_process()

    def handle_error(self, req, client, addr, exc):  # type: ignore[no-untyped-def]
        if req is None and isinstance(exc, (InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension)):
            # Raised while gunicorn drained a body the app had already answered (a 400): just close.
            self.log.debug("closing after a malformed chunked body")
            return
        # gunicorn logs the offending request line or header line: keep secrets out of the log.
        if isinstance(exc, InvalidRequestLine):
            exc.req = redact_query(str(exc.req))
        elif isinstance(exc, InvalidHeader) and not _HEADER_NAME.match(str(exc.hdr)):
            exc.hdr = f"<a header line of {len(str(exc.hdr))} characters, withheld>"
        super().handle_error(req, client, addr, exc)

    def handle(self, listener, client, addr):  # type: ignore[no-untyped-def]
        glet = getcurrent()
        self._fresh.add(glet)
        self._open += 1
        try:
            super().handle(listener, client, addr)
        finally:
            self._open -= 1
            self._fresh.discard(glet)

    def handle_request(self, listener_name, req, sock, addr):  # type: ignore[no-untyped-def]
        try:
            kept = serve_request(self, listener_name, req, sock, addr)
            if kept:
                next_turn()
            return kept
        except (gevent.GreenletExit, SystemExit):  # the worker is stopping, or a request hit its timeout
            return False

    def timeout_ctx(self):  # type: ignore[no-untyped-def]
        glet = getcurrent()
        if glet in self._fresh:
            self._fresh.discard(glet)
            seconds = min(self.header_timeout, self.cfg.keepalive or self.header_timeout)
        else:
            seconds = self.cfg.keepalive
        return _WaitContext(self, glet, seconds)

    def _start_waiting(self, glet: object, wait: _Waiting) -> None:
        crowded = self.worker_connections - self.headroom
        evict = max(len(self._waiting) + 1 - self.max_idle, self._open - crowded if self._open >= crowded else 0)
        for _ in range(min(evict, len(self._waiting))):
            _, oldest = self._waiting.popitem(last=False)
            oldest.close()
        self._waiting[glet] = wait


class _WaitContext:
    """``with worker.timeout_ctx(): req = next(parser)``: a deadline that the idle bound can cut short."""

    def __init__(self, worker: GatewayWorker, glet: object, seconds: float) -> None:
        self.worker = worker
        self.glet = glet
        self.wait = _Waiting(seconds)

    def __enter__(self) -> _WaitContext:
        self.worker._start_waiting(self.glet, self.wait)
        self.wait.active = True
        self.wait.timeout.start()
        return self

    def __exit__(self, typ, value, tb) -> bool:  # type: ignore[no-untyped-def]
        self.wait.active = False
        self.wait.timeout.close()
        if self.worker._waiting.get(self.glet) is self.wait:
            del self.worker._waiting[self.glet]
        return value is self.wait.timeout
