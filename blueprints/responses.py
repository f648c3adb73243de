"""Serve the OpenAI Responses format: create, retrieve, delete and list input items."""

from __future__ import annotations

from flask import Blueprint, Response, request

from gateway.web.render import dispatch, json_response
from gateway.web.responses_calls import input_items_page, not_found, provider_keeps_responses, response_call, stored
from gateway.web.state import current_state
from gateway.web.upload_calls import bare_call

bp = Blueprint("responses", __name__)


@bp.post("/v1/responses")
def create() -> Response:
    """Create a response with any provider."""
    return dispatch(response_call())


@bp.get("/v1/responses/<response_id>")
def retrieve(response_id: str) -> Response:
    """Return a stored response, or ask the provider (OpenAI keeps its own)."""
    _, record = stored(current_state(), response_id)
    if record is not None:
        return json_response(record["response"])
    return _from_provider(response_id)


@bp.delete("/v1/responses/<response_id>")
def delete(response_id: str) -> Response:
    """Delete a stored response, or ask the provider to."""
    state = current_state()
    tenant, record = stored(state, response_id)
    if record is not None and state.responses_store().delete(tenant, response_id):
        return json_response({"id": response_id, "object": "response", "deleted": True})
    return _from_provider(response_id)


@bp.get("/v1/responses/<response_id>/input_items")
def input_items(response_id: str) -> Response:
    """List a stored response's input items, or ask the provider."""
    _, record = stored(current_state(), response_id)
    if record is not None:
        return json_response(input_items_page(record))
    return _from_provider(response_id)


def _from_provider(response_id: str) -> Response:
    if not provider_keeps_responses(current_state()):
        raise not_found(response_id)
    return dispatch(bare_call("retrieveResponse", request.path[request.path.index("/responses") :]))
