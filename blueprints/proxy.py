"""Forward any other ``/v1/*`` request to the provider's base URL, bodies streamed both ways."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response

from gateway.web.incoming import stream_call
from gateway.web.render import dispatch

bp = Blueprint("proxy", __name__)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_SAFE = "/:@!$&'()*+,;=-._~"


@bp.route("/v1/proxy/<path:rest>", methods=METHODS)
@bp.route("/v1/<path:rest>", methods=METHODS)
def proxy(rest: str) -> Response:
    """Pass the request through to ``<provider base URL>/<rest>?<query>``."""
    return dispatch(stream_call("proxy", "/" + quote(rest, safe=_SAFE)))
