"""Metric updates from records, with bounded labels."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from gateway.observability.metrics import OTHER, Bounded, Metrics, render


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def record(**fields) -> dict:
    base = {
        "provider": "openai",
        "endpoint": "chatComplete",
        "status": 200,
        "latency_ms": 120.0,
        "ttfb_ms": 30.0,
        "model_requested": "gpt-4o-mini",
        "model_answered": "gpt-4o-mini",
        "usage": {"input_tokens": 10, "output_tokens": 4, "cached_tokens": 2, "reasoning_tokens": 0},
        "cost_usd": 0.001,
        "retries": 2,
        "targets": [{"index": "config.targets[0]"}, {"index": "config.targets[1]"}],
        "cache_status": "MISS",
        "guardrails": [
            {"id": "a", "phase": "before", "verdict": True},
            {"id": "b", "phase": "after", "verdict": False},
        ],
    }
    base.update(fields)
    return base


def test_bounded_labels() -> None:
    label = Bounded(2, known=["openai"])
    assert [label(v) for v in ("openai", "a", "b", "c", "a", None)] == ["openai", "a", "b", OTHER, "a", "none"]
    assert Bounded(0, ["openai"])("made-up") == OTHER


def test_one_record_updates_every_family() -> None:
    metrics = Metrics(["openai", "anthropic"])
    names = {
        "req": ("gateway_requests_total", {"provider": "openai", "endpoint": "chatComplete", "status": "200"}),
        "dur": ("gateway_request_duration_seconds_count", {"provider": "openai", "endpoint": "chatComplete"}),
        "ttfb": ("gateway_upstream_ttfb_seconds_count", {"provider": "openai"}),
        "in": ("gateway_tokens_total", {"provider": "openai", "model": "gpt-4o-mini", "type": "input"}),
        "cached": ("gateway_tokens_total", {"provider": "openai", "model": "gpt-4o-mini", "type": "cached"}),
        "cost": ("gateway_cost_usd_total", {"provider": "openai", "model": "gpt-4o-mini"}),
        "retries": ("gateway_retries_total", {"provider": "openai"}),
        "fallbacks": ("gateway_fallbacks_total", {}),
        "cache": ("gateway_cache_total", {"status": "MISS"}),
        "pass": ("gateway_guardrail_total", {"verdict": "pass"}),
        "fail": ("gateway_guardrail_total", {"verdict": "fail"}),
        "limit": ("gateway_limit_rejections_total", {"kind": "budget"}),
    }
    before = {key: value(name, **labels) for key, (name, labels) in names.items()}
    metrics.observe(record(), limit_kind="budget")
    assert value(names["req"][0], **names["req"][1]) == before["req"]  # added up, not yet written
    metrics.flush()
    after = {key: value(name, **labels) for key, (name, labels) in names.items()}
    grew = {key: round(after[key] - before[key], 6) for key in names}
    assert grew == {
        "req": 1,
        "dur": 1,
        "ttfb": 1,
        "in": 10,
        "cached": 2,
        "cost": 0.001,
        "retries": 2,
        "fallbacks": 1,
        "cache": 1,
        "pass": 1,
        "fail": 1,
        "limit": 1,
    }


def test_unknown_providers_are_other_and_disabled_cache_is_not_counted() -> None:
    metrics = Metrics(["openai"])
    before = value("gateway_requests_total", provider=OTHER, endpoint="embed", status="500")
    disabled = value("gateway_cache_total", status="DISABLED")
    metrics.observe(record(provider="made-up", endpoint="embed", status=500, cache_status="DISABLED", ttfb_ms=None))
    metrics.flush()
    assert value("gateway_requests_total", provider=OTHER, endpoint="embed", status="500") == before + 1
    assert value("gateway_cache_total", status="DISABLED") == disabled == 0


def test_histograms_written_in_batches_match_one_by_one_observation() -> None:
    metrics = Metrics(["openai"])
    labels = {"provider": "openai", "endpoint": "batchtest"}
    for seconds in (0.004, 0.005, 0.3, 0.3, 1000.0):
        metrics.observe(record(endpoint="batchtest", latency_ms=seconds * 1000, ttfb_ms=None))
    metrics.flush()
    assert value("gateway_request_duration_seconds_bucket", le="0.005", **labels) == 2
    assert value("gateway_request_duration_seconds_bucket", le="0.25", **labels) == 2
    assert value("gateway_request_duration_seconds_bucket", le="0.5", **labels) == 4
    assert value("gateway_request_duration_seconds_bucket", le="300.0", **labels) == 4
    assert value("gateway_request_duration_seconds_bucket", le="+Inf", **labels) == 5
    assert value("gateway_request_duration_seconds_sum", **labels) == pytest.approx(1000.609)


def test_a_background_flush_writes_within_a_second() -> None:
    metrics = Metrics(["openai"])
    before = value("gateway_requests_total", provider="openai", endpoint="flushtest", status="200")
    metrics.observe(record(endpoint="flushtest"))
    deadline = time.monotonic() + 2
    while value("gateway_requests_total", provider="openai", endpoint="flushtest", status="200") == before:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_breaker_gauge_and_exposition() -> None:
    metrics = Metrics(["openai"])
    metrics.breaker("openai:config.targets[0]", True)
    assert value("gateway_breaker_open", target="openai:config.targets[0]") == 1
    metrics.breaker("openai:config.targets[0]", False)
    assert value("gateway_breaker_open", target="openai:config.targets[0]") == 0
    body, content_type = render()
    assert b"gateway_requests_total" in body and content_type.startswith("text/plain")


def test_the_separate_metrics_server_checks_the_admin_token(monkeypatch, tmp_path) -> None:
    from gateway.observability import metrics_server

    config = tmp_path / "settings.toml"
    config.write_text('GATEWAY_ADMIN_TOKEN = "adm-from-file"\n')
    monkeypatch.setenv("GATEWAY_CONFIG_FILE", str(config))
    monkeypatch.setattr(metrics_server, "TOKEN", metrics_server.admin_token())
    seen = []

    def call(path: str, **headers: str) -> bytes:
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", **headers}
        return b"".join(metrics_server.app(environ, lambda status, _headers: seen.append(status)))

    assert call("/metrics") and seen[-1].startswith("401")
    assert b"gateway_requests_total" in call("/metrics", HTTP_AUTHORIZATION="Bearer adm-from-file")
    assert seen[-1].startswith("200")
    call("/other")
    assert seen[-1].startswith("404")
