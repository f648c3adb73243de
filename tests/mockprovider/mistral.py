"""Mistral AI wire format under ``/mistral/v1``: chat completions, FIM completions and embeddings.

Requests are checked against what Mistral's API reference documents (its published OpenAPI
document behind docs.mistral.ai/api: ``ChatCompletionRequest``, ``FIMCompletionRequest``,
``EmbeddingRequest`` and the message, content-chunk, tool, tool-choice, response-format and
prediction schemas they use). The tables below are written from that reference, never taken from
the translator, so a field the translator gets wrong is caught here. As in the real API, every
object forbids undocumented properties: a stray field (top level, in a message, a content part,
a tool or a tool call) is a 422 with ``extra_forbidden`` details, so ``stream_options`` or ``seed``
sent by mistake fail the request; a missing required field is ``missing``; an unknown ``role`` or
part ``type`` is ``union_tag_invalid``. Values are checked against the documented types, enums
and ranges (``temperature`` 0 to 1.5, ``top_p`` above 0 up to 1, ``n`` at least 1, ...), JSON
types strictly (a string is never taken for a number; pydantic would coerce some), to catch
mapping mistakes. Mistral's built-in tools (``web_search``, ``code_interpreter``, ...) are
accepted by type without checking their fields.

The last stream chunk carries ``usage`` next to the finish reason (Mistral has no
``stream_options``); parallel tool calls arrive whole in one chunk. Auth is ``Authorization:
Bearer``; 401 answers ``{"message": "Unauthorized", "request_id": ...}``.
"""

from __future__ import annotations

import base64
import itertools
import struct
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from flask import Blueprint, Response, request

from tests.mockprovider import openai_wire
from tests.mockprovider.common import begin_json, data_events, json_response, sse_stream
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_mistral", __name__)
_ids = itertools.count(1)

# -- checking a body the way the reference describes it -------------------------------------------

Loc = tuple[Any, ...]
#: A check takes a value and where it sits (the path under ``body``) and returns validation details.
Check = Callable[[Any, Loc], list[dict[str, Any]]]


def _detail(kind: str, loc: Loc, msg: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}


def _extra(loc: Loc, value: Any) -> dict[str, Any]:
    return {
        **_detail("extra_forbidden", loc, "Extra inputs are not permitted", value),
        "url": "https://errors.pydantic.dev/2.10/v/extra_forbidden",
    }


def _missing(loc: Loc) -> dict[str, Any]:
    return _detail("missing", loc, "Field required", None)


def _any(value: Any, loc: Loc) -> list[dict[str, Any]]:
    return []


def _string(value: Any, loc: Loc) -> list[dict[str, Any]]:
    return [] if isinstance(value, str) else [_detail("string_type", loc, "Input should be a valid string", value)]


def _boolean(value: Any, loc: Loc) -> list[dict[str, Any]]:
    return [] if isinstance(value, bool) else [_detail("bool_type", loc, "Input should be a valid boolean", value)]


def _number(
    low: float | None = None, high: float | None = None, *, above: float | None = None, integer: bool = False
) -> Check:
    """A JSON number (an integer with ``integer``) at least ``low``, at most ``high``, more than ``above``."""

    def check(value: Any, loc: Loc) -> list[dict[str, Any]]:
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            kind, noun = ("int_type", "integer") if integer else ("float_type", "number")
            return [_detail(kind, loc, f"Input should be a valid {noun}", value)]
        if above is not None and value <= above:
            return [_detail("greater_than", loc, f"Input should be greater than {above}", value)]
        if low is not None and value < low:
            return [_detail("greater_than_equal", loc, f"Input should be greater than or equal to {low}", value)]
        if high is not None and value > high:
            return [_detail("less_than_equal", loc, f"Input should be less than or equal to {high}", value)]
        return []

    return check


def _enum(*values: str) -> Check:
    def check(value: Any, loc: Loc) -> list[dict[str, Any]]:
        if isinstance(value, str) and value in values:
            return []
        return [_detail("enum", loc, "Input should be " + " or ".join(repr(v) for v in values), value)]

    return check


def _nullable(inner: Check) -> Check:
    return lambda value, loc: [] if value is None else inner(value, loc)


def _list_of(item: Check) -> Check:
    def check(value: Any, loc: Loc) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            return [_detail("list_type", loc, "Input should be a valid list", value)]
        return [d for i, v in enumerate(value) for d in item(v, (*loc, i))]

    return check


_JSON_TYPES = {"string": str, "array": list, "object": dict, "integer": int, "null": type(None)}


