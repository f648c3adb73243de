"""Assemble the gateway's endpoint blueprints into one mountable parent blueprint.

The parent carries the error handlers, so the host app's own error pages stay untouched.
When it is registered under a prefix it also answers unknown paths below that prefix with
a JSON 404 (registered at the root, it leaves the host's 404 page alone).
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

from gateway.core import wsgi_headers
from gateway.core.errors import BadRequest, GatewayError, ProviderError, Unauthorized
from gateway.core.safelog import log_unexpected
from gateway.observability import flask_hooks as observability
from gateway.stores import redis_budget
from gateway.web.render import error_response, json_response, trace_id
from gateway.web.state import GatewayState, current_state, install_state

log = logging.getLogger("gateway")


def not_found_response() -> Response:
    """Return the gateway's JSON 404."""
    return json_response(
        {"status": "failure", "message": "Not Found", "ok": False}, 404, [("x-portkey-error-origin", "gateway")]
    )


def _http_error(exc: HTTPException) -> Response:
    if exc.code == 404:
        return not_found_response()
    code = exc.code or 500
    message = exc.description or exc.name
    if code == 413:
        message = "Request body is too large"
    return error_response(GatewayError(message, status_code=code))


def _client_framing_error(exc: Exception) -> bool:
    """Whether ``exc`` is the WSGI server's complaint about the request body's framing (bad chunked encoding)."""
    try:
        from gunicorn.http.errors import NoMoreData, ParseException
    except ImportError:  # served by another WSGI server
        return False
    return isinstance(exc, (ParseException, NoMoreData))


def _unexpected(exc: Exception) -> Response:
    if _client_framing_error(exc):
        return error_response(
            BadRequest("Invalid request body: the chunked transfer encoding is malformed", code="invalid_body")
        )
    log_unexpected(log, exc, "unhandled error serving a gateway request (trace id %s)", trace_id())
    return error_response(GatewayError("Something went wrong", status_code=500))


def _catch_all(path: str) -> Response:
    return not_found_response()


def _add_catch_all(state: BlueprintSetupState) -> None:
    if state.url_prefix and state.url_prefix.strip("/"):
        state.add_url_rule("/<path:path>", "not_found", _catch_all, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])


def _before() -> Response | None:
    """Every gateway request: start its observation (first: refused requests are recorded too), check its
    gateway key, open its Redis time account. One hook rather than three: Flask's per-hook cost is paid once."""
    state = current_state()
    observability.begin(state)
    refused = _check_gateway_key(state)
    if refused is not None:
        return refused
    redis_budget.start_request()
    return None


def _check_gateway_key(state: GatewayState) -> Response | None:
    """Require a gateway key: a catalog key when the catalog has ``[keys]`` (``gateway.catalog.keys``;
    the grant is kept in ``request.environ["gateway.grant"]``), else one of ``GATEWAY_API_KEYS`` in
    ``x-portkey-api-key`` when those are set. Health checks and metrics are exempt, and so is the
    console, which has its own admin token."""
    keys = state.settings.api_keys
    if (request.blueprint or "").endswith((".health", ".metrics", ".console")):
        return None
    if state.catalog is not None and state.catalog.requires_key:  # catalog keys (GATEWAY_API_KEYS still accepted)
        try:
            request.environ["gateway.grant"] = state.catalog.authenticate(wsgi_headers.items(request.environ))
        except Unauthorized as error:
            return error_response(error)
        return None
    if not keys:
        return None
    offered = (wsgi_headers.lowered(request.environ).get("x-portkey-api-key") or "").encode()
    if any(hmac.compare_digest(offered, key.encode()) for key in keys):
        return None
    return error_response(Unauthorized("A valid gateway key is required in x-portkey-api-key", code="invalid_api_key"))


def make_blueprint(name: str = "gateway") -> Blueprint:
    """Return a blueprint serving every gateway route; register it with any ``url_prefix``.

    The app must also be initialised with ``Gateway().init_app(app)``; registering the
    blueprint does that automatically when it has not been done.
    """
    from blueprints import (
        audio,
        batches,
        chat,
        completions,
        embeddings,
        files,
        fine_tuning,
        health,
        images,
        messages,
        metrics,
        models,
        moderations,
        proxy,
        realtime,
        responses,
    )
    from gateway.console import views as console

    parent = Blueprint(name, __name__)
    children = (
        health,
        chat,
        completions,
        embeddings,
        messages,
        responses,
        images,
        audio,
        files,
        batches,
        fine_tuning,
        moderations,
        realtime,
        models,
        metrics,
        proxy,
        console,
    )
    for child in (module.bp for module in children):
        parent.register_blueprint(child)
    parent.register_error_handler(GatewayError, error_response)
    parent.register_error_handler(ProviderError, error_response)
    parent.register_error_handler(HTTPException, _http_error)
    parent.register_error_handler(Exception, _unexpected)
    parent.before_request(_before)
    parent.after_request(observability.after)
    parent.record(_add_catch_all)
    parent.record_once(_ensure_initialised)
    return parent


def _ensure_initialised(state: BlueprintSetupState) -> None:
    if "gateway" not in state.app.extensions:
        install_state(state.app)
