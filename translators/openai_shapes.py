"""Helpers translators share for OpenAI-shaped data: ids, texts, images, usage, completions, errors, chunks."""

from __future__ import annotations

import base64
import re
import struct
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

#: The documented body field whose object is merged into the provider-native request as-is.
from translators.contract import (
    COMMON_CHAT_PARAMS,
    NATIVE_PARAMS,
)


def json_bytes(obj: Any) -> bytes:
    """Serialise a request body."""
    return orjson.dumps(obj)


def merge_native(native: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the caller's ``native_params`` object over a provider-native request body."""
    extra = body.get(NATIVE_PARAMS)
    if isinstance(extra, Mapping):
        for key, value in extra.items():
            if isinstance(value, Mapping) and isinstance(native.get(key), dict):
                native[key] = {**native[key], **value}
            else:
                native[key] = value
    return native


def unmapped(body: Mapping[str, Any], handled: Iterable[str]) -> list[str]:
    """Return the body keys a translator neither mapped nor knows to ignore, sorted."""
    known = COMMON_CHAT_PARAMS.union(handled)
    return sorted(key for key in body if key not in known)


def new_id(prefix: str) -> str:
    """Return a fresh response id like ``chatcmpl-<hex>``."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    """The current time in whole seconds (OpenAI's ``created``)."""
    return int(time.time())


def text_of(content: Any, sep: str = "") -> str:
    """Return the text of OpenAI message content (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return sep.join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def parts_of(content: Any) -> list[dict[str, Any]]:
    """Return OpenAI message content as a list of parts (a string becomes one text part)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [p for p in content if isinstance(p, dict)]


_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,(?P<data>.*)$", re.S)


def data_url(url: str) -> tuple[str, str] | None:
    """Split a base64 ``data:`` URL into ``(media type, base64 text)``, or None."""
    match = _DATA_URL.match(url)
    if not match:
        return None
    return match.group("mime") or "application/octet-stream", match.group("data")


def image_url_of(part: Mapping[str, Any]) -> str | None:
    """Return the URL of an ``image_url`` part (both the object and the bare-string forms)."""
    image = part.get("image_url")
    if isinstance(image, Mapping):
        url = image.get("url")
        return url if isinstance(url, str) else None
    return image if isinstance(image, str) else None


def remote_image_urls(messages: Any) -> list[str]:
    """Return the http(s) image URLs in chat messages, in order, without duplicates."""
    urls: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            continue
        for part in parts_of(message.get("content")):
            if part.get("type") == "image_url":
                url = image_url_of(part)
                if url and url.startswith(("http://", "https://")) and url not in urls:
                    urls.append(url)
    return urls


def arguments_object(arguments: Any) -> Any:
    """Parse a tool call's JSON ``arguments`` string into an object (``{}`` when empty or invalid)."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not arguments:
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def stop_list(stop: Any) -> list[str] | None:
    """Normalise OpenAI ``stop`` (string or list) to a list, or None."""
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    return [s for s in stop if isinstance(s, str)]


def max_tokens_of(body: Mapping[str, Any]) -> int | None:
    """Return ``max_completion_tokens`` or ``max_tokens``."""
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return value if isinstance(value, int) else None


def finish_reason(value: Any, mapping: Mapping[str, str], strict: bool) -> str | None:
    """Map a provider stop reason to OpenAI's (``stop`` when unknown); raw values when not strict."""
    if value is None:
        return None
    if not strict:
        return str(value)
    return mapping.get(str(value), "stop")


def usage(
    prompt: int,
    completion: int,
    *,
    cached: int | None = None,
    reasoning: int | None = None,
    total: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build an OpenAI ``usage`` object (token details included when known)."""
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion if total is None else total,
    }
    if cached is not None:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    if extra:
        out.update(extra)
    return out


def chat_completion(
    *,
    id: str,
    model: str,
    provider: str,
    message: dict[str, Any],
    finish: str | None,
    usage: dict[str, Any] | None,
    created: int | None = None,
) -> dict[str, Any]:
    """Build an OpenAI ``chat.completion`` body."""
    out: dict[str, Any] = {
        "id": id,
        "object": "chat.completion",
        "created": created or now(),
        "model": model,
        "provider": provider,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        out["usage"] = usage
    return out


def error_envelope(
    provider: str, message: str, error_type: Any = None, param: Any = None, code: Any = None
) -> dict[str, Any]:
    """Build OpenAI's error envelope with the ``"<provider> error: "`` prefix."""
    return {
        "error": {"message": f"{provider} error: {message}", "type": error_type, "param": param, "code": code},
        "provider": provider,
    }


def append_turn(turns: list[dict[str, Any]], role: str, items: list[Any], key: str = "content") -> None:
    """Append a conversation turn, merged into the previous one when the role repeats (providers want alternation)."""
    if not items:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][key].extend(items)
    else:
        turns.append({"role": role, key: items})


def text_error(status: int, body: bytes, provider: str) -> dict[str, Any]:
    """Build OpenAI's error envelope from an error body that is not the provider's JSON shape."""
    text = body.decode("utf-8", "replace").strip()[:1000] or f"HTTP {status}"
    return error_envelope(provider, text)


def assistant_message(text: list[str], calls: list[dict[str, Any]], reasoning: list[str]) -> dict[str, Any]:
    """Build an answer's ``message``: content (None when only tools were called), tool calls, reasoning."""
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    return message


def embedding_list(
    vectors: list[list[float]], request: Mapping[str, Any], provider: str, tokens: int
) -> dict[str, Any]:
    """Build OpenAI's embeddings list (vectors as base64 float32 when the request asks for it)."""
    as_base64 = request.get("encoding_format") == "base64"
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() if as_base64 else v,
        }
        for i, v in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": str(request.get("model", "")),
        "provider": provider,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def loads_or_none(body: bytes) -> Any:
    """Parse JSON, or return None."""
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None


class ChunkWriter:
    """Build OpenAI ``chat.completion.chunk`` objects for one stream."""

    def __init__(self, *, id: str, model: str, provider: str, include_usage: bool) -> None:
        self.id = id
        self.model = model
        self.provider = provider
        self.include_usage = include_usage
        self.created = now()
        self.tool_index: dict[Any, int] = {}

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        """A chunk with one choice."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "provider": self.provider,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    def usage_chunk(self, usage_obj: dict[str, Any]) -> list[dict[str, Any]]:
        """The final usage chunk (empty ``choices``), when the client asked for it."""
        if not self.include_usage:
            return []
        return [
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "provider": self.provider,
                "choices": [],
                "usage": usage_obj,
            }
        ]

    def tool_call_index(self, key: Any) -> int:
        """Return the OpenAI ``index`` of a tool call: the ordinal of its native block, in arrival order."""
        if key not in self.tool_index:
            self.tool_index[key] = len(self.tool_index)
        return self.tool_index[key]


def include_usage(body: Mapping[str, Any]) -> bool:
    """Whether the client asked for a final usage chunk."""
    options = body.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _text_message(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text[:1000] if text else "empty response body"


def wire_error_envelope(provider: str, status: int, body: bytes, content_type: str = "") -> dict[str, Any]:
    """Map a provider's error body to OpenAI's envelope with a ``"<provider> error: "`` prefix."""
    message: Any = None
    error_type = param = code = None
    parsed: Any = None
    if body and "html" not in content_type:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        if isinstance(err, dict):
            message = err.get("message") or err.get("detail") or err.get("msg")
            status = err.get("status")
            error_type = err.get("type") or (status if isinstance(status, str) else None)
            param = err.get("param")
            code = err.get("code")
        elif isinstance(err, str):
            message = err
        if message is None and isinstance(parsed.get("message"), str):
            message = parsed["message"]
        if message is None:
            message = orjson.dumps(parsed).decode()
    if message is None:
        message = _text_message(body)
    if not isinstance(message, str):
        message = orjson.dumps(message).decode()
    return {
        "error": {"message": f"{provider} error: {message}", "type": error_type, "param": param, "code": code},
        "provider": provider,
    }
