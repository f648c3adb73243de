"""The console API over the record store and catalog interfaces: paging, filters, detail, usage, health, config."""

from __future__ import annotations

import time

import pytest

from tests.unit.console.fakes import make_record


def test_records_are_paged_newest_first_with_a_cursor(client, records, admin):
    for n in range(120):
        records.add(make_record(n))
    first = client.get("/public/api/records?limit=50", headers=admin).get_json()
    assert [r["trace_id"] for r in first["records"]][:2] == ["trace-0119", "trace-0118"]
    assert len(first["records"]) == 50 and first["next"] == first["records"][-1]["id"]
    second = client.get("/public/api/records", query_string={"limit": 50, "before": first["next"]}, headers=admin)
    second = second.get_json()
    assert second["records"][0]["trace_id"] == "trace-0069"
    third = client.get("/public/api/records", query_string={"limit": 50, "before": second["next"]}, headers=admin)
    third = third.get_json()
    assert len(third["records"]) == 20 and third["next"] is None
    seen = [r["id"] for page in (first, second, third) for r in page["records"]]
    assert len(set(seen)) == 120 and seen == sorted(seen, reverse=True)


def test_default_page_is_fifty_and_limits_are_checked(client, records, admin):
    for n in range(60):
        records.add(make_record(n))
    assert len(client.get("/public/api/records", headers=admin).get_json()["records"]) == 50
    for bad in ("0", "201", "-1", "ten"):
        answer = client.get(f"/public/api/records?limit={bad}", headers=admin)
        assert answer.status_code == 400, bad


def test_list_rows_leave_bodies_out_but_the_detail_has_them(client, records, admin):
    records.add(make_record(1, request_body='{"messages": []}', response_body='{"choices": []}'))
    row = client.get("/public/api/records", headers=admin).get_json()["records"][0]
    assert "request_body" not in row and "response_body" not in row
    detail = client.get(f"/public/api/records/{row['id']}", headers=admin).get_json()
    assert detail["request_body"] == '{"messages": []}'
    assert client.get("/public/api/records/nope", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status_class": "5xx"}, {"trace-0002"}),
        ({"status_class": "4xx"}, {"trace-0001"}),
        ({"provider": "anthropic"}, {"trace-0002"}),
        ({"catalog_slug": "openai-prod"}, {"trace-0003"}),
        ({"gateway_key": "team-a"}, {"trace-0003"}),
        ({"model": "claude-sonnet-4-5"}, {"trace-0002"}),
        ({"trace_id": "trace-0001"}, {"trace-0001"}),
        ({"metadata": "team=search"}, {"trace-0001", "trace-0003"}),
        ({"since": "1700000002", "until": "1700000002.5"}, {"trace-0002"}),
        ({"status_class": "2xx", "metadata": "team=search"}, {"trace-0003"}),
    ],
)
def test_filters_reach_the_store(client, records, admin, query, expected):
    records.add(make_record(1, status=429, metadata={"team": "search"}))
    records.add(make_record(2, status=502, provider="anthropic", model_requested="claude-sonnet-4-5"))
    records.add(make_record(3, catalog_slug="openai-prod", gateway_key="team-a", metadata={"team": "search"}))
    answer = client.get("/public/api/records", query_string=query, headers=admin).get_json()
    assert {r["trace_id"] for r in answer["records"]} == expected
    sent = records.queries[-1][0]
    for key, value in query.items():
        assert sent[key] == (float(value) if key in ("since", "until") else value)


@pytest.mark.parametrize(
    "query",
    [{"status_class": "6xx"}, {"metadata": "no-equals-sign"}, {"since": "yesterday"}, {"until": "nan"}],
)
def test_bad_filters_are_400(client, admin, query):
    answer = client.get("/public/api/records", query_string=query, headers=admin)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"]


def test_empty_filters_are_ignored(client, records, admin):
    client.get("/public/api/records?provider=&model=%20", headers=admin)
    assert records.queries[-1][0] == {}


def test_no_credential_is_shown_even_when_one_slipped_into_a_record(client, records, admin):
    records.add(
        make_record(
            1,
            metadata={"user": "ada", "api_key": "sk-live-abcdefghijklmnop", "note": "Bearer abcdefghijklmnop1234"},
            error="openai error: Incorrect API key provided: sk-proj-abcdefghijklmnopqrst",
            upstream_headers={"authorization": "Bearer sk-abc"},
        )
    )
    row = client.get("/public/api/records", headers=admin).get_json()["records"][0]
    detail = client.get(f"/public/api/records/{row['id']}", headers=admin)
    text = detail.get_data(as_text=True)
    for secret in ("sk-live-abcdefghijklmnop", "abcdefghijklmnop1234", "sk-proj-abcdefghijklmnopqrst", "sk-abc"):
        assert secret not in text
    assert detail.get_json()["metadata"]["user"] == "ada"
    assert detail.get_json()["usage"]["input_tokens"] == 10  # "tokens" fields are not mistaken for secrets


