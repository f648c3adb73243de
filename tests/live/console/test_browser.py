"""The console in headless Chromium against the real gateway and the mock provider.

Requests go through the gateway (gunicorn, gevent) to the mock; the browser sees them arrive
live, filters them, opens one, watches the usage bars, streams a playground chat and checks a
broken config, at desktop and phone widths.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from tests.live.console.conftest import (
    ADMIN_TOKEN,
    GATEWAY_KEY,
    KEY_NAME,
    PROVIDER_KEY,
    SLUG,
    admin_get,
    log_in,
)

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "console test"}]}


def trace() -> str:
    return "console-" + uuid.uuid4().hex[:12]


def chat(gateway, trace_id: str, *, config: dict | None = None, host: str | None = None, **body) -> requests.Response:
    headers = {
        "x-portkey-provider": "openai",
        "Authorization": "Bearer sk-test-key",
        "x-portkey-api-key": GATEWAY_KEY,
        "x-portkey-trace-id": trace_id,
    }
    if config is not None:
        headers["x-portkey-config"] = json.dumps(config)
    if host is not None:
        headers["x-portkey-custom-host"] = host
    return requests.post(gateway.url + "/v1/chat/completions", json={**CHAT, **body}, headers=headers, timeout=30)


def catalog_chat(gateway, trace_id: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {GATEWAY_KEY}", "x-portkey-trace-id": trace_id}
    body = {**CHAT, "model": f"@{SLUG}/gpt-4o-mini"}
    return requests.post(gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)


def row(tab, trace_id: str):
    return tab.locator("#log-rows tr", has_text=trace_id)


def wait_live(tab) -> None:
    tab.wait_for_selector("#live.on")


def test_the_console_asks_for_the_token_and_refuses_a_wrong_one(page, console_gateway):
    page.goto(f"{console_gateway.url}/public/")
    assert page.locator("#token").get_attribute("type") == "password"
    page.fill("#token", "not-the-token")
    page.click("#login-form button[type=submit]")
    assert "not the admin token" in page.locator("#login-error").inner_text()
    log_in(page, console_gateway)
    cookie = next(c for c in page.context.cookies() if c["name"] == "gateway_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # nothing readable from script
    assert not page.js_errors


def test_requests_appear_live_and_filter_by_status(page, console_gateway, mockctl, needs_records):
    log_in(page, console_gateway)
    wait_live(page)
    ok, failed = trace(), trace()
    assert chat(console_gateway, ok).status_code == 200
    assert chat(console_gateway, failed, host=mockctl.base(status=500)).status_code == 500
    row(page, ok).wait_for()
    row(page, failed).wait_for()
    assert row(page, failed).locator(".badge").inner_text() == "500"
    assert row(page, ok).locator(".badge").inner_text() == "200"
    # newest first: the failed one was sent last
    traces = page.locator("#log-rows tr td.trace").all_inner_texts()
    assert traces.index(failed) < traces.index(ok)

    page.select_option("#filters select[name=status_class]", "5xx")
    page.click("#filters button[type=submit]")
    row(page, ok).wait_for(state="detached")
    row(page, failed).wait_for()
    statuses = page.locator("#log-rows .badge").all_inner_texts()
    assert statuses and all(status.startswith("5") for status in statuses)
    # live rows respect the filter too
    another_ok, another_failed = trace(), trace()
    chat(console_gateway, another_ok)
    chat(console_gateway, another_failed, host=mockctl.base(status=503))
    row(page, another_failed).wait_for()
    assert row(page, another_ok).count() == 0
    page.click("#filters-clear")
    row(page, ok).wait_for()
    assert not page.js_errors


def test_detail_view_draws_the_fallback_path(page, console_gateway, mockctl, needs_records):
    trace_id = trace()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "openai", "custom_host": mockctl.base(status=503)},
            {"provider": "openai", "custom_host": mockctl.base()},
        ],
    }
    answer = chat(console_gateway, trace_id, config=config)
    assert answer.status_code == 200 and answer.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    log_in(page, console_gateway)
    page.fill("#filters input[name=trace_id]", trace_id)
    page.click("#filters button[type=submit]")
    row(page, trace_id).click()
    nodes = page.locator("#fallback-path .node")
    nodes.first.wait_for()
    assert nodes.count() == 2
    assert nodes.nth(0).locator(".badge").inner_text() == "503" and "fail" in nodes.nth(0).get_attribute("class")
    assert nodes.nth(1).locator(".badge").inner_text() == "200" and "answered" in nodes.nth(1).inner_text()
    detail = page.locator("#detail-body").inner_text()
    assert trace_id in detail and "Usage" in detail and "Cost" in detail
    page.click("#detail-close")
    assert page.locator("#detail").is_hidden()


def _bar(kind: str, name: str, limit: str) -> str:
    return f'#usage-{kind} .entity[data-name="{name}"] .bar[data-limit="{limit}"] .bar-fill'


def _bar_width(tab, kind: str, name: str, limit: str) -> float:
    selector = _bar(kind, name, limit)
    tab.wait_for_selector(selector, state="attached")
    return tab.eval_on_selector(selector, "el => parseFloat(el.style.width) || 0")


def test_usage_bars_move_after_catalog_requests(page, console_gateway, needs_catalog):
    # Token budgets run for the whole period, so the bars cannot fall back at a minute boundary.
    log_in(page, console_gateway, "usage")
    before_provider = _bar_width(page, "providers", SLUG, "budget_tokens")
    before_key = _bar_width(page, "keys", KEY_NAME, "budget_tokens")
    for _ in range(2):
        assert catalog_chat(console_gateway, trace()).status_code == 200
    page.wait_for_function(
        "([sel, before]) => parseFloat(document.querySelector(sel).style.width) > before",
        arg=[_bar("providers", SLUG, "budget_tokens"), before_provider],
        timeout=15_000,
    )
    assert _bar_width(page, "keys", KEY_NAME, "budget_tokens") > before_key
    assert page.locator(f'#usage-providers .entity[data-name="{SLUG}"] .bar[data-limit="requests_per_minute"]').count()
    assert page.locator("#chart-rps svg path").count() >= 1


def test_usage_charts_are_drawn_from_the_records(page, console_gateway, needs_records):
    chat(console_gateway, trace())
    log_in(page, console_gateway, "usage")
    page.wait_for_selector("#chart-rps svg")
    page.wait_for_selector("#chart-latency svg path[data-series=p95], #chart-latency svg circle")
    assert page.locator("#chart-errors svg").count() == 1


def test_playground_streams_tokens_as_they_arrive(page, console_gateway, mockctl):
    log_in(page, console_gateway, "playground")
    page.check("#play-form input[name=mode][value=provider]")
    page.select_option("#play-provider", "openai")
    page.fill("#play-form input[name=model]", "gpt-test")
    page.fill("#play-form input[name=api_key]", PROVIDER_KEY)
    page.fill("#play-form input[name=gateway_key]", GATEWAY_KEY)
    page.fill("#play-form textarea[name=message]", "stream me slowly")
    # A config sends the request to the mock with slow chunks, so the tokens arrive one by one.
    slow = {"provider": "openai", "custom_host": mockctl.base(chunks=6, chunk_delay_ms=250)}
    page.fill("#config-text", json.dumps(slow))
    page.check("#play-form input[name=use_config]")
    page.check("#play-form input[name=stream]")
    page.click("#play-send")
    # Part of the answer is on screen while the stream is still open.
    page.wait_for_function(
        "() => { const o = document.querySelector('#play-output');"
        " return Number(o.dataset.chunks || 0) >= 1 && !o.dataset.done; }"
    )
    partial = page.locator("#play-output").inner_text()
    page.wait_for_selector("#play-output[data-done='1']", timeout=15_000)
    final = page.locator("#play-output").inner_text()
    assert len(final) > len(partial) and int(page.locator("#play-output").get_attribute("data-chunks")) >= 3
    headers = page.locator("#play-headers").inner_text()
    assert "HTTP 200" in headers and "content-type: text/event-stream" in headers and "x-portkey-trace-id" in headers
    assert "200 from openai" in page.locator("#play-status").inner_text()
    # Snippets are generated for the current request, with placeholders instead of the typed keys.
    for tab_name, needle in (
        ("openai", "from openai import OpenAI"),
        ("anthropic", "from anthropic import Anthropic"),
        ("portkey", "from portkey_ai import Portkey"),
        ("curl", "curl -N"),
    ):
        page.click(f"#snippet-tabs button[data-snippet={tab_name}]")
        text = page.locator("#snippet").inner_text()
        assert needle in text and console_gateway.url in text
    page.click("#snippet-tabs button[data-snippet=fallback]")
    assert '"mode": "fallback"' in page.locator("#snippet").inner_text()
    page.click("#snippet-tabs button[data-snippet=loadbalance]")
    assert '"weight": 0.7' in page.locator("#snippet").inner_text()
    content = page.content()
    assert PROVIDER_KEY not in page.locator("body").inner_text()
    assert GATEWAY_KEY not in page.locator("#snippet").inner_text()
    assert ADMIN_TOKEN not in content
    assert not page.js_errors


def test_playground_with_a_catalog_model(page, console_gateway, needs_catalog):
    log_in(page, console_gateway, "playground")
    page.check("#play-form input[name=mode][value=catalog]")
    page.fill("#catalog-model", f"@{SLUG}/gpt-4o-mini")
    page.fill("#play-form input[name=gateway_key]", GATEWAY_KEY)
    page.uncheck("#play-form input[name=use_config]")
    page.click("#play-send")
    page.wait_for_selector("#play-output[data-done='1']", timeout=15_000)
    assert "200 from openai" in page.locator("#play-status").inner_text()
    assert page.locator("#play-output").inner_text().strip()


def test_config_editor_shows_errors_with_their_paths(page, console_gateway):
    log_in(page, console_gateway, "playground")
    broken = {
        "strategy": {"mode": "fallback"},
        "targets": [{"provider": "openai", "weight": -1}, {"provider": "openai", "retry": {"attempts": "two"}}],
    }
    page.fill("#config-text", json.dumps(broken, indent=2))
    page.click("#config-validate")
    page.wait_for_selector("#config-verdict.bad")
    paths = page.locator("#config-errors .p-path").all_inner_texts()
    assert "targets[0].weight" in paths and "targets[1].retry.attempts" in paths
    assert "greater than or equal to 0" in page.locator("#config-errors").inner_text()
    page.fill("#config-text", '{"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai"}]}')
    page.click("#config-validate")
    page.wait_for_selector("#config-verdict.ok")
    assert page.locator("#config-errors li").count() == 0


def test_health_shows_redis_and_catalog_providers(page, console_gateway, needs_catalog):
    log_in(page, console_gateway, "health")
    page.wait_for_selector('#health-cards [data-card="redis"]')
    assert "not configured" in page.locator('#health-cards [data-card="redis"]').inner_text()
    provider = page.locator(f'#health-rows tr[data-slug="{SLUG}"]')
    provider.wait_for()
    assert "openai" in provider.inner_text()
    assert provider.locator(".breaker").inner_text() in ("closed", "open")
    assert PROVIDER_KEY not in page.locator("body").inner_text()


def test_health_without_catalog_data_still_renders(page, console_gateway):
    log_in(page, console_gateway, "health")
    page.wait_for_selector('#health-cards [data-card="redis"] .state')
    assert page.locator("#health-cards .card").count() == 3


@pytest.mark.parametrize("view", ["logs", "usage", "playground", "health"])
def test_every_view_fits_a_phone(browser, console_gateway, view, request):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    tab = context.new_page()
    try:
        tab.js_errors = []
        log_in(tab, console_gateway, view)
        tab.wait_for_timeout(300)
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 1:
            from tests.live.console.conftest import ARTIFACTS

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"phone-{view}.png"), full_page=True)
        assert overflow <= 1, f"{view} is {overflow}px wider than a phone"
    finally:
        context.close()


def test_the_session_survives_a_reload_and_logout_ends_it(page, console_gateway):
    log_in(page, console_gateway)
    page.reload()
    page.wait_for_selector("#nav")
    page.click(".logout button")
    page.wait_for_selector("#login-form")
    status = page.evaluate("fetch('api/session').then(r => r.status)")
    assert status == 401


def test_the_api_answers_scripts_with_the_bearer_token(console_gateway):
    assert admin_get(console_gateway, "session")["via"] == "bearer"
    started = time.monotonic()
    with requests.get(
        console_gateway.url + "/log/stream", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, stream=True, timeout=10
    ) as stream:
        first = next(stream.iter_lines())
    assert first == b"event: connected" and time.monotonic() - started < 5
