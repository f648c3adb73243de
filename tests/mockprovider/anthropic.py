"""Anthropic Messages wire format: ``POST /v1/messages`` (JSON and SSE events) and ``count_tokens``.

The mock checks what the real API requires (``x-api-key``, ``anthropic-version``, ``model``,
``max_tokens``, ``messages``) and answers 400/401 in Anthropic's error shape otherwise.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from flask import Blueprint, Response, request

from tests.mockprovider.answers import Answer, Ask, answer, split
from tests.mockprovider.common import begin_json, json_response, sse_stream
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_anthropic", __name__)
_ids = itertools.count(1)


def error_body(status: int, message: str | None = None, kind: str | None = None) -> dict[str, Any]:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    return {
        "type": "error",
        "error": {"type": kind or kinds.get(status, "api_error"), "message": message or f"mock failure {status}"},
    }


def _describe(block: dict[str, Any]) -> str:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        return f"{block['type']}: base64 {source.get('media_type')} {len(source.get('data', ''))} chars"
    return f"{block['type']}: url {source.get('url')}"


def ask_of(body: dict[str, Any]) -> Ask:
    """What an Anthropic request asks for."""
    ask = Ask()
    for message in body.get("messages") or []:
        if message.get("role") == "user":
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            media = [_describe(b) for b in blocks if b.get("type") in ("image", "document")]
            ask.user_turn([b.get("text", "") for b in blocks if b.get("type") == "text"], media)
    system = body.get("system")
    ask.system = system if isinstance(system, str) else " ".join(b.get("text", "") for b in system or [])
    ask.tools = [t.get("name") for t in body.get("tools") or [] if t.get("name")]
    fmt = (body.get("output_config") or {}).get("format") or {}
    ask.schema = fmt.get("schema") if fmt.get("type") == "json_schema" else None
    ask.thinking = (body.get("thinking") or {}).get("type") == "enabled"
    return ask


def _usage(reply: Answer, sw: Switches) -> dict[str, int]:
    return {
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens,
        "cache_read_input_tokens": sw.cache_read,
        "cache_creation_input_tokens": 0,
    }


def message(body: dict[str, Any], reply: Answer, sw: Switches) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.thinking:
        content.append({"type": "thinking", "thinking": reply.thinking, "signature": "sig-mock"})
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for call_id, name, arguments in reply.calls:
        content.append({"type": "tool_use", "id": call_id, "name": name, "input": orjson.loads(arguments)})
    return {
        "id": f"msg_mock{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": "tool_use" if reply.calls else "end_turn",
        "stop_sequence": None,
        "usage": _usage(reply, sw),
    }


def stream_events(body: dict[str, Any], reply: Answer, sw: Switches) -> list[tuple[str, bytes]]:
    final = message(body, reply, sw)
    start = {**final, "content": [], "stop_reason": None, "usage": {**final["usage"], "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    index = 0
    if reply.thinking:
        events += [
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": ""}},
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "thinking_delta", "thinking": reply.thinking},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "signature_delta", "signature": "sig-mock"},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
        index += 1
    if reply.text:
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
            )
        )
        events += [
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
            )
            for piece in split(reply.text, sw.chunks)
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    for call_id, name, arguments in reply.calls:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
                },
            )
        )
        events += [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
            for piece in split(arguments, 3)
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    if sw.error_after >= 0:
        events = events[: sw.error_after] + [("error", error_body(529, "Overloaded", "overloaded_error"))]
    elif not sw.no_done:
        events += [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": reply.output_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
    return [(name, orjson.dumps(data)) for name, data in events]


def _check(body: dict[str, Any], need_max_tokens: bool = True) -> Response | None:
    if not request.headers.get("x-api-key"):
        return json_response(error_body(401, "x-api-key header is required"), 401)
    if not request.headers.get("anthropic-version"):
        return json_response(error_body(400, "anthropic-version header is required"), 400)
    for field in ("model", "messages") + (("max_tokens",) if need_max_tokens else ()):
        if field not in body:
            return json_response(error_body(400, f"{field}: Field required"), 400)
    return None


@bp.post("/v1/messages")
def messages() -> Response:
    sw, body, failure = begin_json(error_body)
    failure = failure or _check(body)
    if failure is not None:
        return failure
    reply = answer(ask_of(body), sw, id_prefix="toolu_")
    if body.get("stream") is True:
        return sse_stream(sw, stream_events(body, reply, sw))
    return json_response(message(body, reply, sw), headers={"request-id": "req_mock"})


@bp.post("/v1/messages/count_tokens")
def count_tokens() -> Response:
    _, body, failure = begin_json(error_body)
    failure = failure or _check(body, need_max_tokens=False)
    if failure is not None:
        return failure
    return json_response({"input_tokens": max(1, len(orjson.dumps(body.get("messages"))) // 4)})
