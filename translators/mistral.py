"""Shape OpenAI requests for Mistral AI's near-OpenAI API and smooth over where it differs.

Facts (docs.mistral.ai API reference, mistralai/client-python models): ``POST /chat/completions``,
``/fim/completions`` and ``/embeddings`` with ``Authorization: Bearer``. Request bodies are
validated strictly: an unknown field is a 422 ``extra_forbidden`` error, so only documented
fields are sent. Chat accepts ``model, messages, temperature, top_p, max_tokens, stream, stop,
random_seed, metadata, response_format, tools, tool_choice (auto|none|any|required|named),
presence_penalty, frequency_penalty, n, prediction, parallel_tool_calls, reasoning_effort,
prompt_mode, guardrails, prompt_cache_key, safe_prompt``; messages accept ``system``/``user``
``{role, content}``, ``assistant {role, content, tool_calls, prefix}`` and ``tool {role, content,
tool_call_id, name}``. FIM accepts ``model, prompt, suffix, temperature, top_p, max_tokens,
min_tokens, stream, stop, random_seed, metadata, prompt_cache_key``; embeddings ``model, input,
output_dimension, output_dtype, encoding_format, metadata``.

Mapping: ``max_completion_tokens`` -> ``max_tokens``, ``seed`` -> ``random_seed``,
``dimensions`` -> ``output_dimension``, ``developer`` -> ``system``, ``tool_choice: required``
-> ``any``. Mistral has no ``stream_options``: its last stream chunk carries ``usage``, which is
taken off that chunk and re-emitted as OpenAI's final usage chunk (empty ``choices``) when the
client asked for ``include_usage``. Any other field (``user``, ``logprobs``, ``logit_bias``,
``service_tier``, ``top_k``, message fields such as ``name`` on a user turn, ...) is left out
rather than forwarded, because a single unknown field fails the whole request; such fields are
named in ``Built.unmapped`` (``messages[].<field>`` for message fields) and can still be forced
through ``native_params``. ``complete`` is served as fill-in-the-middle when the option
``mistral_fim_completion`` is ``"true"``. Finish reasons: ``stop``, ``length``, ``model_length``
(-> length), ``tool_calls``, ``error`` (-> stop). Answers may carry list content (text and
``thinking`` chunks); thinking text becomes ``reasoning_content``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from translators.base import (
    NATIVE_PARAMS,
    Built,
    ChunkWriter,
    HttpRequest,
    InvalidResponse,
    StreamError,
    StreamEvent,
    Target,
    TranslationError,
    error_envelope,
    finish_reason,
    include_usage,
    json_bytes,
    loads_or_none,
    merge_native,
    now,
)

CHAT_FIELDS = frozenset(
    {
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
)
FIM_FIELDS = frozenset(
    {
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
)
EMBED_FIELDS = frozenset({"model", "input", "output_dimension", "output_dtype", "encoding_format", "metadata"})
#: OpenAI name -> Mistral name.
RENAMES = {"max_completion_tokens": "max_tokens", "seed": "random_seed", "dimensions": "output_dimension"}
MESSAGE_FIELDS = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "prefix"}),
    "tool": frozenset({"role", "content", "tool_call_id", "name"}),
}
FINISH = {"stop": "stop", "length": "length", "model_length": "length", "tool_calls": "tool_calls", "error": "stop"}
PATHS = {"chatComplete": "/chat/completions", "complete": "/fim/completions", "embed": "/embeddings"}


# -- requests ------------------------------------------------------------------------------------


def _messages(messages: Any, dropped: set[str]) -> list[Any]:
    out = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            out.append(message)
            continue
        role = "system" if message.get("role") == "developer" else message.get("role")
        allowed = MESSAGE_FIELDS.get(str(role))
        if allowed is None:
            out.append(dict(message))
            continue
        kept = {"role": role}
        for key, value in message.items():
            if key in allowed:
                if key != "role":
                    kept[key] = value
            elif value not in (None, [], "", {}):
                dropped.add(f"messages[].{key}")
        out.append(kept)
    return out


def _select(body: Mapping[str, Any], fields: frozenset[str]) -> tuple[dict[str, Any], set[str]]:
    """Keep the fields Mistral accepts (renaming OpenAI ones); return the rest as dropped names."""
    out: dict[str, Any] = {}
    dropped: set[str] = set()
    for key, value in body.items():
        name = RENAMES.get(key, key)
        if name in fields:
            if key == name or name not in body:  # an explicit Mistral name wins over the OpenAI one
                out[name] = value
        elif key not in ("stream_options", NATIVE_PARAMS):
            dropped.add(key)
    return out, dropped


def chat_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the Mistral chat body and the names of the params left out."""
    out, dropped = _select(body, CHAT_FIELDS)
    out["messages"] = _messages(body.get("messages"), dropped)
    if out.get("tool_choice") == "required":
        out["tool_choice"] = "any"
    return merge_native(out, body), sorted(dropped)


