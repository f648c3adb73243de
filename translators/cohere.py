"""Map OpenAI Chat Completions and Embeddings to Cohere's v2 API and back, streams included.

Request facts (docs.cohere.com/reference/chat, /reference/embed, cohere-python v2 types):
``POST {root}/v2/chat`` and ``POST {root}/v2/embed`` with ``Authorization: Bearer``; ``root`` is
the custom host or the registry base without its ``/v1``. v2 messages are OpenAI-like: roles
``system``/``user``/``assistant``/``tool``; user content may hold ``image_url`` parts (web URL or
base64 data URI, so nothing is fetched); assistant messages carry ``tool_calls``
(``{id, type: function, function: {name, arguments}}``) and an optional ``tool_plan``; tool
results are ``{role: tool, tool_call_id, content}``. Tools are OpenAI-style function tools
(``function.strict`` becomes the request-wide ``strict_tools``). ``tool_choice`` is ``REQUIRED``
or ``NONE`` (absent = auto); a named choice becomes ``REQUIRED`` with only that tool kept, which
forces exactly that function. ``top_p``/``top_k`` are ``p``/``k``; penalties range 0..1
(clamped); ``response_format`` is ``{type: json_object, json_schema?}``; reasoning is
``thinking: {type: enabled|disabled, token_budget}``. ``n > 1`` is not supported.

Response facts: ``message.content`` is a list of ``text``/``thinking`` items; ``tool_plan`` and
thinking surface as ``reasoning_content``; usage comes from ``usage.tokens`` (else
``billed_units``) plus ``cached_tokens``; finish reasons ``COMPLETE``, ``STOP_SEQUENCE``,
``MAX_TOKENS``, ``TOOL_CALL``, ``ERROR``, ``TIMEOUT``. Streams are SSE events named by ``type``:
``message-start`` (id), ``content-start/-delta/-end`` (``delta.message.content.text|thinking``),
``tool-plan-delta``, ``tool-call-start`` (id and name) / ``-delta`` (arguments) / ``-end`` keyed
by the event ``index``, ``message-end`` (finish reason, usage, optional ``error``). The choice
index is always 0 (the reference used the content index).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from typing import Any

from translators.base import (
    Built,
    ChunkWriter,
    HttpRequest,
    InvalidResponse,
    StreamError,
    StreamEvent,
    Target,
    TranslationError,
    chat_completion,
    error_envelope,
    finish_reason,
    image_url_of,
    include_usage,
    json_bytes,
    loads_or_none,
    max_tokens_of,
    merge_native,
    new_id,
    parts_of,
    stop_list,
    text_of,
    unmapped,
    usage,
)

FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "stop",
    "TIMEOUT": "stop",
}
#: ``reasoning_effort`` -> thinking token budget.
THINKING_BUDGETS = {"minimal": 512, "low": 1024, "medium": 4096, "high": 16384}
DEFAULT_INPUT_TYPE = "search_document"

#: Cohere-native top-level chat params passed through as-is.
_NATIVE = ("documents", "citation_options", "safety_mode", "strict_tools", "priority", "k", "p", "thinking")
HANDLED = frozenset(
    {
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "tools",
        "tool_choice",
        "response_format",
        "reasoning_effort",
        "n",
    }
).union(_NATIVE)
EMBED_HANDLED = frozenset({"input", "encoding_format", "dimensions", "input_type", "truncate"})


def root_of(target: Target) -> str:
    """Return the API root: the custom host or base URL without a trailing ``/v1``."""
    root = (target.custom_host or target.base_url).rstrip("/")
    return root[:-3] if root.endswith("/v1") else root


def headers(target: Target) -> dict[str, str]:
    """Bearer auth and JSON content type."""
    out = {"content-type": "application/json", "accept": "application/json"}
    if target.api_key:
        out["authorization"] = f"Bearer {target.api_key}"
    return out


# -- chat request --------------------------------------------------------------------------------


def _user_content(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    out: list[dict[str, Any]] = []
    for part in parts_of(content):
        kind = part.get("type")
        if kind == "text":
            out.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            url = image_url_of(part)
            if not url:
                raise TranslationError("image_url parts need a url", "messages")
            image: dict[str, Any] = {"url": url}
            detail = part["image_url"].get("detail") if isinstance(part.get("image_url"), Mapping) else None
            if detail:
                image["detail"] = detail
            out.append({"type": "image_url", "image_url": image})
        else:
            raise TranslationError(f"{kind} content is not supported by cohere", "messages")
    return out


def _assistant(message: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant"}
    text = text_of(message.get("content"))
    calls = message.get("tool_calls") or []
    if calls:
        out["tool_calls"] = [
            {
                "id": call.get("id", ""),
                "type": "function",
                "function": {
                    "name": (call.get("function") or {}).get("name", ""),
                    "arguments": (call.get("function") or {}).get("arguments") or "{}",
                },
            }
            for call in calls
        ]
        plan = message.get("reasoning_content")
        if isinstance(plan, str) and plan:
            out["tool_plan"] = plan
    if text or not calls:
        out["content"] = text
    return out


def _tool(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list):
        content = [{"type": "text", "text": p.get("text", "")} for p in parts_of(content) if p.get("type") == "text"]
    return {"role": "tool", "tool_call_id": message.get("tool_call_id", ""), "content": content or ""}


def convert_messages(messages: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Map OpenAI messages to Cohere v2 messages (developer -> system, tool turns kept)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            out.append({"role": "system", "content": text_of(message.get("content"), "\n")})
        elif role == "assistant":
            out.append(_assistant(message))
        elif role in ("tool", "function"):
            out.append(_tool(message))
        else:
            out.append({"role": "user", "content": _user_content(message.get("content"))})
    return out


def _tools(tools: list[Mapping[str, Any]], choice: Any) -> tuple[list[dict[str, Any]], bool, str | None]:
    """Return ``(tools, strict, tool_choice)``; a named choice keeps only that tool."""
    strict = False
    out = []
    for tool in tools:
        function = dict(tool.get("function") or {})
        if function.pop("strict", None) is True:
            strict = True
        out.append({"type": "function", "function": function})
    if choice is None or choice == "auto":
        return out, strict, None
    if choice == "none":
        return out, strict, "NONE"
    if choice == "required":
        return out, strict, "REQUIRED"
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        name = choice["function"].get("name")
        kept = [t for t in out if t["function"].get("name") == name]
        if not kept:
            raise TranslationError(f"tool_choice names {name!r}, which is not in tools", "tool_choice")
        return kept, strict, "REQUIRED"
    raise TranslationError("tool_choice is not understood", "tool_choice")


def _response_format(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, Mapping):
            raise TranslationError("response_format.json_schema.schema is required", "response_format")
        return {"type": "json_object", "json_schema": schema}
    return None


def _thinking(body: Mapping[str, Any]) -> dict[str, Any] | None:
    effort = body.get("reasoning_effort")
    if effort == "none":
        return {"type": "disabled"}
    if effort in THINKING_BUDGETS:
        return {"type": "enabled", "token_budget": THINKING_BUDGETS[effort]}
    return None


def _penalty(value: Any) -> float:
    return min(1.0, max(0.0, float(value)))


def chat_body(body: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    """Build the Cohere v2 chat request body."""
    if body.get("n") not in (None, 1):
        raise TranslationError("n > 1 is not supported by cohere", "n")
    if not body.get("model"):
        raise TranslationError("model is required", "model")
    out: dict[str, Any] = {"model": body["model"], "messages": convert_messages(body.get("messages") or [])}
    if body.get("tools"):
        tools, strict, choice = _tools(body["tools"], body.get("tool_choice"))
        out["tools"] = tools
        if strict:
            out["strict_tools"] = True
        if choice:
            out["tool_choice"] = choice
    max_tokens = max_tokens_of(body)
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    stops = stop_list(body.get("stop"))
    if stops:
        out["stop_sequences"] = stops
    for name, native in (("temperature", "temperature"), ("seed", "seed"), ("top_p", "p"), ("top_k", "k")):
        if body.get(name) is not None:
            out[native] = body[name]
    for name in ("frequency_penalty", "presence_penalty"):
        if body.get(name) is not None:
            out[name] = _penalty(body[name])
    response_format = _response_format(body.get("response_format"))
    if response_format is not None:
        out["response_format"] = response_format
    thinking = _thinking(body)
    if thinking is not None:
        out["thinking"] = thinking
    for key in _NATIVE:
        if key in body:
            out[key] = body[key]
    out["stream"] = stream
    return merge_native(out, body)


# -- chat response -------------------------------------------------------------------------------


def cohere_usage(raw: Any) -> dict[str, Any]:
    """Map Cohere usage (``tokens``, else ``billed_units``) to OpenAI's."""
    raw = raw if isinstance(raw, Mapping) else {}
    counts = raw.get("tokens") or raw.get("billed_units") or {}
    cached = raw.get("cached_tokens")
    return usage(
        int(counts.get("input_tokens") or 0),
        int(counts.get("output_tokens") or 0),
        cached=int(cached) if cached is not None else None,
    )


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in calls or []:
        function = call.get("function") or {}
        out.append(
            {
                "id": call.get("id", ""),
                "type": "function",
                "function": {"name": function.get("name", ""), "arguments": function.get("arguments") or "{}"},
            }
        )
    return out


