"""Serve the merged metrics on an address of their own: ``python -m gateway.observability.metrics_server HOST:PORT``.

Started by ``gunicorn.conf.py`` when ``GATEWAY_METRICS_BIND`` is set (then the app's ``/metrics``
answers 404), so metrics can be bound to an internal interface only. It reads the same
``PROMETHEUS_MULTIPROC_DIR`` as the workers. ``GATEWAY_ADMIN_TOKEN`` (from the environment or the
``GATEWAY_CONFIG_FILE``), when set, is required here too.
"""

from __future__ import annotations

import hmac
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from gateway.core.settings import from_env, from_file
from gateway.observability.metrics import render


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def admin_token() -> str:
    """The admin token as the gateway reads it: the settings file, then the environment."""
    config_file = os.environ.get("GATEWAY_CONFIG_FILE")
    settings = {**(from_file(config_file) if config_file else {}), **from_env()}
    return str(settings.get("GATEWAY_ADMIN_TOKEN") or "")


TOKEN = ""


def app(environ: dict, start_response) -> list[bytes]:
    """A WSGI app answering ``GET /metrics`` only."""
    if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    token = TOKEN
    offered = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
    if token and not hmac.compare_digest(offered.encode(), token.encode()):
        start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
        return [b"a valid admin token is required\n"]
    body, content_type = render()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def main(argv: list[str]) -> int:
    global TOKEN
    TOKEN = admin_token()
    host, _, port = argv[1].rpartition(":")
    server = make_server(host or "127.0.0.1", int(port), app, handler_class=_Quiet)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
