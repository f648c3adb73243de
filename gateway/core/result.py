"""Hold the outcome of calling one provider, as the routing engine and the renderer see it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.core.options import first_header


@dataclass
class Result:
    """One leaf's answer: a status, relayable headers and a body or a byte stream."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    stream: Iterator[bytes] | None = None
    content_type: str = "application/json"
    provider: str = ""
    path: str = "config"
    retry_count: int = 0
    network_failure: bool = False
    gateway_exception: bool = False
    error_origin: str | None = None
    cache_status: str = "DISABLED"
    #: The body or stream is already in the client's API format (a provider that speaks it natively).
    native_format: bool = False

    def header(self, name: str) -> str | None:
        """Return the first relayed header called ``name`` (case-insensitive)."""
        return first_header(self.headers, name)

    def close(self) -> None:
        """Release the upstream connection of an unconsumed stream."""
        stream, self.stream = self.stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    @property
    def ok(self) -> bool:
        """Whether the status is a success (2xx, including the reference's 246)."""
        return 200 <= self.status < 300


def json_result(status: int, payload: Any, **kwargs: Any) -> Result:
    """Build a ``Result`` whose body is ``payload`` as JSON."""
    return Result(status=status, body=orjson.dumps(payload), **kwargs)
