"""Say how an upstream stream ended: the one classifier the SSE and AWS event-stream readers share.

A stream ends ``complete``, ``cut`` (the connection or a frame broke off) or ``stall`` (no data
within the idle timeout). The transport reports a broken body as ``BodyFailure`` with that kind.
"""

from __future__ import annotations

from gateway.transport.client import BodyFailure

COMPLETE = "complete"
CUT = "cut"
STALL = "stall"


def broken_off(failure: BodyFailure, idle_timeout: float) -> tuple[str, str]:
    """Return ``(ended, detail)`` for a body that broke off mid-stream."""
    if failure.kind == STALL:
        return STALL, f"no data from the provider for {idle_timeout:g}s"
    return CUT, "the connection to the provider was lost mid-stream"
