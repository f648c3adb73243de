"""Answer clients in the API format they spoke: Anthropic Messages or OpenAI Responses.

Routing and providers work in OpenAI chat terms; a ``ClientFormat`` converts on the way out:
``success`` maps a chat completion to the client's response body, ``error`` maps an error body,
``encoder`` writes streamed chat chunks as the client's events. OpenAI Chat Completions clients
have no format object (``call.format is None``): bodies and streams pass unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from translators.contract import StreamError, StreamEvent
from translators.formats import messages as messages_api
from translators.formats import responses_api
from translators.formats.responses_stream import EventWriter as ResponsesWriter


def encode(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    """Encode named events as SSE (``event:`` + ``data:``), one write."""
    return b"".join(b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n" for name, data in events)


class OpenAIChunks:
    """The identity stream mapper for OpenAI-format upstreams (used when the client speaks another format)."""

    def __init__(self) -> None:
        self.completed = False

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Pass chunks through; ``[DONE]`` completes the stream; an error payload is an error."""
        data = event.data
        if data == "[DONE]":
            self.completed = True
            return []
        if isinstance(data, Mapping):
            if isinstance(data.get("error"), Mapping):
                error = data["error"]
                raise StreamError(
                    str(error.get("message") or "stream error"), str(error.get("code") or "provider_error")
                )
            return [dict(data)]
        return []

    def finish(self) -> list[dict[str, Any]]:
        """Nothing to add at the end."""
        return []


class AnthropicEncoder:
    """Write chat chunks as Anthropic Messages stream events."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.writer = messages_api.EventWriter(request)

    def chunks(self, chunks: list[dict[str, Any]]) -> bytes:
        events: list[tuple[str, dict[str, Any]]] = []
        for chunk in chunks:
            events += self.writer.chunk(chunk)
        return encode(events)

    def done(self) -> bytes:
        return encode(self.writer.done())

    def error(self, code: str, message: str) -> bytes:
        kind = "overloaded_error" if code == "overloaded_error" else "api_error"
        return encode([("error", messages_api.error_body(500, message, kind))])


class MessagesFormat:
    """The Anthropic Messages format (``POST /v1/messages``)."""

    name = "anthropic"

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.request = request

    def encoder(self, provider: str) -> AnthropicEncoder:
        """A stream encoder for one answer."""
        return AnthropicEncoder(self.request)

    def success(self, chat: Mapping[str, Any]) -> dict[str, Any]:
        """A Messages response for a chat completion."""
        return messages_api.to_message(chat, self.request)

    def error(self, status: int, body: Any) -> dict[str, Any]:
        """Anthropic's error envelope for any error body."""
        return messages_api.error_body(status, error_message(body), error_type(body))


class ResponsesEncoder:
    """Write chat chunks as Responses stream events; report the final response when it ends."""

    def __init__(self, fmt: "ResponsesFormat") -> None:
        self.fmt = fmt
        self.writer = ResponsesWriter(fmt.request, fmt.response_id, fmt.created_at)

    def chunks(self, chunks: list[dict[str, Any]]) -> bytes:
        events: list[tuple[str, dict[str, Any]]] = []
        for chunk in chunks:
            events += self.writer.chunk(chunk)
        return encode(events)

    def done(self) -> bytes:
        events = self.writer.done()
        self.fmt.finished(self.writer.response)
        return encode(events)

    def error(self, code: str, message: str) -> bytes:
        events = self.writer.failed(code, message)
        self.fmt.finished(self.writer.response)
        return encode(events)


class ResponsesFormat:
    """The OpenAI Responses format (``POST /v1/responses``) for providers without it."""

    name = "responses"

    def __init__(
        self,
        request: Mapping[str, Any],
        response_id: str,
        created_at: float,
        on_finished: Callable[[dict[str, Any]], None],
    ) -> None:
        self.request = request
        self.response_id = response_id
        self.created_at = created_at
        self._on_finished = on_finished
        #: A ``previous_response_id`` the gateway does not hold (fatal unless the provider has it natively).
        self.missing_previous: str | None = None

    def encoder(self, provider: str) -> ResponsesEncoder:
        """A stream encoder for one answer."""
        return ResponsesEncoder(self)

    def success(self, chat: Mapping[str, Any]) -> dict[str, Any]:
        """The ``response`` object for a chat completion (stored when ``store`` is not false)."""
        response = responses_api.to_response(chat, self.request, self.response_id, self.created_at)
        self.finished(response)
        return response

    def finished(self, response: dict[str, Any]) -> None:
        """Hand the final response to the store."""
        self._on_finished(response)

    def error(self, status: int, body: Any) -> Any:
        """Responses errors use OpenAI's envelope: keep it (gateway errors already carry ``error``)."""
        return body


def error_message(body: Any) -> str:
    """The message of an error body in any of the gateway's shapes."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
        if body.get("message"):
            return str(body["message"])
    return "request failed"


def error_type(body: Any) -> str | None:
    """The provider's error type, when it names one Anthropic also uses."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        kind = body["error"].get("type")
        return str(kind) if kind else None
    return None
