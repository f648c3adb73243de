"""Cohere v2 wire format: ``POST /v2/chat`` (JSON and SSE events) and ``POST /v2/embed``.

The mock checks what the real API requires (``Authorization: Bearer``; ``model`` and
``messages``; tool messages with ``tool_call_id``; assistant tool calls with ids; embed
``model``, ``input_type`` and ``embedding_types``) and rejects fields v2 does not define, and
answers errors in Cohere's shape ``{"id", "message"}``. ``error_after`` ends a stream with a
``message-end`` event carrying ``finish_reason: ERROR`` and an ``error`` text.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import orjson
from flask import Blueprint, Response, request

from tests.mockprovider.answers import Answer, Ask, answer, split
from tests.mockprovider.common import begin_json, json_response, sse_stream
from tests.mockprovider.openai_wire import vector
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_cohere", __name__)
_ids = itertools.count(1)

CHAT_FIELDS = {
    "model",
    "messages",
    "tools",
    "strict_tools",
    "documents",
    "citation_options",
    "response_format",
    "safety_mode",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "k",
    "p",
    "logprobs",
    "tool_choice",
    "thinking",
    "priority",
    "stream",
}
EMBED_FIELDS = {
    "model",
    "texts",
    "images",
    "inputs",
    "input_type",
    "embedding_types",
    "output_dimension",
    "max_tokens",
    "truncate",
    "priority",
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "message": message or f"mock failure {status}"}


def _bad(message: str, status: int = 400) -> Response:
    return json_response(error_body(status, message), status)


def _auth_problem() -> Response | None:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return _bad("no api key supplied", 401)
    return None


def _chat_problem(body: dict[str, Any]) -> Response | None:
    for field in ("model", "messages"):
        if field not in body:
            return _bad(f"invalid request: {field} must be specified")
    unknown = sorted(set(body) - CHAT_FIELDS)
    if unknown:
        return _bad(f"invalid request: unknown field: parameter {unknown[0]} is not a valid field")
    if body.get("tool_choice") not in (None, "REQUIRED", "NONE"):
        return _bad("invalid request: tool_choice must be one of REQUIRED, NONE")
    for message in body["messages"]:
        role = message.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            return _bad(f"invalid request: invalid role {role!r}")
        if role == "tool" and not message.get("tool_call_id"):
            return _bad("invalid request: tool messages need a tool_call_id")
        for call in message.get("tool_calls") or []:
            if not call.get("id") or not (call.get("function") or {}).get("name"):
                return _bad("invalid request: tool calls need an id and a function name")
    return None


def _describe(part: dict[str, Any]) -> str:
    url = (part.get("image_url") or {}).get("url", "")
    if url.startswith("data:"):
        return f"image_url: data {url[5:].split(';', 1)[0]} {len(url)} chars"
    return f"image_url: {url}"


def ask_of(body: dict[str, Any]) -> Ask:
    """What a Cohere v2 chat request asks for."""
    ask = Ask()
    for message in body.get("messages") or []:
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        if message.get("role") == "user":
            ask.text = " ".join(p.get("text", "") for p in parts if p.get("type") == "text")
            ask.images = [_describe(p) for p in parts if p.get("type") == "image_url"]
        elif message.get("role") == "system":
            ask.system += " ".join(p.get("text", "") for p in parts if p.get("type") == "text")
    ask.tools = [(t.get("function") or {}).get("name") for t in body.get("tools") or []]
    ask.tools = [name for name in ask.tools if name]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        ask.schema = fmt.get("json_schema") or {"type": "object"}
    ask.thinking = (body.get("thinking") or {}).get("type") == "enabled"
    return ask


def _usage(reply: Answer, sw: Switches) -> dict[str, Any]:
    counts = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}
    return {"billed_units": dict(counts), "tokens": dict(counts), "cached_tokens": sw.cache_read}


def _calls(reply: Answer) -> list[dict[str, Any]]:
    return [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        for call_id, name, arguments in reply.calls
    ]


def chat_answer(body: dict[str, Any], reply: Answer, sw: Switches) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    content = []
    if reply.thinking:
        content.append({"type": "thinking", "thinking": reply.thinking})
    if reply.calls:
        message["tool_plan"] = "I will call the tools."
        message["tool_calls"] = _calls(reply)
    elif reply.text:
        content.append({"type": "text", "text": reply.text})
    if content:
        message["content"] = content
    return {
        "id": str(uuid.uuid4()),
        "finish_reason": "TOOL_CALL" if reply.calls else "COMPLETE",
        "message": message,
        "usage": _usage(reply, sw),
    }


def _ev(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


def stream_events(body: dict[str, Any], reply: Answer, sw: Switches) -> list[tuple[str, bytes]]:
    final = chat_answer(body, reply, sw)
    start = {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}
    events = [_ev("message-start", id=final["id"], delta=start)]
    index = 0
    for kind, text in (("thinking", reply.thinking), ("text", "" if reply.calls else reply.text)):
        if not text:
            continue
        events.append(_ev("content-start", index=index, delta={"message": {"content": {"type": kind, kind: ""}}}))
        events += [
            _ev("content-delta", index=index, delta={"message": {"content": {kind: piece}}})
            for piece in split(text, sw.chunks)
        ]
        events.append(_ev("content-end", index=index))
        index += 1
    if reply.calls:
        events += [
            _ev("tool-plan-delta", delta={"message": {"tool_plan": piece}})
            for piece in split(final["message"]["tool_plan"], 2)
        ]
    for i, call in enumerate(_calls(reply)):
        first = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
        events.append(_ev("tool-call-start", index=i, delta={"message": {"tool_calls": first}}))
        events += [
            _ev("tool-call-delta", index=i, delta={"message": {"tool_calls": {"function": {"arguments": piece}}}})
            for piece in split(call["function"]["arguments"], 3)
        ]
        events.append(_ev("tool-call-end", index=i))
    if sw.error_after >= 0:
        events = events[: sw.error_after]
        events.append(_ev("message-end", delta={"finish_reason": "ERROR", "error": "internal server error"}))
    elif not sw.no_done:
        events.append(_ev("message-end", delta={"finish_reason": final["finish_reason"], "usage": final["usage"]}))
    return [(name, orjson.dumps(data)) for name, data in events]


@bp.post("/v2/chat")
def chat() -> Response:
    sw, body, failure = begin_json(error_body)
    failure = failure or _auth_problem() or _chat_problem(body)
    if failure is not None:
        return failure
    reply = answer(ask_of(body), sw, id_prefix="cohere_call_")
    if body.get("stream") is True:
        return sse_stream(sw, stream_events(body, reply, sw))
    return json_response(chat_answer(body, reply, sw), headers={"x-request-id": f"cohere-{next(_ids)}"})


@bp.post("/v2/embed")
def embed() -> Response:
    _, body, failure = begin_json(error_body)
    failure = failure or _auth_problem()
    if failure is not None:
        return failure
    for field in ("model", "input_type", "embedding_types"):
        if field not in body:
            return _bad(f"invalid request: {field} must be specified")
    unknown = sorted(set(body) - EMBED_FIELDS)
    if unknown:
        return _bad(f"invalid request: unknown field: parameter {unknown[0]} is not a valid field")
    texts = body.get("texts") or []
    dims = body.get("output_dimension") or 8
    tokens = sum(max(1, len(t) // 4) for t in texts)
    return json_response(
        {
            "id": str(uuid.uuid4()),
            "response_type": "embeddings_by_type",
            "embeddings": {"float": [vector(t, dims) for t in texts]},
            "texts": texts,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
        }
    )
