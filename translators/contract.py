"""The contract every provider translator implements: its protocol, data types and errors.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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
