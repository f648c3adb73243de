"""OpenAI wire format: chat completions, completions, embeddings, models, downloads and an echo route."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import orjson
from flask import Blueprint, Response, request

from tests.mockprovider import openai_wire
from tests.mockprovider.common import begin, begin_json, data_events, json_response, record, sse_stream, switches

bp = Blueprint("mock_openai", __name__)


@bp.post("/v1/chat/completions")
def chat() -> Response:
    sw, body, failure = begin_json()
    if failure is not None:
        return failure
    if body.get("stream") is True:
        return sse_stream(sw, data_events(openai_wire.chat_stream(body, sw)))
    return json_response(
        openai_wire.chat_completion(body, sw), headers={"x-request-id": "req-mock", "openai-processing-ms": "1"}
    )


@bp.post("/v1/completions")
def completions() -> Response:
    sw, body, failure = begin_json()
    if failure is not None:
        return failure
    if body.get("stream") is True:
        return sse_stream(sw, data_events(openai_wire.completion_stream(body, sw)))
    return json_response(openai_wire.completion(body, sw))


@bp.post("/v1/embeddings")
def embeddings() -> Response:
    _, body, failure = begin_json()
    if failure is not None:
        return failure
    return json_response(openai_wire.embeddings(body))


@bp.get("/v1/models")
def models() -> Response:
    failure = begin(switches(), b"")
    if failure is not None:
        return failure
    return json_response(openai_wire.model_list())


@bp.get("/v1/download/<int:size>")
def download(size: int) -> Response:
    """Stream ``size`` bytes of a repeating pattern (binary pass-through and memory tests)."""
    record(switches(), b"")
    block = bytes(range(256)) * 256

    def generate() -> Iterator[bytes]:
        left = size
        while left > 0:
            piece = block[: min(left, len(block))]
            left -= len(piece)
            yield piece

    return Response(generate(), content_type="application/octet-stream")


@bp.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def echo(rest: str) -> Response:
    """Echo what arrived: method, path, query, headers, body size and digest (body read in blocks)."""
    sw = switches()
    digest = hashlib.sha256()
    size = 0
    head = b""
    while True:
        block = request.stream.read(64 * 1024)
        if not block:
            break
        size += len(block)
        digest.update(block)
        if len(head) < 4096:
            head += block[: 4096 - len(head)]
    failure = begin(sw, head, size=size, digest=digest.hexdigest())
    if failure is not None:
        return failure
    payload = {
        "method": request.method,
        "path": "/v1/" + rest,
        "query": request.query_string.decode("latin-1"),
        "content_type": request.content_type,
        "size": size,
        "sha256": digest.hexdigest(),
        "headers": {k.lower(): v for k, v in request.headers.items()},
    }
    return Response(orjson.dumps(payload), content_type="application/json", headers={"x-mock-echo": "1"})


@bp.post("/v1/responses")
def responses() -> Response:
    """OpenAI's own Responses API (what the gateway relays natively): JSON or SSE events."""
    sw, body, failure = begin_json()
    if failure is not None:
        return failure
    text = sw.text or f"native: {body.get('input') if isinstance(body.get('input'), str) else 'items'}"
    response = {
        "id": "resp_mocknative1",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed",
        "model": body.get("model", "m"),
        "output": [openai_wire.output_message("msg_mock1", text)],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 5,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 3,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 8,
        },
    }
    if body.get("stream") is not True:
        return json_response(response)
    return sse_stream(sw, openai_wire.response_events(response))
