"""Answer liveness (``GET /``) and health (``GET /healthz``) checks."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.core.version import VERSION as __version__
from gateway.web.render import json_response
from gateway.web.state import current_state

bp = Blueprint("health", __name__)


@bp.get("/")
def liveness() -> Response:
    """Return the reference gateway's liveness text."""
    return Response("AI Gateway says hey!", content_type="text/plain")


@bp.get("/healthz")
def healthz() -> Response:
    """Return the gateway's health as JSON."""
    state = current_state()
    return json_response({"status": "ok", "version": __version__, "providers": len(state.registry)})