def test_without_a_record_store_the_api_says_so(app, client, admin):
    app.extensions["gateway"].records = None
    answer = client.get("/public/api/records", headers=admin).get_json()
    assert answer == {"filters": {}, "records": [], "next": None, "available": False}
    assert client.get("/public/api/usage", headers=admin).get_json()["records"] is False


def test_usage_bars_turn_amber_at_80_and_red_at_100_percent(client, catalog, admin):
    catalog.used[("provider", "openai-prod")] = {"requests_per_minute": 8, "budget_usd": 1.25}
    catalog.used[("key", "team-a")] = {"budget_tokens": 100, "requests": 7}
    usage = client.get("/public/api/usage", headers=admin).get_json()
    provider = usage["providers"][0]
    assert provider["name"] == "openai-prod" and provider["period"] == "month"
    bars = {bar["name"]: bar for bar in provider["bars"]}
    assert bars["requests_per_minute"]["level"] == "warn" and bars["requests_per_minute"]["fraction"] == 0.8
    assert bars["budget_usd"]["level"] == "full" and bars["budget_usd"]["fraction"] == 1.25
    assert provider["level"] == "full"
    key = usage["keys"][0]
    key_bars = {bar["name"]: bar for bar in key["bars"]}
    assert key_bars["budget_tokens"]["level"] == "ok"
    assert key_bars["requests"] == {"name": "requests", "used": 7, "limit": None, "fraction": None, "level": "none"}


def test_usage_without_a_catalog(app, client, admin):
    app.extensions["gateway"].catalog = None
    usage = client.get("/public/api/usage", headers=admin).get_json()
    assert usage["catalog"] is False and usage["providers"] == [] and usage["keys"] == []


def test_usage_charts_come_from_the_last_hours_records(client, records, admin):
    now = time.time()
    records.add(make_record(1, time=now - 7200, latency_ms=5000.0))  # older than an hour: left out
    for i, latency in enumerate([100.0, 200.0, 300.0, 400.0]):
        records.add(make_record(10 + i, time=now - 30 + i, latency_ms=latency, status=500 if i == 0 else 200))
    series = client.get("/public/api/usage", headers=admin).get_json()["series"]
    points = series["points"]
    assert len(points) == 60 and series["bucket_seconds"] == 60
    last = points[-1]
    assert last["requests"] == 4 and last["rps"] == pytest.approx(4 / 60, abs=1e-3)
    assert last["p50_ms"] == 250.0 and last["p95_ms"] == pytest.approx(385.0)
    assert last["error_rate"] == 0.25
    assert sum(p["requests"] for p in points) == 4
    assert points[0]["error_rate"] is None and points[0]["p50_ms"] is None


def test_usage_charts_read_every_page(client, records, admin, monkeypatch):
    from gateway.console import sources

    monkeypatch.setattr(sources, "PAGE", 7)
    now = time.time()
    for i in range(30):
        records.add(make_record(i, time=now - 100 + i))
    series = client.get("/public/api/usage", headers=admin).get_json()["series"]
    assert sum(p["requests"] for p in series["points"]) == 30
    assert len(records.queries) == 5  # 7 + 7 + 7 + 7 + 2


def test_models_list_the_catalog_without_credentials(client, admin):
    answer = client.get("/public/api/models", headers=admin)
    body = answer.get_json()
    assert body["catalog"][0] == {
        "slug": "openai-prod",
        "provider": "openai",
        "models": ["gpt-4o", "gpt-4o-mini"],
        "aliases": {"fast": "gpt-4o-mini"},
    }
    assert "openai" in body["providers"] and "anthropic" in body["providers"]
    assert "sk-catalog-secret" not in answer.get_data(as_text=True)


def test_health_lists_catalog_providers_with_their_last_error(client, records, admin):
    records.add(make_record(1, catalog_slug="openai-prod", status=503, error="openai error: overloaded"))
    records.add(make_record(2, catalog_slug="openai-prod", status=429, error="rate limited"))
    records.add(make_record(3, catalog_slug="openai-prod", status=200))
    answer = client.get("/public/api/health", headers=admin)
    health = answer.get_json()
    assert health["redis"] == {"configured": False, "reachable": None, "error": None}
    assert health["catalog"] is True and health["records"] is True
    first, second = health["providers"]
    assert first["slug"] == "openai-prod" and first["models"] == 2 and first["breaker"] == "unknown"
    assert first["last_error"]["status"] == 429 and first["last_error"]["error"] == "rate limited"
    assert second["slug"] == "claude" and second["last_error"] is None
    assert "sk-catalog-secret" not in answer.get_data(as_text=True)


