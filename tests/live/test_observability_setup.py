"""Observability settings end to end: a collector that never answers, metrics on their own address, records of
several instances in one Redis stream, every client format, text log lines."""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid

import anthropic
import openai
import pytest
import redis as redis_lib
import requests

from gateway.observability.store import RedisRecordStore
from tests.live.observability_support import delta, scrape, wait_record
from tests.support import free_port

MODEL = "gpt-4o-mini"


def chat(gateway, mockctl, trace: str, **switches):
    return requests.post(
        gateway.url + "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        headers={
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": mockctl.base(id=uuid.uuid4().hex[:8], **switches),
            "Authorization": "Bearer sk-setup",
            "x-portkey-trace-id": trace,
        },
        timeout=30,
    )


@pytest.fixture
def blackhole():
    """A collector address that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    sock.close()


@pytest.mark.parametrize("kind", ["silent", "refused"])
def test_a_collector_that_never_answers_neither_slows_nor_fails_requests(
    gateway_factory, mockctl, blackhole, tmp_path, kind
) -> None:
    endpoint = blackhole if kind == "silent" else f"http://127.0.0.1:{free_port()}"
    db = str(tmp_path / "records.sqlite3")
    gateway = gateway_factory(
        workers=2,
        GATEWAY_RECORDS_DB=db,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_BSP_SCHEDULE_DELAY="50",
        OTEL_BSP_MAX_QUEUE_SIZE="64",
    )
    took = []
    traces = []
    for _ in range(40):
        trace = "bh-" + uuid.uuid4().hex[:10]
        started = time.monotonic()
        assert chat(gateway, mockctl, trace).status_code == 200
        took.append(time.monotonic() - started)
        traces.append(trace)
    # an export waited on would cost its 10 s timeout; a busy machine costs a little everywhere
    assert statistics.median(took) < 0.15 and max(took) < 2.0, f"latencies with an unreachable collector: {took}"
    assert wait_record(db, traces[-1])["status"] == 200
    gateway.stop()  # exits within the graceful timeout although the exporter cannot flush


def test_metrics_on_their_own_address(gateway_factory, mockctl, tmp_path) -> None:
    port = free_port()
    gateway = gateway_factory(workers=2, GATEWAY_METRICS_BIND=f"127.0.0.1:{port}", GATEWAY_ADMIN_TOKEN="adm-sep")
    assert requests.get(gateway.url + "/metrics", headers={"Authorization": "Bearer adm-sep"}).status_code == 404
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            before = scrape(url, "adm-sep")
            break
        except (requests.ConnectionError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert requests.get(url + "/metrics", timeout=5).status_code == 401
    for _ in range(6):
        assert chat(gateway, mockctl, uuid.uuid4().hex).status_code == 200
    after = scrape(url, "adm-sep")
    assert delta(before, after, "gateway_requests_total", provider="openai", status="200") == 6
    gateway.stop()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the metrics process goes with the master
        try:
            requests.get(url + "/metrics", timeout=0.5)
        except requests.ConnectionError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the metrics process outlived the gateway")


def test_records_of_every_instance_meet_in_one_redis_stream(gateway_factory, mockctl, redis_server) -> None:
    first = gateway_factory(GATEWAY_REDIS_URL=redis_server.url)
    second = gateway_factory(GATEWAY_REDIS_URL=redis_server.url)
    client = redis_lib.Redis.from_url(redis_server.url, socket_timeout=0.5)
    store = RedisRecordStore(client)
    try:
        subscription = store.subscribe(3.0)
        traces = {}
        for gateway in (first, second, first, second):
            trace = "rd-" + uuid.uuid4().hex[:10]
            assert chat(gateway, mockctl, trace).status_code == 200
            traces[trace] = time.monotonic()
        seen = {}
        for record in subscription:
            seen[record["trace_id"]] = time.monotonic()
            if set(traces) <= set(seen):
                break
        assert set(traces) <= set(seen)
        assert all(seen[t] - traces[t] < 1.0 for t in traces)
        found = store.query({"provider": "openai"}, limit=100)
        assert set(traces) <= {r["trace_id"] for r in found}
        one = next(r for r in found if r["trace_id"] in traces)
        assert store.get(one["id"]) == one
    finally:
        client.close()


def test_every_client_format_is_recorded(gateway_factory, mockctl, tmp_path) -> None:
    db = str(tmp_path / "records.sqlite3")
    gateway = gateway_factory(GATEWAY_RECORDS_DB=db, GATEWAY_LOG_FORMAT="text")
    sid = uuid.uuid4().hex[:8]
    trace = "fmt-msg-" + sid
    messages = anthropic.Anthropic(
        base_url=gateway.url,
        api_key="sk-ant-any",
        max_retries=0,
        default_headers={
            "x-portkey-provider": "anthropic",
            "x-portkey-custom-host": mockctl.base(id=sid),
            "x-portkey-trace-id": trace,
        },
    )
    answer = messages.messages.create(
        model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
    )
    record = wait_record(db, trace)
    assert (record["client_format"], record["endpoint"], record["provider"]) == ("anthropic", "messages", "anthropic")
    assert record["usage"]["input_tokens"] == answer.usage.input_tokens
    assert record["usage"]["output_tokens"] == answer.usage.output_tokens
    assert record["model_answered"] == answer.model and record["cost_usd"] is not None

    trace = "fmt-resp-" + sid
    responses = openai.OpenAI(
        base_url=gateway.url + "/v1",
        api_key="sk-any",
        max_retries=0,
        default_headers={
            "x-portkey-provider": "groq",
            "x-portkey-custom-host": mockctl.base(id=sid),
            "x-portkey-trace-id": trace,
        },
    )
    with responses.responses.stream(model=MODEL, input="hello") as stream:
        final = stream.get_final_response()
    record = wait_record(db, trace)
    assert (record["client_format"], record["endpoint"], record["stream"]) == ("responses", "responses", True)
    assert record["usage"]["output_tokens"] == final.usage.output_tokens > 0
    assert gateway.wait_log(f"POST /v1/responses 200 provider=groq model={MODEL}")  # the text log line