def to_chat_completion(answer: Mapping[str, Any], target: Target, model: str) -> dict[str, Any]:
    """Map a Cohere v2 chat response to an OpenAI ``chat.completion``."""
    message = answer.get("message") or {}
    text: list[str] = []
    thinking: list[str] = []
    for item in message.get("content") or []:
        if item.get("type") == "text":
            text.append(item.get("text", ""))
        elif item.get("type") == "thinking":
            thinking.append(item.get("thinking", ""))
    if message.get("tool_plan"):
        thinking.append(message["tool_plan"])
    calls = _tool_calls(message.get("tool_calls"))
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        reply["tool_calls"] = calls
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
    if not target.strict and message.get("citations"):
        reply["citations"] = message["citations"]
    return chat_completion(
        id=answer.get("id") or new_id("chatcmpl"),
        model=model,
        provider=target.provider,
        message=reply,
        finish=finish_reason(answer.get("finish_reason") or "COMPLETE", FINISH, target.strict),
        usage=cohere_usage(answer.get("usage")),
    )


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map a Cohere error body (``{"message": ...}``) to OpenAI's envelope."""
    parsed = loads_or_none(body)
    if isinstance(parsed, Mapping) and isinstance(parsed.get("message"), str):
        return error_envelope(target.provider, parsed["message"])
    text = body.decode("utf-8", "replace").strip()[:1000] or f"HTTP {status}"
    return error_envelope(target.provider, text)