def fim_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the Mistral FIM body from an OpenAI completions request."""
    if not isinstance(body.get("prompt"), str):
        raise TranslationError("mistral-ai fill-in-the-middle needs prompt as one string", "prompt")
    out, dropped = _select(body, FIM_FIELDS)
    return merge_native(out, body), sorted(dropped)


def embed_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the Mistral embeddings body."""
    out, dropped = _select(body, EMBED_FIELDS)
    return merge_native(out, body), sorted(dropped)


# -- answers -------------------------------------------------------------------------------------


def _text_and_thinking(content: Any) -> tuple[Any, str]:
    """Split Mistral list content into ``(text, thinking text)``; strings pass unchanged."""
    if not isinstance(content, list):
        return content, ""
    text: list[str] = []
    thinking: list[str] = []
    for chunk in content:
        if not isinstance(chunk, Mapping):
            continue
        if chunk.get("type") == "text":
            text.append(chunk.get("text", ""))
        elif chunk.get("type") == "thinking":
            inner = chunk.get("thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            else:
                thinking.extend(p.get("text", "") for p in inner or [] if isinstance(p, Mapping))
    return "".join(text), "".join(thinking)


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value if value is not None else {}).decode()


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(message)
    text, thinking = _text_and_thinking(message.get("content"))
    out["content"] = text
    if thinking:
        out["reasoning_content"] = thinking
    if message.get("tool_calls"):
        out["tool_calls"] = [
            {
                "id": call.get("id", ""),
                "type": "function",
                "function": {
                    "name": (call.get("function") or {}).get("name", ""),
                    "arguments": _arguments((call.get("function") or {}).get("arguments")),
                },
            }
            for call in message["tool_calls"]
        ]
    return out


def to_chat_completion(answer: dict[str, Any], target: Target) -> dict[str, Any]:
    """Map a Mistral chat answer: list content, finish reasons, the ``provider`` field."""
    choices = []
    for choice in answer.get("choices") or []:
        mapped = dict(choice)
        mapped["message"] = _message(choice.get("message") or {})
        mapped["finish_reason"] = finish_reason(choice.get("finish_reason"), FINISH, target.strict)
        mapped.setdefault("logprobs", None)
        choices.append(mapped)
    return {**answer, "object": "chat.completion", "choices": choices, "provider": target.provider}


