"""Relay upstream server-sent events to the client, ending a broken stream with an error event.

``UpstreamEvents`` reads an upstream SSE body as it arrives and hands out batches of
``(raw bytes of whole events, parsed events)``; bytes of an unfinished event are held back,
so a cut never leaves half an event on the client's wire. It records how the stream ended:
``complete`` (clean end at an event boundary), ``cut`` (connection lost or closed mid-event)
or ``stall`` (no bytes within the idle timeout). ``passthrough`` forwards the bytes
unchanged and appends an in-band error (and no ``[DONE]``) when the upstream failed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

from gateway.streaming.endings import broken_off
from gateway.streaming.sse import DONE, ServerSentEvent, SSEDecoder
from gateway.transport.client import BodyFailure, UpstreamResponse

log = logging.getLogger("gateway.streaming.relay")

Batch = tuple[bytes, list[ServerSentEvent]]

_FINISHED = re.compile(r'"finish_reason"\s*:\s*"')


class UpstreamEvents:
    """Iterate an upstream SSE response in batches of whole events."""

    def __init__(self, response: UpstreamResponse, idle_timeout: float) -> None:
        self.response = response
        self.idle_timeout = idle_timeout
        self.ended: str | None = None
        self.detail = ""
        self._chunks = response.iter_content()
        self._decoder = SSEDecoder()
        self._held = bytearray()

    def __iter__(self) -> Iterator[Batch]:
        decoder = self._decoder
        held = self._held
        try:
            for chunk in self._chunks:
                events = decoder.feed(chunk)
                held += chunk
                ready = len(held) - decoder.pending
                if ready > 0:
                    raw = bytes(held[:ready])
                    del held[:ready]
                    yield raw, events
            events, partial = decoder.finish()
            if events:
                raw = bytes(held)
                held.clear()
                yield raw, events
            if partial is not None or held.strip():
                self.ended, self.detail = "cut", "the provider closed the stream in the middle of an event"
            else:
                self.ended = "complete"
        except BodyFailure as failure:
            self.ended, self.detail = broken_off(failure, self.idle_timeout)
            log.info("upstream stream ended early: %s", self.ended)

    def close(self) -> None:
        """Close the upstream response (drops the connection when the body is unread)."""
        self.response.close()


def prime(source: UpstreamEvents) -> tuple[Iterator[Batch], Batch | None]:
    """Read until the first whole event; return the batch iterator and the first batch (None on failure)."""
    batches = iter(source)
    first = next(batches, None)
    return batches, first


def openai_final(event: ServerSentEvent) -> bool:
    """OpenAI chat streams end with ``data: [DONE]``."""
    return event.data == "[DONE]"


def anthropic_final(event: ServerSentEvent) -> bool:
    """Anthropic streams end with ``message_stop`` (an ``error`` event also ends them)."""
    return event.event in ("message_stop", "error")


def responses_final(event: ServerSentEvent) -> bool:
    """Responses streams end with a terminal response event."""
    return event.event in ("response.completed", "response.incomplete", "response.failed", "error")


def passthrough(
    source: UpstreamEvents,
    batches: Iterator[Batch],
    first: Batch,
    error_event: Callable[[str, str], bytes],
    is_final: Callable[[ServerSentEvent], bool] = openai_final,
) -> Iterator[bytes]:
    """Yield the upstream bytes unchanged; end a failed stream with ``error_event(code, message)``.

    For OpenAI streams a clean end after a chunk carrying a ``finish_reason`` but without
    ``[DONE]`` (some compatible servers omit it) is completed with ``[DONE]``.
    """
    finished = False
    last_data = ""
    try:
        raw, events = first
        while True:
            for event in events:
                if is_final(event):
                    finished = True
                elif event.data:
                    last_data = event.data
            if raw:
                yield raw
            if finished:
                for _ in batches:  # read the body's end so the connection can be pooled again
                    pass
                return
            batch = next(batches, None)
            if batch is None:
                break
            raw, events = batch
        if source.ended == "complete" and is_final is openai_final and _FINISHED.search(last_data):
            yield DONE
        elif source.ended == "complete":
            yield error_event("stream_incomplete", "the provider ended the stream before it was complete")
        else:
            yield error_event(f"stream_{source.ended}", source.detail)
    finally:
        source.close()
