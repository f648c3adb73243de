"""The mock provider's WSGI app: OpenAI wire format plus fault switches and a request log.

Run: ``gunicorn -k gevent -w 1 -b 127.0.0.1:9000 tests.mockprovider.app:app``.
Control: ``GET /_mock/requests?id=X`` (what each upstream received), ``GET /_mock/events?id=X``
(how streams ended: completed or closed by the client), ``POST /_mock/reset``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import orjson
from flask import Flask, Response, request

from tests.mockprovider import openai_wire
from tests.mockprovider.switches import Switches, parse

_lock = threading.Lock()
REQUESTS: dict[str, list[dict[str, Any]]] = defaultdict(list)
EVENTS: dict[str, list[dict[str, Any]]] = defaultdict(list)
COUNTS: dict[str, int] = defaultdict(int)
RECORD_BODY_LIMIT = 256 * 1024


class SwitchPrefix:
    """WSGI middleware: move ``/s/<switches>`` out of the path into ``environ['mock.switches']``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        segment = ""
        if path.startswith("/s/"):
            segment, _, rest = path[3:].partition("/")
            environ["PATH_INFO"] = "/" + rest
        try:
            environ["mock.switches"] = parse(segment)
        except ValueError as exc:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        return self.app(environ, start_response)


flask_app = Flask(__name__)
app = SwitchPrefix(flask_app)


def switches() -> Switches:
    return request.environ["mock.switches"]


def record(sw: Switches, body: bytes | None, size: int | None = None, digest: str | None = None) -> int:
    """Log the request under the scenario id; return its 1-based ordinal for that id."""
    entry = {
        "t": time.time(),
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "body": (body or b"")[:RECORD_BODY_LIMIT].decode("utf-8", "replace"),
        "size": len(body or b"") if size is None else size,
        "sha256": digest or hashlib.sha256(body or b"").hexdigest(),
    }
    with _lock:
        REQUESTS[sw.id].append(entry)
        COUNTS[sw.id] += 1
        return COUNTS[sw.id]


def stream_event(sw: Switches, kind: str, **extra: Any) -> None:
    with _lock:
        EVENTS[sw.id].append({"t": time.time(), "event": kind, **extra})


def maybe_fail(sw: Switches, ordinal: int) -> Response | None:
    """Return the scripted error response for this request, if any."""
    if not sw.status or (sw.fail_times >= 0 and ordinal > sw.fail_times):
        return None
    headers = {}
    if sw.retry_after:
        headers["retry-after"] = sw.retry_after
    if sw.retry_after_ms:
        headers["retry-after-ms"] = sw.retry_after_ms
    body = {
        "error": {
            "message": f"mock failure {sw.status}",
            "type": "mock_error",
            "param": None,
            "code": f"mock_{sw.status}",
        }
    }
    return Response(orjson.dumps(body), status=sw.status, headers=headers, content_type="application/json")


def delay(sw: Switches) -> None:
    if sw.delay_ms:
        time.sleep(sw.delay_ms / 1000)


