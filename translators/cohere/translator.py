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

The answers, streams and errors are mapped in ``translators/cohere_response.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.cohere.response import CohereStream, to_chat_completion, to_embeddings, to_error
from translators.contract import Built, HttpRequest, InvalidResponse, Target, TranslationError
from translators.openai_shapes import (
    image_url_of,
    json_bytes,
    loads_or_none,
    max_tokens_of,
    merge_native,
    parts_of,
    stop_list,
    text_of,
    unmapped,
)

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
