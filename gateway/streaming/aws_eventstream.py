"""Decode AWS binary event streams (Bedrock ``ConverseStream``) with botocore.

botocore's ``EventStreamBuffer`` reassembles frames split across (or sharing) network reads
and checks both CRCs. ``AWSEventStream`` mirrors ``relay.UpstreamEvents``: it yields
``(b"", [StreamEvent, ...])`` batches and records how the stream ended.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import urllib3
from botocore.eventstream import EventStreamBuffer, ParserError

from gateway.streaming.relay import is_timeout
from gateway.transport.client import UpstreamResponse
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
        self._buffer = EventStreamBuffer()

    def __iter__(self) -> Iterator[tuple[bytes, list[StreamEvent]]]:
        buffer = self._buffer
        try:
            for chunk in self.response.iter_content():
                buffer.add_data(chunk)
                events = [decode_message(message) for message in buffer]
                if events:
                    yield b"", events
            if buffer._data:
                self.ended, self.detail = "cut", "the provider closed the stream in the middle of a frame"
            else:
                self.ended = "complete"
        except ParserError as exc:
            self.ended, self.detail = (
                "cut",
                f"the provider sent a corrupt event-stream frame ({exc.__class__.__name__})",
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if is_timeout(exc):
                self.ended, self.detail = "stall", f"no data from the provider for {self.idle_timeout:g}s"
            else:
                self.ended, self.detail = "cut", "the connection to the provider was lost mid-stream"
            log.info("event stream ended early: %s (%s)", self.ended, exc.__class__.__name__)

    def close(self) -> None:
        """Close the upstream response."""
        self.response.close()
