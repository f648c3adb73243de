"""Spans in process, with the SDK's in-memory exporter: server span, one client span per attempt, context."""

from __future__ import annotations

import json
import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway import create_app
from gateway.observability.tracing import Tracing

INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def traced(mockctl, tmp_path):
    """An in-process app whose spans go to an in-memory exporter; returns (app, exporter, tracing)."""

    def make(propagate: bool = False):
        app = create_app(
            {"TESTING": True, "GATEWAY_RETRY_BASE_DELAY": 0.01, "GATEWAY_RECORDS_DB": str(tmp_path / "r.sqlite3")}
        )
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        state = app.extensions["gateway"]
        state.telemetry.tracing = Tracing(provider, propagate=propagate)
        made.append(app)
        return app, exporter

    made: list = []
    yield make
    for app in made:
        app.extensions["gateway"].close()


def ask(app, config: dict, **headers: str):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    hdrs = {"x-portkey-config": json.dumps(config), "Authorization": "Bearer sk-x", **headers}
    resp = app.test_client().post("/v1/chat/completions", json=body, headers=hdrs)
    resp.close()  # the record (and the spans) are made when the response is closed
    return resp


def target(mockctl, scenario: str, **switches) -> dict:
    return {"provider": "openai", "custom_host": mockctl.base(id=scenario, **switches)}


def test_a_server_span_with_one_client_span_per_attempt(traced, mockctl) -> None:
    app, exporter = traced()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {**target(mockctl, uuid.uuid4().hex, status=503), "retry": {"attempts": 2, "on_status_codes": [503]}},
            target(mockctl, uuid.uuid4().hex),
        ],
    }
    assert ask(app, config).status_code == 200
    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.kind == SpanKind.SERVER)
    attempts = sorted((s for s in spans if s.kind == SpanKind.CLIENT), key=lambda s: s.start_time)
    assert server.name == "POST /v1/chat/completions" and server.parent is None
    assert [s.parent.span_id for s in attempts] == [server.context.span_id] * 4
    assert [s.context.trace_id for s in attempts] == [server.context.trace_id] * 4
    assert [(s.attributes["gateway.target.index"], s.attributes["gateway.attempt"]) for s in attempts] == [
        ("config.targets[0]", 0),
        ("config.targets[0]", 1),
        ("config.targets[0]", 2),
        ("config.targets[1]", 0),
    ]


def test_attempt_spans_follow_retries_and_fallbacks_in_order(traced, mockctl) -> None:
    app, exporter = traced()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {**target(mockctl, uuid.uuid4().hex, status=503), "retry": {"attempts": 1, "on_status_codes": [503]}},
            target(mockctl, uuid.uuid4().hex),
        ],
    }
    assert ask(app, config).status_code == 200
    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.kind == SpanKind.SERVER)
    attempts = sorted((s for s in spans if s.kind == SpanKind.CLIENT), key=lambda s: s.start_time)
    got = [(s.attributes["gateway.target.index"], s.attributes["http.response.status_code"]) for s in attempts]
    assert got == [("config.targets[0]", 503), ("config.targets[0]", 503), ("config.targets[1]", 200)]
    assert all(s.end_time <= server.end_time for s in attempts)
    assert attempts[0].status.status_code.name == "ERROR" and attempts[-1].status.status_code.name == "UNSET"
    last = attempts[-1].attributes
    assert last["gen_ai.operation.name"] == "chat" and last["gen_ai.provider.name"] == "openai"
    assert last["gen_ai.request.model"] == "gpt-4o-mini" and last["gen_ai.response.model"] == "gpt-4o-mini"
    assert last["gen_ai.usage.input_tokens"] > 0 and last["gen_ai.usage.output_tokens"] > 0
    assert attempts[-1].name == "chat gpt-4o-mini"
    attrs = server.attributes
    assert attrs["gen_ai.usage.output_tokens"] == last["gen_ai.usage.output_tokens"]
    assert attrs["gateway.retries"] == 1 and attrs["gateway.last_used_option_index"] == "config.targets[1]"
    assert attrs["http.response.status_code"] == 200


def test_an_incoming_traceparent_is_continued_and_not_sent_on_by_default(traced, mockctl) -> None:
    app, exporter = traced()
    scenario = uuid.uuid4().hex
    parent = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
    assert ask(app, target(mockctl, scenario), traceparent=parent).status_code == 200
    server = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER)
    assert f"{server.context.trace_id:032x}" == INCOMING_TRACE
    assert f"{server.parent.span_id:016x}" == INCOMING_SPAN
    assert "traceparent" not in mockctl.requests(scenario)[0]["headers"]


def test_with_propagation_the_provider_gets_the_attempt_context(traced, mockctl) -> None:
    app, exporter = traced(propagate=True)
    scenario = uuid.uuid4().hex
    parent = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
    assert ask(app, target(mockctl, scenario), traceparent=parent).status_code == 200
    attempt = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT)
    sent = mockctl.requests(scenario)[0]["headers"]["traceparent"]
    assert sent == f"00-{INCOMING_TRACE}-{attempt.context.span_id:016x}-01"


def test_tracing_is_off_without_an_endpoint_or_a_provider(monkeypatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    tracing = Tracing()
    assert tracing.enabled is False and tracing.server_span("x", {}, 0, {}) is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    assert Tracing().enabled is True


def test_the_pass_through_route_does_not_forward_the_clients_traceparent(traced, mockctl) -> None:
    app, _ = traced()
    scenario = uuid.uuid4().hex
    headers = {
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": mockctl.base(id=scenario),
        "Authorization": "Bearer sk-x",
        "traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01",
        "tracestate": "vendor=1",
    }
    resp = app.test_client().get("/v1/models", headers=headers)
    resp.close()
    assert resp.status_code == 200
    sent = mockctl.requests(scenario)[0]["headers"]
    assert "traceparent" not in sent and "tracestate" not in sent
