"""Serve ``POST /v1/embeddings`` (OpenAI embeddings format)."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from translators.formats import schemas

bp = Blueprint("embeddings", __name__)


@bp.post("/v1/embeddings")
def embeddings() -> Response:
    """Validate an embeddings request and route it."""
    return dispatch(json_call("embed", "/embeddings", schemas.embedding))
