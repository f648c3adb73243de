"""Route a ``Call`` and turn its result into a Flask response.

``dispatch`` compiles the routing plan and routes the call; ``render`` converts the answer to
the client's API format and adds the gateway's ``x-portkey-*`` headers. Responses are
serialised with orjson, never through the host app's JSON provider.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, has_request_context, request

from gateway.core.call import Call
from gateway.core.errors import GatewayError, ProviderError
from gateway.core.options import new_trace_id
from gateway.core.result import Result
from gateway.observability.flask_hooks import watch
from gateway.web.state import GatewayState, current_state
from translators.formats import messages as messages_api


def dispatch(call: Call, state: GatewayState | None = None) -> Response:
    """Route ``call`` through its plan and render the answer."""
    state = state or current_state()
    observation = watch(call)
    if state.catalog is not None:
        grant = request.environ.get("gateway.grant") if has_request_context() else None
        result = state.catalog.route(state, call, grant)
    else:
        result = state.router(call).route(state.plans.plan(call.options))
    if observation is not None:
        result = observation.answered(result)
    return render(result, call)


def with_unmapped(headers: list[tuple[str, str]], names: list[str]) -> list[tuple[str, str]]:
    """Add ``names`` to the ``x-portkey-unmapped-params`` header (one header, no name twice)."""
    kept, listed = [], []
    for name, value in headers:
        if name.lower() == "x-portkey-unmapped-params":
            listed.extend(v.strip() for v in value.split(",") if v.strip())
        else:
            kept.append((name, value))
    merged = list(dict.fromkeys(listed + names))
    return kept + [("x-portkey-unmapped-params", ",".join(merged))]


def portkey_headers(result: Result, call: Call) -> list[tuple[str, str]]:
    """Return the ``x-portkey-*`` response headers for ``result``."""
    headers = [
        ("x-portkey-trace-id", call.options.trace_id),
        ("x-portkey-last-used-option-index", result.path),
        ("x-portkey-retry-attempt-count", str(result.retry_count)),
        ("x-portkey-cache-status", result.cache_status),
    ]
    if result.provider:
        headers.append(("x-portkey-provider", result.provider))
    if result.gateway_exception:
        headers.append(("x-portkey-gateway-exception", "true"))
    if result.error_origin and result.status >= 400:
        headers.append(("x-portkey-error-origin", result.error_origin))
    return headers


def for_client(result: Result, call: Call) -> Result:
    """Convert a chat-format body (answer or error) to the client's API format."""
    if call.format is None or result.stream is not None or result.native_format or not result.body:
        return result
    try:
        body = orjson.loads(result.body)
    except orjson.JSONDecodeError:
        return result
    if result.status >= 400:
        converted = call.format.error(result.status, body)
    elif isinstance(body, dict) and body.get("object") == "chat.completion":
        converted = call.format.success(body)
    else:
        return result
    if isinstance(body, dict) and "hook_results" in body and isinstance(converted, dict):
        converted["hook_results"] = body["hook_results"]
    result.body = orjson.dumps(converted)
    result.content_type = "application/json"
    return result


def render(result: Result, call: Call) -> Response:
    """Build the Flask response for ``result`` (in the client's API format)."""
    result = for_client(result, call)
    headers = result.headers + portkey_headers(result, call)
    if call.unmapped and not result.native_format:
        headers = with_unmapped(headers, call.unmapped)
    if result.stream is not None:
        return Response(
            result.stream,
            status=result.status,
            headers=headers,
            content_type=result.content_type,
            direct_passthrough=True,
        )
    return Response(result.body or b"", status=result.status, headers=headers, content_type=result.content_type)


def json_response(payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    """Return ``payload`` serialised with orjson."""
    return Response(orjson.dumps(payload), status=status, headers=headers, content_type="application/json")


def error_response(error: GatewayError | ProviderError) -> Response:
    """Render a gateway or provider error raised outside the routing engine."""
    origin = error.origin if isinstance(error, ProviderError) else "gateway"
    headers = [("x-portkey-error-origin", origin), ("x-portkey-trace-id", trace_id())]
    headers += list(error.headers.items())
    body = error.to_dict()
    if (request.blueprint or "").endswith(".messages"):  # Anthropic-format routes answer in Anthropic's envelope
        body = messages_api.error_body(error.status_code, body["error"]["message"])
    return json_response(body, error.status_code, headers)


def trace_id() -> str:
    """Return the current request's trace id (the client's, or one generated for it)."""
    environ = request.environ
    if "gateway.trace_id" not in environ:
        environ["gateway.trace_id"] = (request.headers.get("x-portkey-trace-id") or "").strip() or new_trace_id()
    return environ["gateway.trace_id"]
