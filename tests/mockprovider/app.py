"""The mock provider's WSGI app: every provider wire protocol, fault switches and a request log.

Run: ``gunicorn -k gevent -w 1 -b 127.0.0.1:9000 tests.mockprovider.app:app``. Each module of
this package that defines a Flask blueprint ``bp`` (one per provider protocol) is registered.
Control: ``GET /_mock/requests?id=X`` (what each upstream received), ``GET /_mock/events?id=X``
(how streams ended), ``POST /_mock/reset``.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, request

import tests.mockprovider as package
from tests.mockprovider.common import EVENTS, REQUESTS, json_response, reset, snapshot
from tests.mockprovider.switches import parse


class SwitchPrefix:
    """WSGI middleware: move ``/s/<switches>`` out of the path into ``environ['mock.switches']``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        segment = ""
        if path.startswith("/s/"):
            segment, _, rest = path[3:].partition("/")
            environ["PATH_INFO"] = "/" + rest
        try:
            environ["mock.switches"] = parse(segment)
        except ValueError as exc:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        return self.app(environ, start_response)


flask_app = Flask(__name__)
app = SwitchPrefix(flask_app)

_protocols = []
for info in pkgutil.iter_modules(package.__path__):
    module = importlib.import_module(f"{package.__name__}.{info.name}")
    blueprint = getattr(module, "bp", None)
    if isinstance(blueprint, Blueprint):
        _protocols.append(blueprint)
# The OpenAI module has a catch-all /v1/<path> echo route: register it last.
for blueprint in sorted(_protocols, key=lambda bp: bp.name == "mock_openai"):
    flask_app.register_blueprint(blueprint)


def _compressed(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """Compress a body as it is sent, flushing after every chunk (a stream stays a stream)."""
    packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    for chunk in chunks:
        yield packer.compress(chunk) + packer.flush(zlib.Z_SYNC_FLUSH)
    yield packer.flush()


@flask_app.after_request
def content_encoding(response: Response) -> Response:
    """Apply the ``encoding`` switch: gzip or deflate the answer, JSON or stream."""
    encoding = request.environ["mock.switches"].encoding
    if encoding not in ("gzip", "deflate"):
        return response
    if response.is_streamed:
        response.response = _compressed(response.response, encoding)
    else:
        response.set_data(b"".join(_compressed([response.get_data()], encoding)))
    response.headers["Content-Encoding"] = encoding
    return response


@flask_app.get("/_mock/requests")
def mock_requests() -> Response:
    return json_response(snapshot(REQUESTS, request.args.get("id", "default")))


@flask_app.get("/_mock/events")
def mock_events() -> Response:
    return json_response(snapshot(EVENTS, request.args.get("id", "default")))


@flask_app.post("/_mock/reset")
def mock_reset() -> Response:
    reset()
    return json_response({})


@flask_app.get("/_mock/health")
def mock_health() -> Response:
    return json_response({"ok": True})
