"""``GET /log/stream``: the reference's SSE shape (connected, heartbeat, log) fed by the store's fan-out."""

from __future__ import annotations

import json
import threading
import time

from gateway.console import livelog
from tests.unit.console.fakes import make_record, wait_for


class EventReader:
    """Read SSE events off a streamed test-client response."""

    def __init__(self, response) -> None:
        self.chunks = response.response
        self.buffer = b""

    def next(self) -> tuple[str, str]:
        while b"\n\n" not in self.buffer:
            self.buffer += next(iter(self.chunks))
        raw, self.buffer = self.buffer.split(b"\n\n", 1)
        fields = dict(line.split(": ", 1) for line in raw.decode().splitlines())
        return fields["event"], fields["data"]


def test_stream_sends_connected_heartbeats_and_logs(client, records, admin, monkeypatch):
    monkeypatch.setattr(livelog, "HEARTBEAT", 0.3)
    monkeypatch.setattr(livelog, "SUBSCRIBE_TIMEOUT", 0.2)
    response = client.get("/log/stream", headers=admin, buffered=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
    reader = EventReader(response)
    name, client_id = reader.next()
    assert name == "connected" and client_id
    assert wait_for(lambda: records.subscribers() > 0)
    record = make_record(7, request_body="secret prompt", metadata={"api_key": "sk-should-not-leak-123456"})
    threading.Timer(0.05, records.add, [record]).start()
    events = [reader.next() for _ in range(2)]
    logs = [json.loads(data) for name, data in events if name == "log"]
    assert logs and logs[0]["trace_id"] == "trace-0007"
    assert "request_body" not in logs[0] and logs[0]["metadata"]["api_key"] == "[redacted]"
    names = {name for name, _ in events} | {reader.next()[0]}
    assert "heartbeat" in names
    response.close()
    # The reader lets go of its subscription once the client has gone.
    assert wait_for(lambda: records.subscribers() == 0, timeout=3)


def test_heartbeat_data_is_pulse_every_interval(client, admin, monkeypatch):
    monkeypatch.setattr(livelog, "HEARTBEAT", 0.1)
    monkeypatch.setattr(livelog, "SUBSCRIBE_TIMEOUT", 0.05)
    response = client.get("/log/stream", headers=admin, buffered=False)
    reader = EventReader(response)
    assert reader.next()[0] == "connected"
    assert reader.next() == ("heartbeat", "pulse")
    assert reader.next() == ("heartbeat", "pulse")
    response.close()


def test_the_default_heartbeat_is_ten_seconds():
    assert livelog.HEARTBEAT == 10.0


def test_stream_needs_auth(client):
    assert client.get("/log/stream").status_code == 401


def test_a_record_added_between_two_subscriptions_is_not_lost(client, records, admin, monkeypatch):
    monkeypatch.setattr(livelog, "HEARTBEAT", 5.0)
    monkeypatch.setattr(livelog, "SUBSCRIBE_TIMEOUT", 0.1)
    records.add(make_record(1, time=time.time() - 5))  # already on the page: remembered, not sent
    opened = []
    real_subscribe = records.subscribe

    def subscribe(timeout):
        opened.append(timeout)
        if len(opened) == 3:  # lands while the reader reopens, where no subscription sees it
            records.records.append(make_record(2, time=time.time() - 1))
        return real_subscribe(timeout)

    monkeypatch.setattr(records, "subscribe", subscribe)
    response = client.get("/log/stream", headers=admin, buffered=False)
    reader = EventReader(response)
    assert reader.next()[0] == "connected"
    name, data = reader.next()
    assert name == "log" and json.loads(data)["trace_id"] == "trace-0002"
    threading.Timer(0.05, records.add, [make_record(3, time=time.time())]).start()
    name, data = reader.next()
    assert name == "log" and json.loads(data)["trace_id"] == "trace-0003"  # each record once, trace-0001 never
    response.close()
