"""Observability end to end: two gunicorn workers, the mock provider, a stand-in OTLP collector.

Each kind of request (a chat, a stream, a fallback after a retry, a cache hit, a guardrail denial)
is checked in its record field by field, in the Prometheus counters merged across both workers,
and in the spans the collector received. The last test sends distinctive secrets and greps every
log line, the metrics, the stored records and the exported spans for them.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from gateway.observability.store import SQLiteRecordStore
from tests.live.observability_support import Collector, delta, scrape, wait_record

PROVIDER_KEY = "sk-obsPROVIDERsecret7f3a9c41"
GATEWAY_KEY = "gk-obsGATEWAYsecret19d2e8"
ADMIN_TOKEN = "adm-obsADMINsecret55e1b0"
MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def collector():
    server = Collector()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def observed(gateway_factory, collector, tmp_path_factory):
    """A two-worker gateway with JSON logs, metrics, records in SQLite and traces to the collector."""
    base = tmp_path_factory.mktemp("observe")
    db = str(base / "records.sqlite3")
    metrics_dir = base / "metrics"
    metrics_dir.mkdir()
    server = gateway_factory(
        workers=2,
        GATEWAY_RECORDS_DB=db,
        GATEWAY_LOG_FORMAT="json",
        GATEWAY_LOG_BODIES="true",
        GATEWAY_API_KEYS=GATEWAY_KEY,
        GATEWAY_ADMIN_TOKEN=ADMIN_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    server.db = db
    server.metrics_dir = metrics_dir
    return server


def tid() -> str:
    return "obs-" + uuid.uuid4().hex[:12]


def chat(gateway, config: dict | None = None, *, trace: str, stream: bool = False, text: str = "hello", **headers):
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    hdrs = {
        "Authorization": f"Bearer {PROVIDER_KEY}",
        "x-portkey-api-key": GATEWAY_KEY,
        "x-portkey-trace-id": trace,
        **headers,
    }
    if config is not None:
        hdrs["x-portkey-config"] = json.dumps(config)
    return requests.post(gateway.url + "/v1/chat/completions", json=body, headers=hdrs, timeout=30, stream=stream)


def target(mockctl, **switches) -> dict:
    return {"provider": "openai", "custom_host": mockctl.base(id=uuid.uuid4().hex[:8], **switches)}


def test_a_chat_has_its_record_metrics_cost_header_and_spans(observed, mockctl, collector) -> None:
    before = scrape(observed.url, ADMIN_TOKEN)
    trace = tid()
    resp = chat(observed, target(mockctl), trace=trace, **{"x-portkey-metadata": json.dumps({"team": "blue"})})
    assert resp.status_code == 200
    usage = resp.json()["usage"]
    cost = float(resp.headers["x-portkey-cost-usd"])
    assert cost > 0
    record = wait_record(observed.db, trace)
    assert record["id"].endswith("-" + trace) and record["trace_id"] == trace
    assert abs(record["time"] - time.time()) < 30
    assert (record["method"], record["route"], record["endpoint"]) == ("POST", "/v1/chat/completions", "chatComplete")
    assert (record["client_format"], record["stream"], record["provider"]) == ("openai", False, "openai")
    assert (record["model_requested"], record["model_answered"]) == (MODEL, MODEL)
    assert (record["status"], record["error_origin"], record["error"]) == (200, None, None)
    assert record["catalog_slug"] is None and record["gateway_key"] is None
    assert record["latency_ms"] > 0 and 0 < record["ttfb_ms"] <= record["latency_ms"]
    assert record["retries"] == 0 and record["last_used_option_index"] == "config"
    assert [(t["index"], t["provider"], t["status"], t["retries"]) for t in record["targets"]] == [
        ("config", "openai", 200, 0)
    ]
    assert record["cache_status"] == "DISABLED" and record["guardrails"] == []
    assert record["usage"] == {
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "cached_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert record["cost_usd"] == pytest.approx(cost)
    assert record["metadata"] == {"team": "blue"}
    assert "hello" in record["request_body"] and "echo" in record["response_body"]
    after = scrape(observed.url, ADMIN_TOKEN)
    labels = {"provider": "openai", "endpoint": "chatComplete", "status": "200"}
    assert delta(before, after, "gateway_requests_total", **labels) == 1
    assert delta(before, after, "gateway_request_duration_seconds_count", provider="openai") == 1
    assert delta(before, after, "gateway_upstream_ttfb_seconds_count", provider="openai") == 1
    assert delta(before, after, "gateway_tokens_total", model=MODEL, type="input") == usage["prompt_tokens"]
    assert delta(before, after, "gateway_tokens_total", model=MODEL, type="output") == usage["completion_tokens"]
    assert delta(before, after, "gateway_cost_usd_total", model=MODEL) == pytest.approx(cost)
    spans = collector.trace("gateway.trace_id", trace)
    server = next(s for s in spans if s["attributes"].get("gateway.trace_id") == trace)
    attempts = [s for s in spans if s["parent"] == server["span_id"]]
    assert server["kind"] == 2 and len(attempts) == 1 and attempts[0]["kind"] == 3  # SERVER, CLIENT
    attrs = server["attributes"]
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == MODEL and attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    child = attempts[0]["attributes"]
    assert child["gen_ai.request.model"] == MODEL and child["http.response.status_code"] == 200
    assert child["gen_ai.usage.output_tokens"] == usage["completion_tokens"]


def test_a_stream_is_recorded_when_it_ends_with_its_final_usage(observed, mockctl, collector) -> None:
    before = scrape(observed.url, ADMIN_TOKEN)
    trace = tid()
    resp = chat(observed, target(mockctl, chunks=4, chunk_delay_ms=30), trace=trace, stream=True)
    assert resp.status_code == 200 and "x-portkey-cost-usd" not in resp.headers
    usage = None
    for line in resp.iter_lines():
        if line.startswith(b"data: {"):
            chunk = json.loads(line[6:])
            usage = chunk.get("usage") or usage
    assert usage
    record = wait_record(observed.db, trace)
    assert record["stream"] is True and record["status"] == 200
    assert record["model_answered"] == MODEL
    assert record["usage"]["input_tokens"] == usage["prompt_tokens"]
    assert record["usage"]["output_tokens"] == usage["completion_tokens"]
    assert record["cost_usd"] > 0
    assert record["latency_ms"] >= 4 * 30 * 0.8  # recorded at the end of the stream, not when it started
    assert record["ttfb_ms"] < record["latency_ms"]
    after = scrape(observed.url, ADMIN_TOKEN)
    assert delta(before, after, "gateway_tokens_total", model=MODEL, type="output") == usage["completion_tokens"]
    server = next(
        s for s in collector.trace("gateway.trace_id", trace) if s["attributes"].get("gateway.trace_id") == trace
    )
    assert server["attributes"]["gen_ai.usage.output_tokens"] == usage["completion_tokens"]


def test_a_fallback_after_a_retry_lists_every_target_and_attempt(observed, mockctl, collector) -> None:
    before = scrape(observed.url, ADMIN_TOKEN)
    trace = tid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {**target(mockctl, status=500), "retry": {"attempts": 1, "on_status_codes": [500]}},
            target(mockctl),
        ],
    }
    resp = chat(observed, config, trace=trace)
    assert resp.status_code == 200
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    record = wait_record(observed.db, trace)
    assert record["status"] == 200 and record["retries"] == 1
    assert record["last_used_option_index"] == "config.targets[1]"
    assert [(t["index"], t["status"], t["retries"]) for t in record["targets"]] == [
        ("config.targets[0]", 500, 1),
        ("config.targets[1]", 200, 0),
    ]
    assert all(t["latency_ms"] > 0 for t in record["targets"])
    after = scrape(observed.url, ADMIN_TOKEN)
    assert delta(before, after, "gateway_fallbacks_total") == 1
    assert delta(before, after, "gateway_retries_total", provider="openai") == 1
    spans = collector.trace("gateway.trace_id", trace)
    server = next(s for s in spans if s["attributes"].get("gateway.trace_id") == trace)
    attempts = sorted((s for s in spans if s["parent"] == server["span_id"]), key=lambda s: s["start"])
    assert [
        (a["attributes"]["gateway.target.index"], a["attributes"]["http.response.status_code"]) for a in attempts
    ] == [
        ("config.targets[0]", 500),
        ("config.targets[0]", 500),
        ("config.targets[1]", 200),
    ]
    assert [a["attributes"]["gateway.attempt"] for a in attempts] == [0, 1, 0]


def test_a_cache_hit_is_recorded_without_an_upstream_attempt(observed, mockctl) -> None:
    before = scrape(observed.url, ADMIN_TOKEN)
    config = {**target(mockctl), "cache": {"mode": "simple"}}
    text = "cache me " + uuid.uuid4().hex[:6]
    records = []
    for _ in range(8):  # each worker keeps its own memory cache: ask until one answers from it
        trace = tid()
        resp = chat(observed, config, trace=trace, text=text)
        assert resp.status_code == 200
        records.append(wait_record(observed.db, trace))
        if resp.headers["x-portkey-cache-status"] == "HIT":
            break
    hit = records[-1]
    assert hit["cache_status"] == "HIT" and hit["targets"] == [] and hit["ttfb_ms"] is None
    assert hit["status"] == 200 and hit["provider"] == "openai" and hit["usage"]["output_tokens"] > 0
    assert records[0]["cache_status"] == "MISS" and len(records[0]["targets"]) == 1
    after = scrape(observed.url, ADMIN_TOKEN)
    assert delta(before, after, "gateway_cache_total", status="HIT") == 1
    assert delta(before, after, "gateway_cache_total", status="MISS") == len(records) - 1


def test_a_guardrail_denial_is_recorded_with_its_verdict(observed, mockctl) -> None:
    before = scrape(observed.url, ADMIN_TOKEN)
    trace = tid()
    config = {
        **target(mockctl),
        "input_guardrails": [
            {"id": "no-apples", "default.contains": {"operator": "none", "words": ["Apple"]}, "deny": True}
        ],
    }
    resp = chat(observed, config, trace=trace, text="Apple pie")
    assert resp.status_code == 446
    record = wait_record(observed.db, trace)
    assert record["status"] == 446 and record["error_origin"] == "gateway"
    assert record["error"] and record["targets"] == []
    assert record["guardrails"] == [{"id": "no-apples", "phase": "before", "verdict": False}]
    after = scrape(observed.url, ADMIN_TOKEN)
    assert delta(before, after, "gateway_guardrail_total", verdict="fail") == 1
    assert delta(before, after, "gateway_requests_total", status="446") == 1


def test_a_refused_gateway_key_is_recorded_too(observed) -> None:
    trace = tid()
    resp = chat(observed, trace=trace, **{"x-portkey-api-key": "wrong", "x-portkey-provider": "openai"})
    assert resp.status_code == 401
    record = wait_record(observed.db, trace)
    assert record["status"] == 401 and record["error_origin"] == "gateway" and record["provider"] is None


def test_counters_merge_every_worker(observed, mockctl) -> None:
    before = scrape(observed.url, ADMIN_TOKEN)
    config = target(mockctl, delay_ms=150)
    sent = 0
    pids: set[str] = set()
    for _ in range(5):  # a burst of concurrent connections usually spreads over both workers
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda _: chat(observed, config, trace=tid()).status_code, range(12)))
        assert answers == [200] * 12
        sent += 12
        time.sleep(0.8)  # the workers write their counters behind the answers
        pids = {path.stem.rpartition("_")[2] for path in Path(observed.metrics_dir).glob("counter_*.db")}
        if len(pids) == 2:
            break
    assert len(pids) == 2, f"every burst was served by one worker: {pids}"
    after = scrape(observed.url, ADMIN_TOKEN)
    assert delta(before, after, "gateway_requests_total", provider="openai", status="200") == sent


def test_metrics_need_the_admin_token(observed) -> None:
    assert requests.get(observed.url + "/metrics", timeout=5).status_code == 401
    wrong = requests.get(observed.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


def test_records_fan_out_live_across_workers(observed, mockctl) -> None:
    store = SQLiteRecordStore(observed.db)
    try:
        traces = [tid() for _ in range(4)]
        seen: list[str] = []
        started = time.monotonic()
        subscription = store.subscribe(3.0)
        for trace in traces:
            assert chat(observed, target(mockctl), trace=trace).status_code == 200
        for record in subscription:
            seen.append(record["trace_id"])
            if set(traces) <= set(seen):
                break
        assert set(traces) <= set(seen)
        assert time.monotonic() - started < 5
    finally:
        store.close()


def test_no_secret_reaches_a_log_line_metric_record_or_span(observed, mockctl, collector) -> None:
    trace = tid()
    secret_text = f"my keys are {PROVIDER_KEY} and {GATEWAY_KEY}, ok"
    assert chat(observed, target(mockctl), trace=trace, text=secret_text).status_code == 200
    failing = chat(observed, target(mockctl, status=401), trace=tid(), text=secret_text)
    assert failing.status_code == 401
    record = wait_record(observed.db, trace)
    assert "[REDACTED]" in record["request_body"]
    collector.trace("gateway.trace_id", trace)
    time.sleep(0.5)
    metrics = requests.get(
        observed.url + "/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5
    ).text
    store = SQLiteRecordStore(observed.db)
    try:
        records = json.dumps(store.query({}, limit=10_000))
    finally:
        store.close()
    log_text = observed.log()
    assert '"name":"gateway.requests"' in log_text  # JSON request lines are there to be searched
    spans = b"".join(collector.bodies)
    for secret in (PROVIDER_KEY, GATEWAY_KEY, ADMIN_TOKEN):
        assert secret not in log_text
        assert secret not in metrics
        assert secret not in records
        assert secret.encode() not in spans
