"""Azure OpenAI wire format: deployment and ``v1`` routes, plus Entra ID and managed-identity token routes.

Deployment routes (``/openai/deployments/<dep>/chat/completions|completions|embeddings``) need
the ``api-version`` query; ``/openai/v1/...`` routes need a body ``model``. Both need an
``api-key`` header or ``Authorization: Bearer <token>`` with a token this mock issued. Bodies
and streams are OpenAI's (``openai_wire``); errors use Azure's ``{"error": {"code", "message"}}``.
Token routes: ``POST /<tenant>/oauth2/v2.0/token`` (client credentials; the secret
``bad-secret`` is refused) and ``GET /metadata/identity/oauth2/token`` (needs ``Metadata: true``).
Point ``GATEWAY_AZURE_AUTHORITY_HOST`` / ``GATEWAY_AZURE_IMDS_ENDPOINT`` at them (a ``/s/id=X``
prefix records the token requests under ``X``).
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from flask import Blueprint, Response, request

from tests.mockprovider import openai_wire
from tests.mockprovider.common import begin, json_body, json_response, record, sse_frames, stream, switches

bp = Blueprint("mock_azure", __name__)

_lock = threading.Lock()
_counter = itertools.count(1)
ISSUED: set[str] = set()
DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an "
    "active subscription and use a correct regional API endpoint for your resource."
)


def error_body(status: int, message: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code or str(status), "message": message or f"mock failure {status}"}}


def _issue(prefix: str) -> str:
    token = f"{prefix}-{next(_counter)}"
    with _lock:
        ISSUED.add(token)
    return token


def _auth_problem() -> Response | None:
    if request.headers.get("api-key"):
        return None
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        with _lock:
            known = auth[7:] in ISSUED
        if known:
            return None
        return json_response(error_body(401, "Bearer token is invalid or expired", "PermissionDenied"), 401)
    return json_response(error_body(401, DENIED), 401)


def _answer(kind: str, body: dict[str, Any]) -> Response:
    sw = switches()
    events: list[bytes]
    if kind == "embeddings":
        return json_response(openai_wire.embeddings(body), headers={"apim-request-id": "mock-apim"})
    if kind == "completions":
        if body.get("stream") is True:
            events = openai_wire.completion_stream(body, sw)
            return stream(sw, sse_frames(sw, [(None, e) for e in events]))
        return json_response(openai_wire.completion(body, sw))
    if body.get("stream") is True:
        events = openai_wire.chat_stream(body, sw)
        return stream(sw, sse_frames(sw, [(None, e) for e in events]))
    return json_response(openai_wire.chat_completion(body, sw), headers={"apim-request-id": "mock-apim"})


_KINDS = {"chat/completions": "chat", "completions": "completions", "embeddings": "embeddings"}


@bp.post("/openai/deployments/<deployment>/<path:rest>")
def deployment_call(deployment: str, rest: str) -> Response:
    sw = switches()
    raw, body = json_body()
    failure = begin(sw, raw, error_body)
    if failure is not None:
        return failure
    if rest not in _KINDS:
        return json_response(error_body(404, "Resource not found", "404"), 404)
    if not request.args.get("api-version"):
        return json_response(error_body(404, "Resource not found", "404"), 404)
    problem = _auth_problem()
    if problem is not None:
        return problem
    return _answer(_KINDS[rest], body)


@bp.post("/openai/v1/<path:rest>")
def v1_call(rest: str) -> Response:
    sw = switches()
    raw, body = json_body()
    failure = begin(sw, raw, error_body)
    if failure is not None:
        return failure
    if rest not in _KINDS:
        return json_response(error_body(404, "Resource not found", "404"), 404)
    problem = _auth_problem()
    if problem is not None:
        return problem
    if not body.get("model"):
        return json_response(error_body(400, "model is required", "BadRequest"), 400)
    return _answer(_KINDS[rest], body)


def _token_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


@bp.post("/<tenant>/oauth2/v2.0/token")
def entra_token(tenant: str) -> Response:
    sw = switches()
    record(sw, request.get_data())
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return _token_error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type")
    if not form.get("client_id") or not form.get("scope"):
        return _token_error(400, "invalid_request", "AADSTS900144: client_id and scope are required")
    if form.get("client_secret") in (None, "", "bad-secret"):
        return _token_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    token = _issue(f"entra-{tenant}")
    return json_response({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})


@bp.get("/metadata/identity/oauth2/token")
def managed_token() -> Response:
    sw = switches()
    record(sw, b"")
    if request.headers.get("Metadata") != "true":
        return _token_error(400, "invalid_request", "Required metadata header not specified")
    if not request.args.get("api-version") or not request.args.get("resource"):
        return _token_error(400, "invalid_request", "api-version and resource are required")
    token = _issue("managed")
    expires_on = str(int(time.time()) + 86399)
    return json_response(
        {
            "access_token": token,
            "expires_in": "86399",
            "expires_on": expires_on,
            "resource": request.args["resource"],
            "token_type": "Bearer",
            "client_id": request.args.get("client_id", "system-assigned"),
        }
    )
