"""Serve ``POST /v1/completions`` (OpenAI legacy completions format, JSON or SSE)."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from translators.formats import schemas

bp = Blueprint("completions", __name__)


@bp.post("/v1/completions")
def completions() -> Response:
    """Validate a completion request and route it."""
    return dispatch(json_call("complete", "/completions", schemas.completion))
