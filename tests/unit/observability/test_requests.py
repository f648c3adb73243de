"""The observation in process: which requests get records, when, and what the app's logging sees."""

from __future__ import annotations

import io
import json
import logging
import runpy
import uuid
from pathlib import Path

import orjson
import pytest
from flask import Flask

from gateway import Gateway, create_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def make_app(tmp_path):
    made = []

    def make(**config):
        app = create_app({"TESTING": True, "GATEWAY_RECORDS_DB": str(tmp_path / "r.sqlite3"), **config})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["gateway"].close()


def chat(app, mockctl, *, stream: bool = False, model: str = "gpt-4o-mini", **headers):
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    hdrs = {
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": mockctl.base(id=uuid.uuid4().hex),
        "Authorization": "Bearer sk-x",
        **headers,
    }
    return app.test_client().post("/v1/chat/completions", json=body, headers=hdrs)


def records(app) -> list[dict]:
    return app.extensions["gateway"].records.query({}, limit=100)


def test_the_record_is_made_when_the_response_is_closed(make_app, mockctl) -> None:
    app = make_app()
    resp = chat(app, mockctl)
    assert resp.status_code == 200 and records(app) == []
    resp.close()
    (record,) = records(app)
    assert record["status"] == 200 and "request_body" not in record and "response_body" not in record
    assert float(resp.headers["x-portkey-cost-usd"]) == pytest.approx(record["cost_usd"])


def test_a_stream_nobody_read_is_still_recorded_when_closed(make_app, mockctl) -> None:
    app = make_app()
    resp = chat(app, mockctl, stream=True)
    assert resp.status_code == 200
    resp.close()
    (record,) = records(app)
    assert record["stream"] is True and record["status"] == 200 and record["usage"]["output_tokens"] == 0


def test_unpriced_models_have_no_cost_header(make_app, mockctl) -> None:
    app = make_app()
    resp = chat(app, mockctl, model="mock-model")
    resp.close()
    assert "x-portkey-cost-usd" not in resp.headers and records(app)[0]["cost_usd"] is None


def test_health_and_metrics_are_not_recorded_but_refusals_are(make_app, mockctl) -> None:
    app = make_app(GATEWAY_API_KEYS=["gk-1"])
    client = app.test_client()
    client.get("/healthz").close()
    client.get("/metrics").close()
    resp = chat(app, mockctl, **{"x-portkey-trace-id": "refused-1"})
    resp.close()
    assert resp.status_code == 401
    (record,) = records(app)
    assert record["trace_id"] == "refused-1" and record["status"] == 401 and record["error_origin"] == "gateway"
    assert "gateway key" in record["error"]


def test_bodies_are_logged_only_when_asked_truncated_and_redacted(make_app, mockctl) -> None:
    app = make_app(GATEWAY_LOG_BODIES=True, GATEWAY_LOG_BODY_MAX_CHARS=120)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "key sk-abcdefghijkl0123 " + "z" * 200}]}
    resp = app.test_client().post(
        "/v1/chat/completions",
        json=body,
        headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mockctl.base(), "Authorization": "Bearer k"},
    )
    resp.close()
    (record,) = records(app)
    assert "sk-abcdefghijkl0123" not in record["request_body"] and "[REDACTED]" in record["request_body"]
    assert record["request_body"].endswith("chars]") and len(record["request_body"]) < 160
    assert record["response_body"].startswith('{"id"')


def test_records_can_be_turned_off(make_app) -> None:
    assert make_app(GATEWAY_RECORDS_MAX=0).extensions["gateway"].records is None


def test_the_request_log_line_and_no_logging_setup_by_the_gateway(make_app, mockctl, caplog) -> None:
    host = Flask("host")
    Gateway(host)
    app = make_app()
    assert logging.getLogger("gateway.requests").handlers == []  # a host app keeps its own logging
    caplog.set_level(logging.INFO, logger="gateway.requests")
    chat(app, mockctl, **{"x-portkey-trace-id": "logged-1"}).close()
    app.extensions["gateway"].telemetry.flush()  # lines are written in batches, behind the responses
    (line,) = [r for r in caplog.records if r.name == "gateway.requests"]
    assert line.getMessage().startswith("POST /v1/chat/completions 200 provider=openai model=gpt-4o-mini")
    assert line.request["trace_id"] == "logged-1" and line.request["usage"]["output_tokens"] > 0
    host.extensions["gateway"].close()


