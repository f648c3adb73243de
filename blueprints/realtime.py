"""Serve ``GET /v1/realtime``: a WebSocket session relayed to OpenAI or Azure OpenAI.

Everything that can fail before the upgrade (headers, config, custom host, key, the upstream's
own handshake) raises and is answered as JSON by the gateway's error handlers. Once the upstream
is connected the view returns a response object that, when the server calls it, answers 101 on
the raw gunicorn socket, relays until both sides close, then ends the connection by raising
``StopIteration`` - gunicorn's signal to close a connection without writing a response.

The relay (wsproto, h11: about 1 MB of a worker's memory) loads with the first session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from gateway.web.incoming import request_headers, request_options
from gateway.web.state import current_state

if TYPE_CHECKING:
    from gateway.realtime.session import Session

bp = Blueprint("realtime", __name__)


class SessionClosed(StopIteration):
    """Raised to gunicorn after a realtime session: close the connection, write nothing."""


class SessionResponse(Response):
    """A response whose WSGI call runs the realtime session instead of sending a body."""

    def __init__(self, session: Session) -> None:
        super().__init__(status=101)
        self.session = session

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.session.run()
        raise SessionClosed("realtime session ended")


@bp.get("/v1/realtime", websocket=True)  # Werkzeug routes upgrade requests only to websocket rules
@bp.get("/v1/realtime")  # a plain GET is answered 426
def realtime_session() -> Response:
    """Open a realtime WebSocket session with the provider named by the headers or config."""
    from gateway.realtime import session as realtime

    headers = request_headers()
    options = request_options(headers)
    query = request.query_string.decode("latin-1")
    target = request.path + (f"?{query}" if query else "")
    return SessionResponse(realtime.open_session(current_state(), request.environ, headers, options, target, query))
