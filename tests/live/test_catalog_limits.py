"""Catalog limits end to end: exact across gunicorn workers (SQLite) and gateway instances (Redis).

Every test uses fresh slugs, so counters in the shared redis-server or SQLite file never mix.
The mock answers each chat with 8 prompt and 2 completion tokens (10 tokens; 0.00004 USD on gpt-4o).
"""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pytest

from tests.live.catalog_support import (
    CHAT,
    SECRET_ENV,
    SECRETS,
    TEAM_A_KEY,
    away_from_minute_edge,
    chat,
    provider_table,
    slug,
    write,
)
from tests.support import scenario_id, start_gateway, start_redis


def keys_table(limits: str = "") -> str:
    text = '[keys.team-a]\nkey = "${TEAM_A_KEY}"\n'
    return text + (f"[keys.team-a.limits]\n{limits}\n" if limits else "")


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "limits.sqlite3")


def two_workers(gateway_factory, path, db):
    """A gateway with two workers that logs which worker served each request."""
    return gateway_factory(
        workers=2,
        GATEWAY_CATALOG_FILE=str(path),
        GATEWAY_LIMITS_DB=db,
        GATEWAY_ACCESSLOG="-",
        GATEWAY_ACCESSLOG_FORMAT="served-by %(p)s %(s)s",
        **SECRET_ENV,
    )


def workers_seen(gw, since: int = 0) -> set[str]:
    """The pids of the workers that served requests (logged after character ``since``)."""
    return set(re.findall(r"served-by <(\d+)>", gw.log()[since:]))


def test_rate_limit_is_exact_across_two_workers(gateway_factory, mockctl, tmp_path, db) -> None:
    host = mockctl.base(id=scenario_id(), delay_ms=300)
    names = [slug() for _ in range(5)]
    text = "".join(provider_table(n, host, limits="requests_per_minute = 6") for n in names) + keys_table()
    gw = two_workers(gateway_factory, write(tmp_path / "c.toml", text), db)
    # A burst of concurrent connections usually spreads over both workers; a fresh slug per try
    # until it did (each try must be exact on its own).
    for name in names:
        away_from_minute_edge()
        since = len(gw.log())
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _, n=name: chat(gw, TEAM_A_KEY, f"@{n}/gpt-4o"), range(16)))
        assert sorted(r.status_code for r in answers) == [200] * 6 + [429] * 10
        limited = [r for r in answers if r.status_code == 429]
        assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in limited)
        assert "requests_per_minute" in limited[0].json()["message"]
        time.sleep(0.3)  # the access log line is written after the answer
        if len(workers_seen(gw, since)) == 2:
            break
    else:
        pytest.fail("every burst was served by one worker")