def sse(sw: Switches, events: list[bytes]) -> Response:
    """Stream ``events`` (payloads) applying the stream switches."""
    nl = b"\r\n" if sw.crlf else b"\n"

    def generate() -> Iterator[bytes]:
        sent = 0
        completed = False
        try:
            for payload in events:
                if sw.cut_after >= 0 and sent >= sw.cut_after:
                    yield b"data: " + payload[: max(1, len(payload) // 2)]
                    stream_event(sw, "cut", chunks_sent=sent)
                    raise ConnectionAbortedError("mock: cutting the stream mid-event")
                if sw.stall_after >= 0 and sent >= sw.stall_after:
                    stream_event(sw, "stall", chunks_sent=sent)
                    time.sleep(sw.stall_ms / 1000)
                    return
                if sent and sw.chunk_delay_ms:
                    time.sleep(sw.chunk_delay_ms / 1000)
                event = b"data: " + payload + nl + nl
                if sw.split:
                    cut = len(event) // 2
                    yield event[:cut]
                    yield event[cut:]
                else:
                    yield event
                sent += 1
            completed = True
        finally:
            stream_event(sw, "completed" if completed else "closed", chunks_sent=sent)

    return Response(generate(), content_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _json_body() -> tuple[bytes, dict[str, Any]]:
    raw = request.get_data()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        body = {}
    return raw, body if isinstance(body, dict) else {}


@flask_app.post("/v1/chat/completions")
def chat() -> Response:
    sw = switches()
    raw, body = _json_body()
    ordinal = record(sw, raw)
    delay(sw)
    failure = maybe_fail(sw, ordinal)
    if failure is not None:
        return failure
    if body.get("stream") is True:
        return sse(sw, openai_wire.chat_stream(body, sw))
    return Response(
        orjson.dumps(openai_wire.chat_completion(body, sw)),
        content_type="application/json",
        headers={"x-request-id": f"req-{ordinal}", "openai-processing-ms": "1"},
    )


@flask_app.post("/v1/completions")
def completions() -> Response:
    sw = switches()
    raw, body = _json_body()
    ordinal = record(sw, raw)
    delay(sw)
    failure = maybe_fail(sw, ordinal)
    if failure is not None:
        return failure
    if body.get("stream") is True:
        return sse(sw, openai_wire.completion_stream(body, sw))
    return Response(orjson.dumps(openai_wire.completion(body, sw)), content_type="application/json")


@flask_app.post("/v1/embeddings")
def embeddings() -> Response:
    sw = switches()
    raw, body = _json_body()
    ordinal = record(sw, raw)
    delay(sw)
    failure = maybe_fail(sw, ordinal)
    if failure is not None:
        return failure
    return Response(orjson.dumps(openai_wire.embeddings(body)), content_type="application/json")


@flask_app.get("/v1/models")
def models() -> Response:
    sw = switches()
    ordinal = record(sw, b"")
    failure = maybe_fail(sw, ordinal)
    if failure is not None:
        return failure
    return Response(orjson.dumps(openai_wire.model_list()), content_type="application/json")


@flask_app.get("/v1/download/<int:size>")
def download(size: int) -> Response:
    """Stream ``size`` bytes of a repeating pattern (binary pass-through and memory tests)."""
    sw = switches()
    record(sw, b"")
    block = bytes(range(256)) * 256

    def generate() -> Iterator[bytes]:
        left = size
        while left > 0:
            piece = block[: min(left, len(block))]
            left -= len(piece)
            yield piece

    return Response(generate(), content_type="application/octet-stream")


@flask_app.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def echo(rest: str) -> Response:
    """Echo what arrived: method, path, query, headers, body size and digest (body read in blocks)."""
    sw = switches()
    digest = hashlib.sha256()
    size = 0
    head = b""
    while True:
        block = request.stream.read(64 * 1024)
        if not block:
            break
        size += len(block)
        digest.update(block)
        if len(head) < 4096:
            head += block[: 4096 - len(head)]
    ordinal = record(sw, head, size=size, digest=digest.hexdigest())
    delay(sw)
    failure = maybe_fail(sw, ordinal)
    if failure is not None:
        return failure
    payload = {
        "method": request.method,
        "path": "/v1/" + rest,
        "query": request.query_string.decode("latin-1"),
        "content_type": request.content_type,
        "size": size,
        "sha256": digest.hexdigest(),
        "headers": {k.lower(): v for k, v in request.headers.items()},
    }
    return Response(orjson.dumps(payload), content_type="application/json", headers={"x-mock-echo": "1"})


@flask_app.get("/_mock/requests")
def mock_requests() -> Response:
    with _lock:
        data = list(REQUESTS.get(request.args.get("id", "default"), []))
    return Response(orjson.dumps(data), content_type="application/json")


@flask_app.get("/_mock/events")
def mock_events() -> Response:
    with _lock:
        data = list(EVENTS.get(request.args.get("id", "default"), []))
    return Response(orjson.dumps(data), content_type="application/json")


@flask_app.post("/_mock/reset")
def mock_reset() -> Response:
    with _lock:
        REQUESTS.clear()
        EVENTS.clear()
        COUNTS.clear()
    return Response(b"{}", content_type="application/json")


@flask_app.get("/_mock/health")
def mock_health() -> Response:
    return Response(b'{"ok":true}', content_type="application/json")
