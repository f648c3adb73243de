"""The contract every provider translator implements, and the pieces they share.

A translator maps between OpenAI Chat Completions / Embeddings (the canonical format) and
one provider's native API. It is pure: the gateway does the I/O (HTTP, token fetches,
image downloads) and hands the translator plain data. A provider module exposes a
``TRANSLATOR`` object with:

``supports(fn)``
    whether it serves the unified endpoint ``fn`` (``chatComplete``, ``embed``, ...);
``images_to_fetch(fn, body)``
    http(s) URLs it needs as bytes (the gateway downloads them, SSRF-checked and size-capped,
    and passes them back in ``Target.fetched``);
``build_request(fn, body, target, stream) -> Built``
    the native request (method, URL, headers, body) and the OpenAI params it could not map;
``parse_response(fn, body, target, request) -> dict``
    a native 2xx body to the OpenAI response;
``parse_error(status, body, content_type, target) -> dict``
    a native error body to OpenAI's error envelope;
``stream(fn, target, request) -> StreamTranslator``
    a stateful mapper from native stream events to OpenAI chunks;
``stream_format``
    how the gateway decodes the native stream: ``"sse"`` or ``"aws-eventstream"``;
``passthrough`` (optional, default False)
    the provider answers in OpenAI's format already (Azure OpenAI): the gateway relays 2xx bodies
    and streams byte for byte and only ``parse_error`` is used on the way back;
``route(fn, target, method, path, query)`` and ``body_model(fn, target)`` (optional)
    for providers whose non-chat endpoints live at provider-specific URLs (Azure OpenAI's
    deployment and resource paths): the URL of an endpoint call and the ``model`` its body names.
"""

from __future__ import annotations

import base64
import re
import struct
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

#: The documented body field whose object is merged into the provider-native request as-is.
NATIVE_PARAMS = "native_params"

#: OpenAI chat parameters every translator understands or deliberately ignores (never reported).
COMMON_CHAT_PARAMS = frozenset({"model", "messages", "stream", "stream_options", NATIVE_PARAMS})


class TranslationError(Exception):
    """A request that cannot be expressed for this provider (rendered as a 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Fetched:
    """An image or document the gateway downloaded for a translator."""

    media_type: str
    data: bytes

    @property
    def b64(self) -> str:
        """The bytes as standard base64 text."""
        return base64.b64encode(self.data).decode()


@dataclass(frozen=True)
class Target:
    """What a translator knows about the provider it is calling."""

    provider: str
    base_url: str = ""
    custom_host: str | None = None
    api_key: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    strict: bool = True
    credentials: Mapping[str, Any] = field(default_factory=dict)
    fetched: Mapping[str, Fetched] = field(default_factory=dict)
    #: The provider's response headers (lower-case names), set when a response is parsed.
    response_headers: Mapping[str, str] = field(default_factory=dict)

    def option(self, *names: str, default: Any = None) -> Any:
        """Return the first provider option set under any of ``names``."""
        for name in names:
            value = self.options.get(name)
            if value not in (None, ""):
                return value
        return default


@dataclass
class HttpRequest:
    """A provider request, ready to send."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass
class Built:
    """A built request plus the OpenAI params the provider cannot take."""

    request: HttpRequest
    unmapped: list[str] = field(default_factory=list)


@dataclass
class StreamEvent:
    """One decoded native stream event: its type (SSE ``event:`` or AWS ``:event-type``) and JSON data."""

    type: str
    data: Any
    error: bool = False


class StreamTranslator(Protocol):
    """Map native stream events to OpenAI chunks (dicts; the gateway serialises them)."""

    #: True once the provider signalled a complete answer (its stop event).
    completed: bool

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]: ...


class InvalidResponse(Exception):
    """A 2xx provider body the translator cannot read (rendered as a 502)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProviderRefusal(Exception):
    """A 2xx answer in which the provider declined the request (content filtered): a non-retriable error."""

    def __init__(self, message: str, status: int = 400, code: str = "content_policy_violation") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class StreamError(Exception):
    """A provider error reported inside a stream (ends it with an in-band error)."""

    def __init__(self, message: str, code: str = "provider_error", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class Translator(Protocol):
    """What a provider module exposes as ``TRANSLATOR``."""

    stream_format: str

    def supports(self, fn: str) -> bool: ...

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]: ...

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built: ...

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]: ...

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]: ...

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> StreamTranslator: ...


# -- shared helpers ------------------------------------------------------------------------------


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


def system_texts(messages: list[Mapping[str, Any]]) -> list[str]:
    """Return the text of every system and developer message, in order."""
    return [text_of(m.get("content"), "\n") for m in messages if m.get("role") in ("system", "developer")]


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
