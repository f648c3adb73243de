"""Serve ``GET /v1/models``: the provider's model list, passed through."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import stream_call
from gateway.web.render import dispatch

bp = Blueprint("models", __name__)


@bp.get("/v1/models")
def models() -> Response:
    """Return the selected provider's ``/models`` answer."""
    return dispatch(stream_call("proxy", "/models"))
