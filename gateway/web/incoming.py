"""Turn Flask requests into ``Call`` objects.

Blueprints stay thin: ``json_call`` reads, parses and validates a JSON body (400 with the
parse position or the bad field's path, 413 over the size limit) and ``stream_call`` keeps a
body as a stream; ``gateway.web.render`` routes the call and builds the response.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import request
from marshmallow import Schema
from werkzeug.sansio.utils import get_content_length

from gateway.core import wsgi_headers
from gateway.core.call import Call
from gateway.core.errors import BadRequest, PayloadTooLarge
from gateway.core.options import RequestOptions, parse_request_headers
from gateway.transport.bodies import ChunkedStream, SizedStream
from gateway.web.state import current_state
from translators.formats.schemas import validate

JSON_TYPES = ("application/json",)


def check_content_type(allowed: tuple[str, ...]) -> None:
    """Reject a request whose declared content type the route does not take."""
    ctype = (request.environ.get("CONTENT_TYPE") or "").lower()
    if ctype and not ctype.startswith(allowed):
        raise BadRequest("Invalid content type passed", param="content-type", code="invalid_content_type")


def read_json_body(limit: int) -> tuple[bytes, dict[str, Any]]:
    """Read and parse the JSON object body; raise 400/413 on problems.

    A body with a length is read straight from ``wsgi.input`` (what ``request.stream`` would wrap);
    a chunked one through ``request.stream``, which knows where the WSGI server ends it.
    """
    check_content_type(JSON_TYPES)
    environ = request.environ
    length = get_content_length(environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING"))
    if length is not None and length > limit:
        raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes", code="body_too_large")
    if length is not None:
        raw = environ["wsgi.input"].read(length) if length else b""
        if len(raw) < length:
            raise BadRequest("The request body ended before its Content-Length", code="invalid_body")
    else:  # chunked upload: read in blocks up to the limit
        blocks, size = [], 0
        while size <= limit:
            block = request.stream.read(64 * 1024)
            if not block:
                break
            blocks.append(block)
            size += len(block)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes", code="body_too_large")
        raw = b"".join(blocks)
    if not raw:
        raise BadRequest("Request body is empty; a JSON object is required", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Invalid JSON in request body: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object", code="invalid_json")
    return raw, body


def request_headers() -> list[tuple[str, str]]:
    """Return the request's headers as a list, read once per request (``gateway.core.wsgi_headers``)."""
    return wsgi_headers.items(request.environ)


def request_options(headers: list[tuple[str, str]]) -> RequestOptions:
    """Parse the request's gateway headers and remember its trace id for error responses."""
    options = parse_request_headers(headers)
    request.environ["gateway.trace_id"] = options.trace_id
    return options


def incoming(
    fn: str, path: str, headers: list[tuple[str, str]], options: RequestOptions, *, query: bool = False, **fields: Any
) -> Call:
    """The ``Call`` for the current request: its method, headers and options (and query string), plus ``fields``."""
    qs = request.query_string.decode("latin-1") if query else ""
    return Call(fn=fn, method=request.method, path=path, query=qs, headers=headers, options=options, **fields)


def validated_body(limit: int, schema: Schema | None, label: str = "Invalid request body: ") -> tuple[bytes, Any]:
    """Read the JSON body and validate it; raise a 400 naming the bad field (``label`` starts the message)."""
    raw, body = read_json_body(limit)
    problem = validate(schema, body) if schema is not None else None
    if problem is not None:
        path, message = problem
        raise BadRequest(
            f"{label}{path}: {message}" if path else message, param=path or None, code="invalid_request_body"
        )
    return raw, body


def json_call(fn: str, path: str, schema: Schema | None) -> Call:
    """Build a validated ``Call`` for the JSON endpoint at ``path`` (relative to ``/v1``)."""
    state = current_state()
    headers = request_headers()
    options = request_options(headers)
    raw, body = validated_body(state.settings.max_json_bytes, schema)
    return incoming(fn, path, headers, options, body=body, raw=raw, stream=body.get("stream") is True)


def stream_call(fn: str, path: str) -> Call:
    """Build a ``Call`` whose body (if any) is streamed upstream rather than parsed.

    A JSON body small enough to parse is parsed, so ``override_params`` and conditional routing
    on ``params`` work on pass-through routes too.
    """
    state = current_state()
    headers = request_headers()
    options = request_options(headers)
    ctype = (request.content_type or "").lower()
    length = request.content_length
    call = incoming(fn, path, headers, options, query=True)
    if request.method in ("GET", "HEAD", "DELETE") and not length:
        return call
    if ctype.startswith("application/json") and length is not None and 0 < length <= state.settings.max_json_bytes:
        call.raw, call.body = read_json_body(state.settings.max_json_bytes)
        call.stream = call.body.get("stream") is True
    elif length is not None:
        call.stream_body = SizedStream(request.stream, length)
    else:
        call.stream_body = ChunkedStream(request.stream)
    return call
