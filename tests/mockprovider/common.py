"""What every mock protocol shares: the request log, the switches, scripted failures and streaming."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
from flask import Response, request

from tests.mockprovider.switches import Switches

_lock = threading.Lock()
REQUESTS: dict[str, list[dict[str, Any]]] = defaultdict(list)
EVENTS: dict[str, list[dict[str, Any]]] = defaultdict(list)
COUNTS: dict[str, int] = defaultdict(int)
RECORD_BODY_LIMIT = 256 * 1024


def switches() -> Switches:
    """The switches of the current request (from its ``/s/<switches>/`` prefix)."""
    return request.environ["mock.switches"]


def record(sw: Switches, body: bytes | None, size: int | None = None, digest: str | None = None) -> int:
    """Log the request under the scenario id; return its 1-based ordinal for that id."""
    entry = {
        "t": time.time(),
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "remote_port": request.environ.get("REMOTE_PORT"),
        "body": (body or b"")[:RECORD_BODY_LIMIT].decode("utf-8", "replace"),
        "size": len(body or b"") if size is None else size,
        "sha256": digest or hashlib.sha256(body or b"").hexdigest(),
    }
    with _lock:
        REQUESTS[sw.id].append(entry)
        COUNTS[sw.id] += 1
        return COUNTS[sw.id]


def note(sw: Switches, kind: str, **extra: Any) -> None:
    """Record how a stream ended (``completed``, ``closed``, ``cut``, ``stall``)."""
    with _lock:
        EVENTS[sw.id].append({"t": time.time(), "event": kind, **extra})


def reset() -> None:
    with _lock:
        REQUESTS.clear()
        EVENTS.clear()
        COUNTS.clear()


def snapshot(store: dict[str, list[dict[str, Any]]], scenario: str) -> list[dict[str, Any]]:
    with _lock:
        return list(store.get(scenario, []))


def delay(sw: Switches) -> None:
    if sw.delay_ms:
        time.sleep(sw.delay_ms / 1000)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(obj), status=status, headers=headers, content_type="application/json")


def openai_error(status: int) -> dict[str, Any]:
    return {
        "error": {"message": f"mock failure {status}", "type": "mock_error", "param": None, "code": f"mock_{status}"}
    }


def scripted_failure(
    sw: Switches, ordinal: int, body: Callable[[int], dict[str, Any]] = openai_error
) -> Response | None:
    """Return the scripted error response for this request, if the switches ask for one."""
    if not sw.status or (sw.fail_times >= 0 and ordinal > sw.fail_times):
        return None
    headers = {}
    if sw.retry_after:
        headers["retry-after"] = sw.retry_after
    if sw.retry_after_ms:
        headers["retry-after-ms"] = sw.retry_after_ms
    return json_response(body(sw.status), sw.status, headers)


def begin(
    sw: Switches,
    raw: bytes,
    error_body: Callable[[int], dict[str, Any]] = openai_error,
    *,
    size: int | None = None,
    digest: str | None = None,
) -> Response | None:
    """Log the request (see ``record``), apply the delay and return a scripted failure if there is one."""
    ordinal = record(sw, raw, size=size, digest=digest)
    delay(sw)
    return scripted_failure(sw, ordinal, error_body)


def json_body() -> tuple[bytes, dict[str, Any]]:
    raw = request.get_data()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        body = {}
    return raw, body if isinstance(body, dict) else {}


def begin_json(
    error_body: Callable[[int], dict[str, Any]] = openai_error,
) -> tuple[Switches, dict[str, Any], Response | None]:
    """Read a JSON call and ``begin`` it: the switches, the body (``{}`` if not an object) and any scripted failure."""
    sw = switches()
    raw, body = json_body()
    return sw, body, begin(sw, raw, error_body)


def stream(sw: Switches, frames: list[bytes], content_type: str = "text/event-stream") -> Response:
    """Stream already-encoded frames, applying ``chunk_delay_ms``, ``cut_after``, ``stall_after`` and ``split``."""

    def generate() -> Iterator[bytes]:
        sent = 0
        completed = False
        try:
            for frame in frames:
                if sw.cut_after >= 0 and sent >= sw.cut_after:
                    yield frame[: max(1, len(frame) // 2)]
                    note(sw, "cut", chunks_sent=sent)
                    raise ConnectionAbortedError("mock: cutting the stream mid-frame")
                if sw.stall_after >= 0 and sent >= sw.stall_after:
                    note(sw, "stall", chunks_sent=sent)
                    time.sleep(sw.stall_ms / 1000)
                    return
                if sent and sw.chunk_delay_ms:
                    time.sleep(sw.chunk_delay_ms / 1000)
                if sw.split and len(frame) > 1:
                    cut = len(frame) // 2
                    yield frame[:cut]
                    yield frame[cut:]
                else:
                    yield frame
                sent += 1
            completed = True
        finally:
            note(sw, "completed" if completed else "closed", chunks_sent=sent)

    return Response(generate(), content_type=content_type, headers={"Cache-Control": "no-cache"})


def sse_frames(sw: Switches, events: Sequence[tuple[str | None, bytes]]) -> list[bytes]:
    """Encode ``(event name or None, data)`` pairs as SSE frames (``\\r\\n`` line ends with ``crlf``)."""
    nl = b"\r\n" if sw.crlf else b"\n"
    frames = []
    for name, data in events:
        head = b"event: " + name.encode() + nl if name else b""
        frames.append(head + b"data: " + data + nl + nl)
    return frames


def data_events(payloads: list[bytes]) -> list[tuple[str | None, bytes]]:
    """Unnamed SSE events (``data:`` lines only), one per payload."""
    return [(None, p) for p in payloads]


def sse_stream(sw: Switches, events: Sequence[tuple[str | None, bytes]]) -> Response:
    """Stream ``(event name or None, data)`` pairs as SSE frames (see ``sse_frames`` and ``stream``)."""
    return stream(sw, sse_frames(sw, events))
