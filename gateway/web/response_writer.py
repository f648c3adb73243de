"""How the gateway's gunicorn worker serves one request: the WSGI call, and a response that goes out
in as few writes as it can.

gunicorn's own ``Response`` sends the status line and headers, then each body chunk, with a ``sendall``
apiece (and gevent's ``sendall`` asks the kernel for the send buffer size each time, one more system
call). A proxied JSON answer is one body chunk, so ``OneWriteResponse`` holds the head back until that
first chunk and sends both in one ``send``; later chunks (a stream's events) go out one ``send`` each,
as they come, never held back. The ``Date`` header is formatted once per second, not per response.

``serve_request`` is the worker's request step (what gunicorn's async worker does: the ``pre_request``
and ``post_request`` hooks, ``max_requests``, keep-alive, the access log, closing a broken response's
connection) with this response class. Imports only gunicorn and the standard library.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime
from email.utils import formatdate
from typing import Any

from gunicorn.http import wsgi

from gateway.core.sockets import LAST_CHUNK, chunk, send_whole

_date = [0, ""]


def http_date() -> str:
    """The current time as an HTTP date, formatted once per second."""
    now = int(time.time())
    if now != _date[0]:
        _date[0], _date[1] = now, formatdate(now, usegmt=True)
    return _date[1]


class OneWriteResponse(wsgi.Response):
    """gunicorn's HTTP/1 response, with the head sent together with the first body chunk."""

    _held: bytes | None = None
    _holding = False

    def default_headers(self) -> list[str]:
        if self.upgrade:
            connection = "upgrade"
        elif self.should_close():
            connection = "close"
        else:
            connection = "keep-alive"
        version = self.req.version
        lines = [
            f"HTTP/{version[0]}.{version[1]} {self.status}\r\n",
            f"Server: {self.version}\r\n",
            f"Date: {http_date()}\r\n",
            f"Connection: {connection}\r\n",
        ]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
        return lines

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        lines = self.default_headers()
        lines += [f"{name}: {value}\r\n" for name, value in self.headers]
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        self.headers_sent = True
        if self._holding:
            self._held = head
        else:
            send_whole(self.sock, head)

    def write(self, arg: bytes) -> None:
        if self.headers_sent:
            super().write(arg)
            return
        self._holding = True
        try:
            super().write(arg)  # sends the head with this chunk (see _emit_body)
        finally:
            self._holding = False
            held, self._held = self._held, None
        if held is not None:  # no body went out with it (a HEAD answer, say)
            send_whole(self.sock, held)

    def _emit_body(self, data: bytes) -> None:
        if self.chunked:
            data = chunk(data)
        held, self._held = self._held, None
        send_whole(self.sock, held + data if held is not None else data)

    def close(self) -> None:
        if not self.headers_sent:
            self.send_headers()
        if self.chunked:
            send_whole(self.sock, LAST_CHUNK)


def serve_request(worker: Any, listener_name: Any, req: Any, sock: socket.socket, addr: Any) -> bool:
    """Serve one parsed request on ``sock``; raise ``StopIteration`` when the connection must close."""
    cfg = worker.cfg
    environ: dict[str, Any] = {}
    resp = None
    try:
        cfg.pre_request(worker, req)
        resp, environ = wsgi.create(req, sock, addr, listener_name, cfg, response_class=OneWriteResponse)
        environ["wsgi.multithread"] = True
        worker.nr += 1
        if worker.nr >= worker.max_requests and worker.alive:
            worker.log.info("Autorestarting worker after current request.")
            worker.alive = False
        if not worker.alive or not cfg.keepalive:
            resp.force_close()
        logged = worker.log.access_log_enabled
        started = datetime.now() if logged else None
        respiter = worker.wsgi(environ, resp.start_response)
        if worker.is_already_handled(respiter):
            return False
        try:
            if isinstance(respiter, environ["wsgi.file_wrapper"]):
                resp.write_file(respiter)
            else:
                for item in respiter:
                    resp.write(item)
            resp.close()
        finally:
            if logged:
                worker.log.access(resp, req, environ, datetime.now() - started)
            if hasattr(respiter, "close"):
                respiter.close()
        if resp.should_close():
            raise StopIteration()
    except (StopIteration, OSError):
        raise
    except (Exception, SystemExit):
        if resp is not None and resp.headers_sent:
            # Part of the response is on the wire: a second one would corrupt it, so the connection ends.
            worker.log.exception("Error handling request")
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
            raise StopIteration() from None
        raise
    finally:
        try:
            cfg.post_request(worker, req, environ, resp)
        except Exception:
            worker.log.exception("Exception in post_request hook")
    return True
