"""Relay a native provider stream to the client through a translator.

The source (``UpstreamEvents`` for SSE, ``AWSEventStream`` for Bedrock) yields batches of
decoded events; the translator turns them into OpenAI chunks; an encoder writes them in the
client's wire format (``OpenAIEncoder`` here). A stream the provider did not complete (cut,
stalled, ended without its stop event) or that carried an error event ends with an in-band
error and no ``[DONE]``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from gateway.core.errors import ProviderError
from gateway.core.outcomes import error_result, stream_failed_early, stream_headers
from gateway.core.result import Result
from gateway.streaming.relay import UpstreamEvents, openai_final, passthrough, prime
from gateway.streaming.sse import DONE, ServerSentEvent, encode_json_event
from gateway.transport.client import UpstreamFailure
from translators.contract import StreamError, StreamEvent, StreamTranslator

if TYPE_CHECKING:
    from gateway.core.plan import Leaf
    from gateway.exchanges.base import ExchangeContext
    from gateway.transport.client import Timeout, UpstreamResponse

log = logging.getLogger("gateway.streaming.translation")


class Encoder(Protocol):
    """Write OpenAI chunks in the client's stream format."""

    def chunks(self, chunks: list[dict[str, Any]]) -> bytes: ...

    def done(self) -> bytes: ...

    def error(self, code: str, message: str) -> bytes: ...


class OpenAIEncoder:
    """OpenAI Chat Completions SSE: ``data: {chunk}`` events and ``data: [DONE]``."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def chunks(self, chunks: list[dict[str, Any]]) -> bytes:
        """Encode chunks as one write."""
        return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks)

    def done(self) -> bytes:
        """The end marker."""
        return DONE

    def error(self, code: str, message: str) -> bytes:
        """An in-band error event the OpenAI SDK raises on."""
        return encode_json_event(
            {
                "error": {
                    "message": f"{self.provider} error: {message}",
                    "type": "stream_error",
                    "param": None,
                    "code": code,
                }
            }
        )


def to_stream_events(events: Iterable[Any]) -> list[StreamEvent]:
    """Convert decoded SSE events (JSON data parsed) to ``StreamEvent``; AWS events pass unchanged."""
    out: list[StreamEvent] = []
    for event in events:
        if isinstance(event, StreamEvent):
            out.append(event)
            continue
        assert isinstance(event, ServerSentEvent)
        data: Any = event.data
        if data and data[0] in "{[":
            with contextlib.suppress(orjson.JSONDecodeError):
                data = orjson.loads(data)
        out.append(StreamEvent(event.event, data, error=event.event == "error"))
    return out


def first_chunks(translator: StreamTranslator, events: list[StreamEvent]) -> list[dict[str, Any]]:
    """Translate the first batch; a ``StreamError`` here fails the attempt before the client sees a byte."""
    chunks: list[dict[str, Any]] = []
    for event in events:
        chunks.extend(translator.on_event(event))
    return chunks


def translated(
    source: Any,
    batches: Iterator[tuple[bytes, list[Any]]],
    first: list[dict[str, Any]],
    translator: StreamTranslator,
    encoder: Encoder,
) -> Iterator[bytes]:
    """Yield the encoded stream: the first batch's chunks, then the rest, then the end or an error."""
    try:
        if first:
            yield encoder.chunks(first)
        for _raw, events in batches:
            chunks: list[dict[str, Any]] = []
            for event in to_stream_events(events):
                chunks.extend(translator.on_event(event))
            if chunks:
                yield encoder.chunks(chunks)
        if translator.completed:  # the provider's stop event arrived; a later transport hiccup changes nothing
            tail = translator.finish()
            if tail:
                yield encoder.chunks(tail)
            yield encoder.done()
        elif source.ended == "complete":
            yield encoder.error("stream_incomplete", "the provider ended the stream before it was complete")
        else:
            yield encoder.error(f"stream_{source.ended}", source.detail)
    except StreamError as exc:
        log.info("provider reported an error mid-stream: %s", exc.code)
        yield encoder.error(exc.code, exc.message)
    finally:
        source.close()


def primed(ctx: "ExchangeContext", leaf: "Leaf", source: Any, timeout: "Timeout"):
    """Read until the first whole event within the attempt's deadline.

    Returns ``(batches, first batch)``, or a failed ``Result`` (retriable) when the stream broke
    before any event; a stall past a total deadline raises ``UpstreamFailure`` (a 408).
    """
    with ctx.deadline(timeout):
        batches, first = prime(source)
    if first is not None:
        return batches, first
    source.close()
    if source.ended == "stall" and timeout.total is not None:
        raise UpstreamFailure("timeout", source.detail, timeout.total)
    return stream_failed_early(leaf, source.detail or "the provider ended the stream before any event")


def relay_result(
    ctx: "ExchangeContext",
    leaf: "Leaf",
    response: "UpstreamResponse",
    headers: list[tuple[str, str]],
    timeout: "Timeout",
    error_event: Callable[[str, str], bytes],
    is_final: Callable[[ServerSentEvent], bool] = openai_final,
    native_format: bool = False,
) -> Result:
    """A byte-for-byte relayed SSE stream (the client speaks the provider's format)."""
    source = UpstreamEvents(response, timeout.read)
    started = primed(ctx, leaf, source, timeout)
    if isinstance(started, Result):
        return started
    batches, first = started
    stream = passthrough(source, batches, first, error_event, is_final)
    return stream_result(leaf, response.status_code, headers, stream, native_format)


def stream_result(
    leaf: "Leaf", status: int, headers: list[tuple[str, str]], stream: Iterator[bytes], native_format: bool = False
) -> Result:
    """An SSE stream answer with the relayed headers plus the gateway's stream headers."""
    return Result(
        status,
        stream_headers(headers),
        stream=stream,
        content_type="text/event-stream",
        provider=leaf.provider,
        path=leaf.path,
        native_format=native_format,
    )


def translated_result(
    ctx: "ExchangeContext",
    leaf: "Leaf",
    response: "UpstreamResponse",
    source: Any,
    headers: list[tuple[str, str]],
    timeout: "Timeout",
    mapper: StreamTranslator,
    encoder: Encoder,
) -> Result:
    """A stream mapped event by event into the client's format; an error before the first byte fails the attempt."""
    started = primed(ctx, leaf, source, timeout)
    if isinstance(started, Result):
        return started
    batches, first = started
    try:
        chunks = first_chunks(mapper, to_stream_events(first[1]))
    except StreamError as exc:
        source.close()
        error = ProviderError(
            leaf.provider, exc.status or 502, f"{leaf.provider} error: {exc.message}", error_type=exc.code
        )
        return error_result(leaf, error, network=exc.status is None or exc.status >= 500)
    return stream_result(leaf, response.status_code, headers, translated(source, batches, chunks, mapper, encoder))