def to_text_completion(answer: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """Map a Mistral FIM answer (chat-shaped) to an OpenAI ``text_completion``."""
    choices = []
    for choice in answer.get("choices") or []:
        text, _ = _text_and_thinking((choice.get("message") or {}).get("content"))
        choices.append(
            {
                "index": choice.get("index", 0),
                "text": text or "",
                "logprobs": None,
                "finish_reason": finish_reason(choice.get("finish_reason"), FINISH, target.strict),
            }
        )
    out = {
        "id": answer.get("id", ""),
        "object": "text_completion",
        "created": answer.get("created") or now(),
        "model": answer.get("model", ""),
        "provider": target.provider,
        "choices": choices,
    }
    if answer.get("usage") is not None:
        out["usage"] = answer["usage"]
    return out


def _error_message(raw: Any) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("detail"), (list, str)):
        raw = raw["detail"]
    if isinstance(raw, list):
        parts = []
        for item in raw:
            if isinstance(item, Mapping):
                loc = ".".join(str(p) for p in item.get("loc") or [])
                parts.append(f"{loc}: {item.get('msg', item.get('type', 'invalid'))}" if loc else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return raw if isinstance(raw, str) else orjson.dumps(raw).decode()


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map a Mistral error (``message`` string or validation ``detail`` list) to OpenAI's envelope."""
    parsed = loads_or_none(body)
    if isinstance(parsed, Mapping):
        raw = parsed.get("message") if parsed.get("message") is not None else parsed.get("detail")
        if raw is not None:
            return error_envelope(
                target.provider, _error_message(raw), parsed.get("type"), parsed.get("param"), parsed.get("code")
            )
    text = body.decode("utf-8", "replace").strip()[:1000] or f"HTTP {status}"
    return error_envelope(target.provider, text)


# -- streams -------------------------------------------------------------------------------------


class MistralStream:
    """Re-emit Mistral's OpenAI-shaped chunks, fixing usage, tool-call indices and finish reasons."""

    def __init__(self, fn: str, target: Target, request: Mapping[str, Any]) -> None:
        self.fim = fn == "complete"
        self.strict = target.strict
        self.provider = target.provider
        self.writer = ChunkWriter(
            id="", model=str(request.get("model", "")), provider=target.provider, include_usage=include_usage(request)
        )
        self.by_native_index: dict[Any, int] = {}
        self.usage: Any = None
        self.completed = False

    def _tool_calls(self, calls: list[Any]) -> list[dict[str, Any]]:
        out = []
        for call in calls:
            native = call.get("index", 0)
            call_id = call.get("id")
            if call_id:
                index = self.writer.tool_call_index(("id", call_id))
                self.by_native_index[native] = index
            else:
                index = self.by_native_index.get(native)
                if index is None:
                    index = self.writer.tool_call_index(("index", native))
            entry: dict[str, Any] = {"index": index}
            if call_id:
                entry["id"] = call_id
                entry["type"] = "function"
            function = call.get("function")
            if isinstance(function, Mapping):
                entry["function"] = {**function, "arguments": _arguments(function.get("arguments", ""))}
            out.append(entry)
        return out

    def _choice(self, choice: Mapping[str, Any]) -> dict[str, Any]:
        delta = dict(choice.get("delta") or {})
        text, thinking = _text_and_thinking(delta.get("content"))
        if "content" in delta:
            delta["content"] = text
        if thinking:
            delta["reasoning_content"] = thinking
        if delta.get("tool_calls"):
            delta["tool_calls"] = self._tool_calls(delta["tool_calls"])
        reason = finish_reason(choice.get("finish_reason"), FINISH, self.strict)
        if self.fim:
            return {"index": choice.get("index", 0), "text": text or "", "logprobs": None, "finish_reason": reason}
        return {"index": choice.get("index", 0), "delta": delta, "logprobs": None, "finish_reason": reason}

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Translate one event."""
        data = event.data
        if data == "[DONE]":
            self.completed = True
            return []
        if not isinstance(data, Mapping):
            return []
        if event.error or data.get("object") == "error" or "error" in data:
            error = data.get("error") if isinstance(data.get("error"), Mapping) else data
            raise StreamError(_error_message(error.get("message") or "stream error"), str(error.get("type") or "error"))
        if data.get("usage") is not None:
            self.usage = data["usage"]
        writer = self.writer
        writer.id = data.get("id") or writer.id
        writer.model = data.get("model") or writer.model
        choices = data.get("choices") or []
        if not choices:
            return []
        return [
            {
                "id": writer.id,
                "object": "text_completion" if self.fim else "chat.completion.chunk",
                "created": data.get("created") or writer.created,
                "model": writer.model,
                "provider": self.provider,
                "choices": [self._choice(c) for c in choices],
            }
        ]

    def finish(self) -> list[dict[str, Any]]:
        """The usage chunk, when the client asked for it and Mistral reported usage."""
        if self.usage is None:
            return []
        chunks = self.writer.usage_chunk(dict(self.usage))
        if self.fim:
            for chunk in chunks:
                chunk["object"] = "text_completion"
        return chunks


# -- the translator ------------------------------------------------------------------------------


class MistralTranslator:
    """OpenAI chat, FIM completions and embeddings <-> Mistral AI."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn in PATHS

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return []  # Mistral fetches image URLs itself

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        if fn == "complete":
            if str(target.option("mistral_fim_completion", default="")).lower() != "true":
                raise TranslationError(
                    "mistral-ai serves completions only as fill-in-the-middle: set mistral_fim_completion to true",
                    "mistral_fim_completion",
                )
            payload, skipped = fim_body(body)
        elif fn == "embed":
            payload, skipped = embed_body(body)
        else:
            payload, skipped = chat_body(body)
        headers = {"content-type": "application/json", "accept": "application/json"}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        base = (target.custom_host or target.base_url).rstrip("/")
        return Built(HttpRequest("POST", base + PATHS[fn], headers, json_bytes(payload)), skipped)

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        answer = loads_or_none(body)
        if fn == "embed" and isinstance(answer, dict) and "data" in answer:
            return {**answer, "provider": target.provider}
        if not isinstance(answer, dict) or "choices" not in answer:
            raise InvalidResponse(f"Invalid response received from {target.provider}: {body[:500]!r}")
        if fn == "complete":
            return to_text_completion(answer, target)
        return to_chat_completion(answer, target)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> MistralStream:
        return MistralStream(fn, target, request)


TRANSLATOR = MistralTranslator()
