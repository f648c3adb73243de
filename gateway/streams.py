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
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import orjson

from gateway.sse import DONE, ServerSentEvent, encode_json_event
from translators.base import StreamError, StreamEvent, StreamTranslator

log = logging.getLogger("gateway.streams")


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
