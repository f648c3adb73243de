"""What the observability live tests share: an OTLP/HTTP collector stand-in, record and metric readers."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.metrics import FLUSH_SECONDS
from gateway.observability.store import SQLiteRecordStore


class Collector:
    """A small OTLP/HTTP receiver: keeps every span posted to ``/v1/traces`` (protobuf)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector.receive(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def receive(self, path: str, body: bytes) -> None:
        self.bodies.append(body)
        if path != "/v1/traces":
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "kind": span.kind,
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                        }
                    )

    def trace(self, attribute: str, value: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every span of the trace whose server span has ``attribute == value`` (waits for export)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            servers = [s for s in self.spans if s["attributes"].get(attribute) == value]
            if servers:
                trace_id = servers[0]["trace_id"]
                time.sleep(0.3)  # the attempt spans go out in the same batch, or the next one
                return [s for s in self.spans if s["trace_id"] == trace_id]
            time.sleep(0.05)
        return []

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def wait_record(path: str, trace_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The record of the request with ``trace_id``, once a worker has stored it."""
    store = SQLiteRecordStore(path)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = store.query({"trace_id": trace_id}, limit=5)
            if found:
                return found[0]
            time.sleep(0.05)
    finally:
        store.close()
    raise AssertionError(f"no record for trace id {trace_id}")


def scrape(url: str, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of ``/metrics``: (name, sorted labels) -> value (after the workers' next write)."""
    time.sleep(FLUSH_SECONDS + 0.3)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = requests.get(url + "/metrics", headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    """How much one sample grew (labels given must match; others are summed over)."""

    def total(samples: dict) -> float:
        return sum(
            value
            for (sample, have), value in samples.items()
            if sample == name and all(dict(have).get(k) == v for k, v in labels.items())
        )

    return total(after) - total(before)
