"""Catalog requests in the records and metrics: the slug and the gateway key's name (never the key), limit
refusals counted by kind, and neither the catalog's provider key nor the gateway key anywhere."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from gateway.observability.store import SQLiteRecordStore
from tests.live.catalog_support import PROD_KEY, SECRET_ENV, TEAM_A_KEY, away_from_minute_edge, write
from tests.live.observability_support import delta, scrape, wait_record
from tests.support import scenario_id

ADMIN = "adm-catalog-obs-4c1d"


@pytest.fixture(scope="module")
def gw(gateway_factory, mockctl, tmp_path_factory):
    base = tmp_path_factory.mktemp("obs-catalog")
    slug = "obs-" + uuid.uuid4().hex[:6]
    text = f"""
[providers.{slug}]
provider = "openai"
api_key = "${{PROD_KEY}}"
custom_host = "{mockctl.base(id=scenario_id())}"

[keys.team-a]
key = "${{TEAM_A_KEY}}"

[keys.team-a.limits]
requests_per_minute = 4
"""
    catalog = write(base / "catalog.toml", text)
    server = gateway_factory(
        workers=2,
        GATEWAY_CATALOG_FILE=str(catalog),
        GATEWAY_LIMITS_DB=str(base / "limits.sqlite3"),
        GATEWAY_RECORDS_DB=str(base / "records.sqlite3"),
        GATEWAY_LOG_FORMAT="json",
        GATEWAY_LOG_BODIES="true",
        GATEWAY_ADMIN_TOKEN=ADMIN,
        **SECRET_ENV,
    )
    server.db = str(base / "records.sqlite3")
    server.slug = slug
    return server


def test_a_catalog_request_names_its_slug_and_key_and_a_refusal_is_counted(gw) -> None:
    away_from_minute_edge()
    before = scrape(gw.url, ADMIN)
    trace = "cat-" + uuid.uuid4().hex[:8]
    resp = _chat(gw, trace)
    assert resp.status_code == 200 and float(resp.headers["x-portkey-cost-usd"]) > 0
    record = wait_record(gw.db, trace)
    assert (record["catalog_slug"], record["gateway_key"], record["provider"]) == (gw.slug, "team-a", "openai")
    assert record["model_requested"] == "gpt-4o-mini" and record["model_answered"] == "gpt-4o-mini"
    assert record["status"] == 200 and record["cost_usd"] > 0
    statuses = [_chat(gw, "cat-" + uuid.uuid4().hex[:8]).status_code for _ in range(5)]
    assert statuses.count(429) >= 1
    after = scrape(gw.url, ADMIN)
    assert delta(before, after, "gateway_limit_rejections_total", kind="rate") == statuses.count(429)
    refused = SQLiteRecordStore(gw.db)
    try:
        found = refused.query({"status_class": "4xx", "gateway_key": "team-a"}, limit=10)
    finally:
        refused.close()
    assert found and found[0]["status"] == 429 and found[0]["error_origin"] == "gateway"
    assert "requests_per_minute" in found[0]["error"]


def _chat(gw, trace: str) -> requests.Response:
    return requests.post(
        gw.url + "/v1/chat/completions",
        json={"model": f"@{gw.slug}/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {TEAM_A_KEY}", "x-portkey-trace-id": trace},
        timeout=30,
    )


def test_no_catalog_secret_in_logs_metrics_or_records(gw) -> None:
    _chat(gw, "cat-" + uuid.uuid4().hex[:8])
    store = SQLiteRecordStore(gw.db)
    try:
        records = json.dumps(store.query({}, limit=1000))
    finally:
        store.close()
    metrics = json.dumps(list(scrape(gw.url, ADMIN)))
    for secret in (PROD_KEY, TEAM_A_KEY, ADMIN):
        assert secret not in gw.log() and secret not in records and secret not in metrics