def test_metrics_need_the_admin_token_or_live_elsewhere(make_app) -> None:
    client = make_app(GATEWAY_ADMIN_TOKEN="adm-1").test_client()
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer adm-1"})
    assert ok.status_code == 200 and b"gateway_requests_total" in ok.data
    assert make_app(GATEWAY_METRICS_BIND="127.0.0.1:9999").test_client().get("/metrics").status_code == 404
    assert make_app(GATEWAY_METRICS=False).test_client().get("/metrics").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_gunicorn_conf_gives_the_request_logger_its_formatter(fmt, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", fmt)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    logger = logging.getLogger("gateway.requests")
    saved = logger.handlers[:], logger.propagate, logger.level
    try:
        conf["post_worker_init"](None)
        out = io.StringIO()
        logger.handlers[0].setStream(out)
        logger.info("summary line", extra={"request": {"trace_id": "t-1", "status": 200, "usage": {"input_tokens": 3}}})
        logger.info("other line", extra={"color": "red"})
        assert out.getvalue() == ""  # held, to be written in one go
        logger.handlers[0].flush_now()
        line, other = out.getvalue().strip().splitlines()
        if fmt == "json":
            parsed = orjson.loads(line)
            assert parsed["name"] == "gateway.requests" and parsed["message"] == "summary line"
            assert parsed["trace_id"] == "t-1" and parsed["usage"] == {"input_tokens": 3} and "timestamp" in parsed
            assert "request" not in parsed  # the request record's fields sit at the top level
            assert orjson.loads(other)["color"] == "red"
        else:
            assert line.endswith("INFO gateway.requests summary line")
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def test_the_breaker_gauge_follows_a_target_whose_circuit_opens(make_app, mockctl) -> None:
    from prometheus_client import REGISTRY

    app = make_app()
    config = {
        "provider": "openai",
        "custom_host": mockctl.base(id=uuid.uuid4().hex, status=503),
        "circuit_breaker": {"failure_threshold": 2, "cooldown": 60},
    }
    label = {"target": "openai:config"}
    for expected in (0, 1):
        resp = app.test_client().post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            headers={"x-portkey-config": json.dumps(config), "Authorization": "Bearer sk-x"},
        )
        resp.close()
        assert resp.status_code == 503
        app.extensions["gateway"].telemetry.flush()
        assert REGISTRY.get_sample_value("gateway_breaker_open", label) == expected


def test_a_stream_denied_by_an_output_guardrail_records_the_verdict(make_app, mockctl) -> None:
    app = make_app()
    config = {
        "provider": "openai",
        "custom_host": mockctl.base(id=uuid.uuid4().hex),
        "output_guardrails": [{"default.contains": {"operator": "none", "words": ["echo"]}, "deny": True}],
    }
    resp = app.test_client().post(
        "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        headers={"x-portkey-config": json.dumps(config), "Authorization": "Bearer sk-x"},
    )
    body = resp.get_data()
    resp.close()
    assert b"guardrail_denied" in body
    (record,) = records(app)
    assert record["status"] == 200 and record["stream"] is True
    assert {k: record["guardrails"][-1][k] for k in ("phase", "verdict")} == {"phase": "after", "verdict": False}
    assert "denied" in record["error"]


def test_a_failing_observation_never_fails_the_request(make_app, mockctl, monkeypatch) -> None:
    from gateway.observability import logs
    from gateway.observability.request import Observation

    def broken(*args, **kwargs):
        raise RuntimeError("observability is broken")

    app = make_app()
    monkeypatch.setattr(Observation, "_answered", broken)
    monkeypatch.setattr(Observation, "_start_attempt", broken)
    monkeypatch.setattr(logs, "emit", broken)
    monkeypatch.setattr(app.extensions["gateway"].records, "write", broken)
    resp = chat(app, mockctl)
    assert resp.status_code == 200 and resp.get_json()["choices"]
    resp.close()
    app.extensions["gateway"].telemetry.flush()  # the sinks fail, quietly
    monkeypatch.setattr(Observation, "__init__", broken)
    resp = chat(app, mockctl, stream=True)
    assert resp.status_code == 200 and b"[DONE]" in resp.get_data()
    resp.close()


def test_a_finished_request_is_freed_at_once_not_by_the_collector(make_app, mockctl) -> None:
    import gc

    from gateway.core.call import Call
    from gateway.observability.request import Observation

    app = make_app()
    chat(app, mockctl).close()  # warm up
    gc.collect()
    gc.disable()
    try:
        for stream in (False, True):
            resp = chat(app, mockctl, stream=stream)
            resp.get_data()
            resp.close()
            del resp
        alive = [o for o in gc.get_objects() if isinstance(o, (Observation, Call))]
    finally:
        gc.enable()
    assert alive == []  # a cycle (the call pointing back at its observation) would keep them until a collection
