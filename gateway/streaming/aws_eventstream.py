"""Decode AWS binary event streams (Bedrock ``ConverseStream``) with botocore.

botocore's ``EventStreamBuffer`` (loaded with the first event stream) reassembles frames split
across (or sharing) network reads and checks both CRCs. ``AWSEventStream`` mirrors ``relay.UpstreamEvents``: it yields
``(b"", [StreamEvent, ...])`` batches and records how the stream ended.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson

from gateway.streaming.endings import broken_off
from gateway.transport.client import BodyFailure, UpstreamResponse
from translators.contract import StreamEvent

log = logging.getLogger("gateway.streaming.aws_eventstream")


def decode_message(message) -> StreamEvent:
    """Turn one event-stream message into a ``StreamEvent`` (exceptions flagged as errors)."""
    headers = message.headers
    kind = headers.get(":message-type", "event")
    if kind == "event":
        name = headers.get(":event-type", "")
    else:
        name = headers.get(":exception-type") or headers.get(":error-code") or "exception"
    payload = message.payload
    try:
        data = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        data = {"message": payload.decode("utf-8", "replace")}
    if kind != "event" and isinstance(data, dict) and "message" not in data:
        data["message"] = headers.get(":error-message") or name
    return StreamEvent(name, data, error=kind != "event")


class AWSEventStream:
    """Iterate an upstream AWS event stream in batches of decoded events."""

    def __init__(self, response: UpstreamResponse, idle_timeout: float) -> None:
        self.response = response
        self.idle_timeout = idle_timeout
        self.ended: str | None = None
        self.detail = ""
        from botocore.eventstream import EventStreamBuffer, ParserError  # botocore loads on first use

        self._buffer = EventStreamBuffer()
        self._corrupt = ParserError

    def __iter__(self) -> Iterator[tuple[bytes, list[StreamEvent]]]:
        buffer = self._buffer
        received = consumed = 0
        try:
            for chunk in self.response.iter_content():
                buffer.add_data(chunk)
                received += len(chunk)
                messages = list(buffer)
                consumed += sum(message.prelude.total_length for message in messages)
                if messages:
                    yield b"", [decode_message(message) for message in messages]
            if received != consumed:
                self.ended, self.detail = "cut", "the provider closed the stream in the middle of a frame"
            else:
                self.ended = "complete"
        except self._corrupt as exc:
            self.ended, self.detail = (
                "cut",
                f"the provider sent a corrupt event-stream frame ({exc.__class__.__name__})",
            )
        except BodyFailure as failure:
            self.ended, self.detail = broken_off(failure, self.idle_timeout)
            log.info("event stream ended early: %s", self.ended)

    def close(self) -> None:
        """Close the upstream response."""
        self.response.close()
