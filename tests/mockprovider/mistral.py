"""Mistral AI wire format under ``/mistral/v1``: chat completions, FIM completions and embeddings.

Like the real API, the mock validates bodies strictly: an undocumented field (top level or in
a message) is a 422 with ``extra_forbidden`` details, so ``stream_options`` or ``seed`` sent
by mistake fail the request. ``random_seed`` is accepted. The last stream chunk carries
``usage`` next to the finish reason (Mistral has no ``stream_options``); parallel tool calls
arrive whole in one chunk. Auth is ``Authorization: Bearer``; 401 answers
``{"message": "Unauthorized", "request_id": ...}``.
"""

from __future__ import annotations

import base64
import itertools
import struct
import time
import uuid
from typing import Any

import orjson
from flask import Blueprint, Response, request

from tests.mockprovider import openai_wire
from tests.mockprovider.common import begin_json, data_events, json_response, sse_stream
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_mistral", __name__)
_ids = itertools.count(1)

CHAT_FIELDS = {
    "model",
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "stop",
    "random_seed",
    "metadata",
    "response_format",
    "tools",
    "tool_choice",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "prediction",
    "parallel_tool_calls",
    "reasoning_effort",
    "prompt_mode",
    "guardrails",
    "prompt_cache_key",
    "safe_prompt",
}
FIM_FIELDS = {
    "model",
    "prompt",
    "suffix",
    "temperature",
    "top_p",
    "max_tokens",
    "min_tokens",
    "stream",
    "stop",
    "random_seed",
    "metadata",
    "prompt_cache_key",
}
EMBED_FIELDS = {"model", "input", "output_dimension", "output_dtype", "encoding_format", "metadata"}
MESSAGE_FIELDS = {
    "system": {"role", "content"},
    "user": {"role", "content"},
    "assistant": {"role", "content", "tool_calls", "prefix"},
    "tool": {"role", "content", "tool_call_id", "name"},
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kinds = {429: "rate_limited", 401: "unauthorized"}
    return {
        "object": "error",
        "message": message or f"mock failure {status}",
        "type": kinds.get(status, "invalid_request_error"),
        "param": None,
        "code": str(status),
    }


def _validation(details: list[dict[str, Any]]) -> Response:
    body = {
        "object": "error",
        "message": {"detail": details},
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return json_response(body, 422)


def _extra(loc: list[Any], value: Any) -> dict[str, Any]:
    return {
        "type": "extra_forbidden",
        "loc": loc,
        "msg": "Extra inputs are not permitted",
        "input": value,
        "url": "https://errors.pydantic.dev/2.10/v/extra_forbidden",
    }


def _missing(field: str) -> dict[str, Any]:
    return {"type": "missing", "loc": ["body", field], "msg": "Field required", "input": None}


def _problem(body: dict[str, Any], fields: set[str], required: tuple[str, ...]) -> Response | None:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return json_response({"message": "Unauthorized", "request_id": uuid.uuid4().hex}, 401)
    details = [_missing(f) for f in required if f not in body]
    details += [_extra(["body", k], v) for k, v in body.items() if k not in fields]
    for i, message in enumerate(body.get("messages") or []):
        role = message.get("role")
        allowed = MESSAGE_FIELDS.get(role)
        if allowed is None:
            details.append({"type": "union_tag_invalid", "loc": ["body", "messages", i], "msg": f"bad role {role!r}"})
            continue
        details += [_extra(["body", "messages", i, role, k], v) for k, v in message.items() if k not in allowed]
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice not in ("auto", "none", "any", "required"):
        details.append({"type": "enum", "loc": ["body", "tool_choice"], "msg": "Input should be 'auto', ..."})
    return _validation(details) if details else None


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    obj = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return orjson.dumps(obj)


def chat_stream(body: dict[str, Any], sw: Switches, text: str) -> list[bytes]:
    cid = uuid.uuid4().hex
    model = body.get("model", "mistral-small-latest")
    payloads = [_chunk(cid, model, {"role": "assistant", "content": ""})]
    finish = "stop"
    if sw.tool_calls:
        calls = [{**c, "index": i} for i, c in enumerate(openai_wire.tool_calls(body, sw.tool_calls))]
        for call in calls:
            call.pop("type", None)
        payloads.append(_chunk(cid, model, {"tool_calls": calls}))
        finish = "tool_calls"
    else:
        payloads += [_chunk(cid, model, {"content": piece}) for piece in openai_wire.split_text(text, sw.chunks)]
    if sw.no_done:
        return payloads
    usage = openai_wire.usage(body, text)
    payloads.append(_chunk(cid, model, {"content": ""}, finish, usage=usage))
    payloads.append(b"[DONE]")
    return payloads


def chat_answer(body: dict[str, Any], sw: Switches, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "tool_calls": None, "prefix": False}
    finish = "stop"
    if sw.tool_calls:
        message.update(content="", tool_calls=openai_wire.tool_calls(body, sw.tool_calls))
        finish = "tool_calls"
    return {
        "id": uuid.uuid4().hex,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "mistral-small-latest"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": openai_wire.usage(body, text),
    }


def _begin(fields: set[str], required: tuple[str, ...]) -> tuple[Switches, dict[str, Any], Response | None]:
    """Record and gate a call, then validate its body strictly (``fields`` allowed, ``required`` needed)."""
    sw, body, failure = begin_json(error_body)
    return sw, body, failure or _problem(body, fields, required)


def _reply(body: dict[str, Any], sw: Switches, text: str) -> Response:
    """Answer ``text`` as a chat completion: SSE chunks with ``stream: true``, else JSON."""
    if body.get("stream") is True:
        return sse_stream(sw, data_events(chat_stream(body, sw, text)))
    return json_response(chat_answer(body, sw, text))


@bp.post("/mistral/v1/chat/completions")
def chat() -> Response:
    sw, body, failure = _begin(CHAT_FIELDS, ("model", "messages"))
    if failure is not None:
        return failure
    text = openai_wire.answer_text(body, sw)
    if body.get("random_seed") is not None and not sw.text:
        text += f" (seed {body['random_seed']})"
    return _reply(body, sw, text)


@bp.post("/mistral/v1/fim/completions")
def fim() -> Response:
    sw, body, failure = _begin(FIM_FIELDS, ("model", "prompt"))
    if failure is not None:
        return failure
    text = sw.text or f"fim: {body['prompt']}|{body.get('suffix') or ''}"
    return _reply({**body, "messages": []}, sw, text)


@bp.post("/mistral/v1/embeddings")
def embeddings() -> Response:
    _, body, failure = _begin(EMBED_FIELDS, ("model", "input"))
    if failure is not None:
        return failure
    dims = body.get("output_dimension")
    answer = openai_wire.embeddings({**body, "dimensions": dims})
    if body.get("encoding_format") == "base64":
        for item in answer["data"]:
            values = item["embedding"]
            item["embedding"] = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    answer["id"] = f"emb-{next(_ids)}"
    answer["usage"]["completion_tokens"] = 0
    return json_response(answer)
