"""Serve ``/v1/images/generations`` (JSON), ``/v1/images/edits`` and ``/v1/images/variations`` (multipart)."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from gateway.web.upload_calls import upload_call
from translators.formats import endpoint_schemas

bp = Blueprint("images", __name__)


@bp.post("/v1/images/generations")
def generations() -> Response:
    """Generate images."""
    return dispatch(json_call("imageGenerate", "/images/generations", endpoint_schemas.image_generation))


@bp.post("/v1/images/edits")
def edits() -> Response:
    """Edit an uploaded image."""
    return dispatch(upload_call("imageEdit", "/images/edits", files=("image",), fields=("prompt",)))


@bp.post("/v1/images/variations")
def variations() -> Response:
    """Make variations of an uploaded image."""
    return dispatch(upload_call("imageVariation", "/images/variations", files=("image",)))
