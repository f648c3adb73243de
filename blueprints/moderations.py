"""Serve ``POST /v1/moderations``."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from translators.formats import endpoint_schemas

bp = Blueprint("moderations", __name__)


@bp.post("/v1/moderations")
def moderations() -> Response:
    """Classify text (and images) for policy violations."""
    return dispatch(json_call("moderate", "/moderations", endpoint_schemas.moderation))