# -- chat stream ---------------------------------------------------------------------------------


class CohereStream:
    """Map Cohere v2 stream events to OpenAI chunks."""

    def __init__(self, target: Target, request: Mapping[str, Any]) -> None:
        self.strict = target.strict
        self.writer = ChunkWriter(
            id=new_id("chatcmpl"),
            model=str(request.get("model", "")),
            provider=target.provider,
            include_usage=include_usage(request),
        )
        self.completed = False
        self.finish_reason: Any = None
        self.usage: Any = None

    def _tool_call(self, data: Mapping[str, Any], start: bool) -> list[dict[str, Any]]:
        call = ((data.get("delta") or {}).get("message") or {}).get("tool_calls") or {}
        function = call.get("function") or {}
        entry: dict[str, Any] = {"index": self.writer.tool_call_index(data.get("index"))}
        if start:
            entry["id"] = call.get("id", "")
            entry["type"] = "function"
            entry["function"] = {"name": function.get("name", ""), "arguments": function.get("arguments") or ""}
        else:
            entry["function"] = {"arguments": function.get("arguments") or ""}
        return [self.writer.chunk({"tool_calls": [entry]})]

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Translate one event."""
        data = event.data if isinstance(event.data, Mapping) else {}
        kind = data.get("type") or event.type
        writer = self.writer
        if kind in ("content-delta", "content-start"):
            content = ((data.get("delta") or {}).get("message") or {}).get("content") or {}
            if content.get("thinking"):
                return [writer.chunk({"reasoning_content": content["thinking"]})]
            if content.get("text"):
                return [writer.chunk({"content": content["text"]})]
            return []
        if kind == "tool-call-delta":
            return self._tool_call(data, start=False)
        if kind == "tool-call-start":
            return self._tool_call(data, start=True)
        if kind == "tool-plan-delta":
            plan = ((data.get("delta") or {}).get("message") or {}).get("tool_plan")
            return [writer.chunk({"reasoning_content": plan})] if plan else []
        if kind == "message-start":
            writer.id = data.get("id") or writer.id
            return [writer.chunk({"role": "assistant", "content": ""})]
        if kind == "message-end":
            delta = data.get("delta") or {}
            if delta.get("error"):
                raise StreamError(str(delta["error"]), "provider_error")
            self.finish_reason = delta.get("finish_reason") or "COMPLETE"
            self.usage = delta.get("usage")
            self.completed = True
            return []
        if kind == "error" or event.error:
            raise StreamError(str(data.get("message") or event.data or "stream error"), "provider_error")
        return []  # content-end, tool-call-end, citation-*, debug

    def finish(self) -> list[dict[str, Any]]:
        """The finish chunk and, when asked for, the usage chunk."""
        reason = finish_reason(self.finish_reason, FINISH, self.strict)
        return [self.writer.chunk({}, reason)] + self.writer.usage_chunk(cohere_usage(self.usage))


# -- embeddings ----------------------------------------------------------------------------------


def embed_body(body: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """Build the Cohere v2 embed request body."""
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise TranslationError("cohere embeddings take a string or a list of strings as input", "input")
    out: dict[str, Any] = {
        "model": body.get("model"),
        "texts": texts,
        "input_type": body.get("input_type") or target.option("input_type", default=DEFAULT_INPUT_TYPE),
        "embedding_types": ["float"],
    }
    if isinstance(body.get("dimensions"), int):
        out["output_dimension"] = body["dimensions"]
    if "truncate" in body:
        out["truncate"] = body["truncate"]
    return merge_native(out, body)


def _b64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def to_embeddings(answer: Mapping[str, Any], target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map a Cohere embed response to OpenAI's embeddings list."""
    vectors = (answer.get("embeddings") or {}).get("float")
    if not isinstance(vectors, list):
        raise InvalidResponse(f"Invalid response received from cohere: no float embeddings in {str(answer)[:300]}")
    as_b64 = request.get("encoding_format") == "base64"
    meta = answer.get("meta") or {}
    counts = meta.get("billed_units") or meta.get("tokens") or {}
    tokens = int(counts.get("input_tokens") or 0)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _b64(v) if as_b64 else v} for i, v in enumerate(vectors)
        ],
        "model": request.get("model", ""),
        "provider": target.provider,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# -- the translator ------------------------------------------------------------------------------