def test_key_rate_limit_is_429_with_retry_after(gateway_factory, mockctl, tmp_path, db) -> None:
    name = slug()
    text = provider_table(name, mockctl.base(id=scenario_id())) + keys_table("requests_per_minute = 2")
    gw = gateway_factory(GATEWAY_CATALOG_FILE=str(write(tmp_path / "c.toml", text)), GATEWAY_LIMITS_DB=db, **SECRET_ENV)
    away_from_minute_edge()
    answers = [chat(gw, TEAM_A_KEY, f"@{name}/gpt-4o") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert "gateway key team-a" in answers[2].json()["message"]
    assert int(answers[2].headers["retry-after"]) >= 1
    claude_sdk = anthropic.Anthropic(base_url=gw.url, api_key=TEAM_A_KEY, max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as caught:  # Anthropic's envelope on /v1/messages
        claude_sdk.messages.create(model=f"@{name}/gpt-4o", max_tokens=20, messages=CHAT)
    assert caught.value.body["type"] == "error" and caught.value.response.headers["retry-after"]


def spend_until_refused(gateways, model: str, count: int = 6) -> list[int]:
    """Alternate requests (plain and streamed) between ``gateways``; return the statuses in order."""
    statuses = []
    for i in range(count):
        gw = gateways[i % len(gateways)]
        if i % 2:
            resp = chat(gw, TEAM_A_KEY, model, stream=True)
            assert resp.status_code != 200 or b"[DONE]" in resp.content  # usage counted at the stream's end
        else:
            resp = chat(gw, TEAM_A_KEY, model)
        statuses.append(resp.status_code)
        if resp.status_code == 412:
            assert resp.json()["message"].startswith("Budget exhausted")
    return statuses


def test_budget_across_two_instances_sharing_redis(gateway_factory, mockctl, redis_server, tmp_path) -> None:
    tokens, usd = slug("tok"), slug("usd")
    text = (
        provider_table(tokens, mockctl.base(id=scenario_id()), limits="budget_tokens = 25\nbudget_period = 'day'")
        + provider_table(usd, mockctl.base(id=scenario_id()), limits="budget_usd = 0.0001")
        + keys_table()
    )
    path = write(tmp_path / "c.toml", text)
    env = {"GATEWAY_CATALOG_FILE": str(path), "GATEWAY_REDIS_URL": redis_server.url, **SECRET_ENV}
    first, second = gateway_factory(**env), gateway_factory(**env)
    # 10 tokens a request: 0, 10, 20 used before the first three; 30 >= 25 refuses the fourth
    assert spend_until_refused([first, second], f"@{tokens}/gpt-4o") == [200, 200, 200, 412, 412, 412]
    # 0.00004 USD a request on gpt-4o (genai-prices): refused once 0.00012 >= 0.0001 is spent
    assert spend_until_refused([second, first], f"@{usd}/gpt-4o") == [200, 200, 200, 412, 412, 412]
    claude_sdk = anthropic.Anthropic(base_url=first.url, api_key=TEAM_A_KEY, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as caught:  # a provider's refusal, in Anthropic's envelope
        claude_sdk.messages.create(model=f"@{usd}/gpt-4o", max_tokens=20, messages=CHAT)
    assert caught.value.status_code == 412 and caught.value.body["type"] == "error"
    assert "Budget exhausted" in caught.value.body["error"]["message"]


def test_budget_across_workers_sharing_one_sqlite_file(gateway_factory, mockctl, tmp_path, db) -> None:
    name = slug()
    path = write(
        tmp_path / "c.toml", provider_table(name, mockctl.base(id=scenario_id())) + keys_table("budget_tokens = 25")
    )
    first, second = two_workers(gateway_factory, path, db), two_workers(gateway_factory, path, db)
    statuses = spend_until_refused([first, second], f"@{name}/gpt-4o", count=8)
    assert statuses == [200, 200, 200, 412, 412, 412, 412, 412]
    assert workers_seen(first) and workers_seen(second)  # four worker processes, one file
    resp = chat(first, TEAM_A_KEY, f"@{name}/gpt-4o")
    assert "gateway key team-a" in resp.json()["message"]


def test_redis_stopped_mid_run_fails_open_or_closed(gateway_factory, mockctl, log_dir, tmp_path) -> None:
    redis = start_redis(log_dir)
    name = slug()
    text = provider_table(name, mockctl.base(id=scenario_id()), limits="requests_per_minute = 1000") + keys_table()
    env = {"GATEWAY_CATALOG_FILE": str(write(tmp_path / "c.toml", text)), "GATEWAY_REDIS_URL": redis.url}
    try:
        open_gw = gateway_factory(**env, **SECRET_ENV)
        closed_gw = gateway_factory(**env, GATEWAY_LIMITS_FAIL="closed", **SECRET_ENV)
        assert chat(open_gw, TEAM_A_KEY, f"@{name}/gpt-4o").status_code == 200
        assert chat(closed_gw, TEAM_A_KEY, f"@{name}/gpt-4o").status_code == 200
    finally:
        redis.stop()
    assert [chat(open_gw, TEAM_A_KEY, f"@{name}/gpt-4o").status_code for _ in range(3)] == [200] * 3
    refused = chat(closed_gw, TEAM_A_KEY, f"@{name}/gpt-4o")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "limits_unavailable"
    assert open_gw.log().count("limits store unavailable; not enforcing limits") == 1  # throttled
    assert "limits store unavailable; refusing requests" in closed_gw.log()


def wait_for(check, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_sighup_and_file_changes_reload_the_catalog(gateway_factory, mockctl, tmp_path, db) -> None:
    host = mockctl.base(id=scenario_id())
    old, new, later = slug("old"), slug("new"), slug("later")
    path = write(tmp_path / "c.toml", provider_table(old, host) + keys_table())
    gw = gateway_factory(
        workers=2,
        GATEWAY_CATALOG_FILE=str(path),
        GATEWAY_LIMITS_DB=db,
        GATEWAY_CATALOG_RELOAD_INTERVAL="-1",  # no polling: only SIGHUP reloads
        **SECRET_ENV,
    )
    assert chat(gw, TEAM_A_KEY, f"@{new}/gpt-4o").status_code == 400
    write(path, provider_table(old, host) + provider_table(new, host) + keys_table())
    for pid in gw.worker_pids():  # SIGHUP to each worker: reloaded in place on its next request
        os.kill(pid, signal.SIGHUP)
    assert wait_for(lambda: all(chat(gw, TEAM_A_KEY, f"@{new}/gpt-4o").status_code == 200 for _ in range(4)))
    workers = set(gw.worker_pids())
    write(path, provider_table(later, host) + keys_table())
    gw.process.send_signal(signal.SIGHUP)  # SIGHUP to the gunicorn master: fresh workers read the file
    assert wait_for(lambda: chat(gw, TEAM_A_KEY, f"@{later}/gpt-4o").status_code == 200)
    assert wait_for(lambda: not workers & set(gw.worker_pids()))
    assert chat(gw, TEAM_A_KEY, f"@{old}/gpt-4o").status_code == 400


def test_changed_file_reloads_and_a_bad_one_is_refused(gateway_factory, mockctl, tmp_path, db) -> None:
    host = mockctl.base(id=scenario_id())
    first, second = slug("a"), slug("b")
    path = write(tmp_path / "c.toml", provider_table(first, host) + keys_table())
    gw = gateway_factory(
        GATEWAY_CATALOG_FILE=str(path), GATEWAY_LIMITS_DB=db, GATEWAY_CATALOG_RELOAD_INTERVAL="0.2", **SECRET_ENV
    )
    write(path, provider_table(first, host) + provider_table(second, host) + keys_table())
    assert wait_for(lambda: chat(gw, TEAM_A_KEY, f"@{second}/gpt-4o").status_code == 200)
    write(path, provider_table(first, host) + "[providers.broken]\nprovider = 'no-such-provider'\n" + keys_table())
    time.sleep(1.0)
    assert chat(gw, TEAM_A_KEY, f"@{second}/gpt-4o").status_code == 200  # the last good catalog stays
    assert wait_for(lambda: "catalog reload failed" in gw.log())
    assert "providers.broken.provider: unknown provider no-such-provider" in gw.log()


def test_a_bad_file_stops_startup_naming_every_problem(log_dir, mock, tmp_path) -> None:
    text = (
        '[providers.Bad_Slug]\nprovider = "openai"\n'
        '[providers.ok]\nprovider = "openai"\napi_key = "${NOT_SET_ANYWHERE}"\n'
        '[providers.ok.limits]\nbudget_period = "year"\nrequests_per_minute = -1\n'
        '[keys.team-a]\nkey = "${TEAM_A_KEY}"\nkey_sha256 = "00"\n'
    )
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(RuntimeError) as caught:
        start_gateway(log_dir, env={"GATEWAY_CATALOG_FILE": str(path), **SECRET_ENV}, workers=1)
    message = str(caught.value)
    for expected in (
        "providers.Bad_Slug: invalid name",
        "providers.ok.api_key: environment variable NOT_SET_ANYWHERE is not set",
        "providers.ok.limits.budget_period",
        "providers.ok.limits.requests_per_minute",
        "keys.team-a.key_sha256",
    ):
        assert expected in message
    assert not any(secret in message for secret in SECRETS)
