"""Serve ``GET /v1/models``: the provider's model list, passed through (or the Model Catalog's)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from gateway.catalog.listing import model_list
from gateway.web.incoming import stream_call
from gateway.web.render import dispatch, json_response
from gateway.web.state import current_state

bp = Blueprint("models", __name__)


@bp.get("/v1/models")
def models() -> Response:
    """Return the selected provider's ``/models`` answer; without one, the catalog's ``@slug/model`` list."""
    state = current_state()
    if state.catalog is not None and not (
        request.headers.get("x-portkey-provider") or request.headers.get("x-portkey-config")
    ):
        return json_response(model_list(state, request.environ.get("gateway.grant")))
    return dispatch(stream_call("proxy", "/models"))