def _either(**by_type: Check) -> Check:
    """A union told apart by JSON type: ``_either(string=..., array=...)``."""

    def check(value: Any, loc: Loc) -> list[dict[str, Any]]:
        for name, inner in by_type.items():
            if isinstance(value, _JSON_TYPES[name]) and not isinstance(value, bool):
                return inner(value, loc)
        return [_detail("union_type", loc, "Input should be one of: " + ", ".join(by_type), value)]

    return check


def _object(fields: Mapping[str, Check], required: tuple[str, ...] = (), *, open_: bool = False) -> Check:
    """An object with ``fields`` (``required`` among them); other properties are forbidden unless ``open_``."""

    def check(value: Any, loc: Loc) -> list[dict[str, Any]]:
        if not isinstance(value, dict):
            return [_detail("model_type", loc, "Input should be an object", value)]
        details = [_missing((*loc, name)) for name in required if name not in value]
        for key, item in value.items():
            if key in fields:
                details += fields[key](item, (*loc, key))
            elif not open_:
                details.append(_extra((*loc, key), item))
        return details

    return check


def _tagged(tag: str, variants: Mapping[str, Check]) -> Check:
    """A union told apart by its ``tag`` property (a message's ``role``, a part's or a tool's ``type``)."""

    def check(value: Any, loc: Loc) -> list[dict[str, Any]]:
        if not isinstance(value, dict):
            return [_detail("model_attributes_type", loc, "Input should be an object", value)]
        name = value.get(tag)
        if not isinstance(name, str) or name not in variants:
            expected = ", ".join(repr(v) for v in variants)
            return [
                _detail(
                    "union_tag_invalid",
                    loc,
                    f"Input tag {name!r} found using {tag!r} does not match any of the expected tags: {expected}",
                    value,
                )
            ]
        return variants[name](value, (*loc, name))

    return check


_ANY_OBJECT = _object({}, open_=True)

# -- the documented requests -----------------------------------------------------------------------

_STOP = _nullable(_either(string=_any, array=_list_of(_string)))
_TEXT_CHUNK = _object({"type": _any, "text": _string}, ("text",))
_THINK_CHUNK = _object(
    {"type": _any, "thinking": _list_of(_ANY_OBJECT), "signature": _nullable(_string), "closed": _boolean},
    ("thinking",),
)
_IMAGE_URL = _either(
    string=_any, object=_object({"url": _string, "detail": _nullable(_enum("low", "auto", "high"))}, ("url",))
)
_CONTENT_CHUNK = _tagged(
    "type",
    {
        "text": _TEXT_CHUNK,
        "image_url": _object({"type": _any, "image_url": _IMAGE_URL}, ("image_url",)),
        "document_url": _object(
            {"type": _any, "document_url": _string, "document_name": _nullable(_string)}, ("document_url",)
        ),
        "reference": _object(
            {"type": _any, "reference_ids": _list_of(_either(integer=_any, string=_any))}, ("reference_ids",)
        ),
        "file": _object({"type": _any, "file_id": _string}, ("file_id",)),
        "thinking": _THINK_CHUNK,
        "input_audio": _object({"type": _any, "input_audio": _string}, ("input_audio",)),
    },
)
_CONTENT = _either(string=_any, null=_any, array=_list_of(_CONTENT_CHUNK))
_TOOL_CALL = _object(
    {
        "id": _string,
        "type": _enum("function"),
        "function": _object({"name": _string, "arguments": _either(string=_any, object=_any)}, ("name", "arguments")),
        "index": _number(integer=True),
    },
    ("function",),
)
MESSAGE = _tagged(
    "role",
    {
        "system": _object(
            {
                "role": _any,
                "content": _either(
                    string=_any, array=_list_of(_tagged("type", {"text": _TEXT_CHUNK, "thinking": _THINK_CHUNK}))
                ),
            },
            ("content",),
        ),
        "user": _object({"role": _any, "content": _CONTENT}, ("content",)),
        "assistant": _object(
            {"role": _any, "content": _CONTENT, "tool_calls": _nullable(_list_of(_TOOL_CALL)), "prefix": _boolean}
        ),
        "tool": _object(
            {"role": _any, "content": _CONTENT, "tool_call_id": _nullable(_string), "name": _nullable(_string)},
            ("content",),
        ),
    },
)
_FUNCTION_TOOL = _object(
    {
        "type": _any,
        "function": _object(
            {"name": _string, "description": _string, "strict": _boolean, "parameters": _ANY_OBJECT},
            ("name", "parameters"),
        ),
    },
    ("function",),
)
_BUILT_IN_TOOLS = ("web_search", "web_search_premium", "code_interpreter", "image_generation", "document_library")
TOOL = _tagged("type", {"function": _FUNCTION_TOOL, **dict.fromkeys((*_BUILT_IN_TOOLS, "connector"), _ANY_OBJECT)})
_TOOL_CHOICE = _either(
    string=_enum("auto", "none", "any", "required"),
    object=_object({"type": _enum("function"), "function": _object({"name": _string}, ("name",))}, ("function",)),
)
_RESPONSE_FORMAT = _object(
    {
        "type": _enum("text", "json_object", "json_schema"),
        "json_schema": _nullable(
            _object(
                {"name": _string, "description": _nullable(_string), "schema": _ANY_OBJECT, "strict": _boolean},
                ("name", "schema"),
            )
        ),
    }
)