def test_health_reads_breaker_state_from_the_catalog_when_it_can(app, client, catalog, admin):
    catalog.breaker_state = lambda slug: "open" if slug == "claude" else "closed"
    providers = client.get("/public/api/health", headers=admin).get_json()["providers"]
    assert [p["breaker"] for p in providers] == ["closed", "open"]


def test_health_reports_an_unreachable_redis(app, client, admin):
    class DownRedis:
        def ping(self):
            raise ConnectionError("refused")

        def close(self):
            pass

    app.extensions["gateway"].redis = DownRedis()
    redis = client.get("/public/api/health", headers=admin).get_json()["redis"]
    assert redis == {"configured": True, "reachable": False, "error": "ConnectionError"}


def test_config_validation_returns_each_error_with_its_path(client, admin):
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [{"provider": "openai", "weight": -1}, {"provider": "groq", "retry": {"attempts": "two"}}],
    }
    answer = client.post("/public/api/config/validate", json={"config": config}, headers=admin)
    assert answer.status_code == 200
    result = answer.get_json()
    assert result["valid"] is False
    assert {"path": "targets[0].weight", "message": "Must be greater than or equal to 0."} in result["errors"]
    assert {"path": "targets[1].retry.attempts", "message": "Not a valid integer."} in result["errors"]


def test_config_validation_of_text(client, admin):
    broken = client.post("/public/api/config/validate", json={"config": "{not json"}, headers=admin).get_json()
    assert broken["valid"] is False and broken["errors"][0]["path"] == ""
    assert "valid json" in broken["errors"][0]["message"]
    mode = client.post(
        "/public/api/config/validate", json={"config": '{"strategy": {"mode": "roundrobin"}, "targets": [{}]}'}
    )
    assert mode.status_code == 401  # no auth
    mode = client.post(
        "/public/api/config/validate",
        json={"config": '{"strategy": {"mode": "roundrobin"}, "targets": [{"provider": "openai"}]}'},
        headers=admin,
    ).get_json()
    assert mode["errors"][0]["path"] == "strategy.mode"


def test_config_validation_warns_about_unknown_providers_and_slugs(client, admin):
    config = {"strategy": {"mode": "fallback"}, "targets": [{"provider": "@openai-prod"}, {"provider": "@nope"}]}
    result = client.post("/public/api/config/validate", json={"config": config}, headers=admin).get_json()
    assert result["valid"] is True
    assert result["warnings"] == [{"path": "targets[1].provider", "message": "no catalog provider named @nope"}]
    camel = {"provider": "opnai", "retry": {"attempts": 2, "onStatusCodes": [429]}}
    result = client.post("/public/api/config/validate", json={"config": camel}, headers=admin).get_json()
    assert result["valid"] is True and result["warnings"][0]["path"] == "provider"


def test_config_validation_needs_a_config_field(client, admin):
    assert client.post("/public/api/config/validate", json={"x": 1}, headers=admin).status_code == 400
    assert client.post("/public/api/config/validate", data="nope", headers=admin).status_code == 400


def test_static_files_are_packaged_and_served(client):
    for name, kind in (("console.js", "javascript"), ("console.css", "css"), ("logs.js", "javascript")):
        answer = client.get(f"/public/static/{name}")
        assert answer.status_code == 200 and kind in answer.headers["Content-Type"], name
    assert client.get("/public/static/../views.py").status_code == 404


def test_health_reads_the_breaker_the_router_keeps_for_a_catalog_provider(app, client, catalog, admin):
    from types import SimpleNamespace

    from gateway.routing.breaker import BreakerConfig, target_key

    state = app.extensions["gateway"]
    entry = SimpleNamespace(
        provider="openai", custom_host="http://127.0.0.1:9/v1", api_key="sk-catalog-secret-0123456789", options={}
    )
    catalog.data = SimpleNamespace(providers={"openai-prod": entry})
    before = client.get("/public/api/health", headers=admin).get_json()["providers"]
    assert [p["breaker"] for p in before] == ["closed", "unknown"]
    key = target_key("openai", "http://127.0.0.1:9/v1", "sk-catalog-secret-0123456789", {})
    for _ in range(2):
        state.breakers.record(key, BreakerConfig(failure_threshold=2, cooldown=60), failed=True)
    answer = client.get("/public/api/health", headers=admin)
    assert [p["breaker"] for p in answer.get_json()["providers"]] == ["open", "unknown"]
    assert "sk-catalog-secret" not in answer.get_data(as_text=True)