class CohereTranslator:
    """OpenAI chat and embeddings <-> Cohere v2."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn in ("chatComplete", "embed")

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return []  # Cohere takes web URLs and data URIs itself

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        if fn == "embed":
            url = root_of(target) + "/v2/embed"
            payload = embed_body(body, target)
            return Built(HttpRequest("POST", url, headers(target), json_bytes(payload)), unmapped(body, EMBED_HANDLED))
        payload = chat_body(body, stream)
        # Cohere may call tools in parallel; only a request to forbid that cannot be honoured.
        skipped = [k for k in unmapped(body, HANDLED) if k != "parallel_tool_calls" or body[k] is False]
        return Built(HttpRequest("POST", root_of(target) + "/v2/chat", headers(target), json_bytes(payload)), skipped)

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        answer = loads_or_none(body)
        if fn == "embed":
            if not isinstance(answer, Mapping):
                raise InvalidResponse(f"Invalid response received from cohere: {body[:500]!r}")
            return to_embeddings(answer, target, request)
        if not isinstance(answer, Mapping) or "message" not in answer:
            raise InvalidResponse(f"Invalid response received from cohere: {body[:500]!r}")
        return to_chat_completion(answer, target, str(request.get("model", "")))

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> CohereStream:
        return CohereStream(target, request)


TRANSLATOR = CohereTranslator()