#: ``POST /v1/chat/completions`` (``ChatCompletionRequest``).
CHAT_REQUEST = _object(
    {
        "model": _string,
        "messages": _list_of(MESSAGE),
        "temperature": _nullable(_number(0, 1.5)),
        "top_p": _nullable(_number(high=1, above=0)),
        "max_tokens": _nullable(_number(0, integer=True)),
        "stream": _boolean,
        "stop": _STOP,
        "random_seed": _nullable(_number(0, integer=True)),
        "metadata": _nullable(_ANY_OBJECT),
        "response_format": _RESPONSE_FORMAT,
        "tools": _nullable(_list_of(TOOL)),
        "tool_choice": _TOOL_CHOICE,
        "presence_penalty": _nullable(_number(-2, 2)),
        "frequency_penalty": _nullable(_number(-2, 2)),
        "n": _nullable(_number(1, integer=True)),
        "prediction": _object({"type": _enum("content"), "content": _string}),
        "parallel_tool_calls": _boolean,
        "reasoning_effort": _nullable(_enum("none", "minimal", "low", "medium", "high", "xhigh")),
        "prompt_mode": _nullable(_enum("reasoning")),
        "guardrails": _nullable(_list_of(_ANY_OBJECT)),
        "prompt_cache_key": _nullable(_string),
        "service_tier": _nullable(_enum("auto", "standard_only")),
        "safe_prompt": _boolean,
    },
    ("model", "messages"),
)
#: ``POST /v1/fim/completions`` (``FIMCompletionRequest``).
FIM_REQUEST = _object(
    {
        "model": _string,
        "prompt": _string,
        "suffix": _nullable(_string),
        "temperature": _nullable(_number(0, 1.5)),
        "top_p": _nullable(_number(high=1, above=0)),
        "max_tokens": _nullable(_number(0, integer=True)),
        "min_tokens": _nullable(_number(0, integer=True)),
        "stream": _boolean,
        "stop": _STOP,
        "random_seed": _nullable(_number(0, integer=True)),
        "metadata": _nullable(_ANY_OBJECT),
        "prompt_cache_key": _nullable(_string),
    },
    ("model", "prompt"),
)
#: ``POST /v1/embeddings`` (``EmbeddingRequest``).
EMBEDDING_REQUEST = _object(
    {
        "model": _string,
        "input": _either(string=_any, array=_list_of(_string)),
        "metadata": _nullable(_ANY_OBJECT),
        "output_dimension": _nullable(_number(above=0, integer=True)),
        "output_dtype": _enum("float", "int8", "uint8", "binary", "ubinary"),
        "encoding_format": _enum("float", "base64"),
    },
    ("model", "input"),
)


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


def _problem(body: dict[str, Any], shape: Check) -> Response | None:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return json_response({"message": "Unauthorized", "request_id": uuid.uuid4().hex}, 401)
    details = shape(body, ())
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


def _begin(shape: Check) -> tuple[Switches, dict[str, Any], Response | None]:
    """Record and gate a call, then validate its body against the documented request ``shape``."""
    sw, body, failure = begin_json(error_body)
    return sw, body, failure or _problem(body, shape)


def _reply(body: dict[str, Any], sw: Switches, text: str) -> Response:
    """Answer ``text`` as a chat completion: SSE chunks with ``stream: true``, else JSON."""
    if body.get("stream") is True:
        return sse_stream(sw, data_events(chat_stream(body, sw, text)))
    return json_response(chat_answer(body, sw, text))


@bp.post("/mistral/v1/chat/completions")
def chat() -> Response:
    sw, body, failure = _begin(CHAT_REQUEST)
    if failure is not None:
        return failure
    text = openai_wire.answer_text(body, sw)
    if body.get("random_seed") is not None and not sw.text:
        text += f" (seed {body['random_seed']})"
    return _reply(body, sw, text)


@bp.post("/mistral/v1/fim/completions")
def fim() -> Response:
    sw, body, failure = _begin(FIM_REQUEST)
    if failure is not None:
        return failure
    text = sw.text or f"fim: {body['prompt']}|{body.get('suffix') or ''}"
    return _reply({**body, "messages": []}, sw, text)


@bp.post("/mistral/v1/embeddings")
def embeddings() -> Response:
    _, body, failure = _begin(EMBEDDING_REQUEST)
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
