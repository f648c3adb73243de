"""Routing configs end to end through gunicorn against the fault-injecting mock provider.

Each test checks what the client saw (status, body, headers, timing) and what each upstream
received (the mock's per-scenario request log).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support import free_port

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "route me"}]}


def sid() -> str:
    return uuid.uuid4().hex[:10]


def post(gateway, config: dict, body: dict | None = None, stream: bool = False, **headers: str):
    hdrs = {"x-portkey-config": json.dumps(config), "Authorization": "Bearer sk-route", **headers}
    return requests.post(
        gateway.url + "/v1/chat/completions",
        json={**(body or CHAT), **({"stream": True} if stream else {})},
        headers=hdrs,
        timeout=30,
    )


def target(mockctl, **switches) -> dict:
    return {"provider": "openai", "custom_host": mockctl.base(**switches)}


def test_429_with_retry_after_is_honoured(gateway, mockctl) -> None:
    s = sid()
    config = {
        **target(mockctl, id=s, status=429, fail_times=1, retry_after="1"),
        "retry": {"attempts": 2, "on_status_codes": [429], "use_retry_after_header": True},
    }
    started = time.monotonic()
    resp = post(gateway, config)
    elapsed = time.monotonic() - started
    assert resp.status_code == 200 and resp.headers["x-portkey-retry-attempt-count"] == "1"
    received = mockctl.requests(s)
    assert len(received) == 2
    gap = received[1]["t"] - received[0]["t"]
    assert 0.95 <= gap <= 1.3, gap
    assert elapsed >= 1.0
    s = sid()
    config = {
        **target(mockctl, id=s, status=429, fail_times=1, retry_after_ms="300"),
        "retry": {"attempts": 1, "use_retry_after_header": True},
    }
    assert post(gateway, config).status_code == 200
    received = mockctl.requests(s)
    assert 0.28 <= received[1]["t"] - received[0]["t"] <= 0.6


def test_5xx_then_success_with_growing_backoff(gateway, mockctl) -> None:
    s = sid()
    config = {**target(mockctl, id=s, status=503, fail_times=3), "retry": {"attempts": 4}}
    resp = post(gateway, config)
    assert resp.status_code == 200 and resp.headers["x-portkey-retry-attempt-count"] == "3"
    assert resp.json()["choices"][0]["message"]["content"] == "echo: route me"
    times = [r["t"] for r in mockctl.requests(s)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4
    # base 0.05 s: delays in [0.025, 0.05], [0.05, 0.1], [0.1, 0.2] (equal jitter)
    assert 0.02 <= gaps[0] <= 0.15 and 0.05 <= gaps[1] <= 0.2 and 0.1 <= gaps[2] <= 0.35, gaps


def test_exhausted_retries_report_minus_one(gateway, mockctl) -> None:
    s = sid()
    resp = post(gateway, {**target(mockctl, id=s, status=500), "retry": {"attempts": 2}})
    assert resp.status_code == 500 and resp.headers["x-portkey-retry-attempt-count"] == "-1"
    assert len(mockctl.requests(s)) == 3
    s = sid()
    resp = post(gateway, target(mockctl, id=s, status=500))
    assert resp.headers["x-portkey-retry-attempt-count"] == "0"  # retries never configured: not -1


def test_connection_refused_is_retried_then_falls_back(gateway, mockctl) -> None:
    s = sid()
    dead = {"provider": "openai", "custom_host": f"http://127.0.0.1:{free_port()}/v1", "retry": {"attempts": 1}}
    config = {"strategy": {"mode": "fallback"}, "targets": [dead, target(mockctl, id=s)]}
    started = time.monotonic()
    resp = post(gateway, config)
    assert resp.status_code == 200
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert resp.headers["x-portkey-provider"] == "openai"
    assert len(mockctl.requests(s)) == 1
    assert time.monotonic() - started < 2
    # on_status_codes: network failures count as 5xx-class
    config["strategy"]["on_status_codes"] = [502]
    assert post(gateway, config).status_code == 200


def test_slow_headers_past_the_timeout_fall_back(gateway, mockctl) -> None:
    slow, fast = sid(), sid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [{**target(mockctl, id=slow, delay_ms=3000), "request_timeout": 400}, target(mockctl, id=fast)],
    }
    started = time.monotonic()
    resp = post(gateway, config)
    assert resp.status_code == 200 and time.monotonic() - started < 1.5
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert len(mockctl.requests(slow)) == 1 and len(mockctl.requests(fast)) == 1
    # the header timeout wins over the config value at every leaf
    resp = post(
        gateway, {**target(mockctl, delay_ms=1000), "request_timeout": 5000}, **{"x-portkey-request-timeout": "200"}
    )
    assert resp.status_code == 408


def test_stream_failing_before_its_first_event_falls_back(gateway, mockctl) -> None:
    broken, good = sid(), sid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [target(mockctl, id=broken, cut_after=0), target(mockctl, id=good)],
    }
    resp = post(gateway, config, stream=True)
    assert resp.status_code == 200 and resp.content.endswith(b"data: [DONE]\n\n")
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert len(mockctl.requests(broken)) == 1 and len(mockctl.requests(good)) == 1


def test_stream_cut_mid_answer_ends_with_an_error_event_not_success(gateway, mockctl) -> None:
    cut, spare = sid(), sid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [target(mockctl, id=cut, cut_after=3), target(mockctl, id=spare)],
    }
    resp = post(gateway, config, stream=True)
    assert resp.status_code == 200
    events = resp.content.strip().split(b"\n\n")
    assert len(events) == 4 and b"[DONE]" not in resp.content
    assert json.loads(events[-1].removeprefix(b"data: "))["error"]["code"] == "stream_cut"
    assert mockctl.requests(spare) == []  # bytes reached the client: no fallback after that


def test_stream_stall_ends_with_an_error_event_within_the_stall_timeout(gateway, mockctl) -> None:
    stall, spare = sid(), sid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [target(mockctl, id=stall, stall_after=2, stall_ms=15000), target(mockctl, id=spare)],
    }
    started = time.monotonic()
    resp = post(gateway, config, stream=True)
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed <= 3.5, elapsed  # GATEWAY_STREAM_IDLE_TIMEOUT=2 on the test gateway
    assert b'"code":"stream_stall"' in resp.content and b"[DONE]" not in resp.content
    assert mockctl.requests(spare) == []


def test_fallback_chain_with_nested_weighted_loadbalance(gateway, mockctl) -> None:
    a, b1, b2, c = sid(), sid(), sid(), sid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            target(mockctl, id=a, status=500),
            {
                "strategy": {"mode": "loadbalance"},
                "targets": [
                    {**target(mockctl, id=b1), "weight": 3},
                    {**target(mockctl, id=b2), "weight": 1},
                    {**target(mockctl, id="never"), "weight": 0},
                ],
            },
            target(mockctl, id=c),
        ],
    }
    n = 400
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: post(gateway, config), range(n)))
    assert all(r.status_code == 200 for r in responses)
    paths = Counter(r.headers["x-portkey-last-used-option-index"] for r in responses)
    assert set(paths) == {"config.targets[1].targets[0]", "config.targets[1].targets[1]"}
    share = len(mockctl.requests(b1)) / n
    assert 0.68 <= share <= 0.82, share  # weight 3 of 4, within about 3.5 standard deviations
    assert len(mockctl.requests(b1)) + len(mockctl.requests(b2)) == n
    assert len(mockctl.requests(a)) == n and mockctl.requests(c) == [] and mockctl.requests("never") == []


def test_conditional_by_metadata_and_by_params_model(gateway, mockctl) -> None:
    pro, mini, default = sid(), sid(), sid()
    config = {
        "strategy": {
            "mode": "conditional",
            "default": "default",
            "conditions": [
                {"query": {"metadata.account.plan": {"$eq": "pro"}}, "then": "pro"},
                {"query": {"params.model": {"$in": ["gpt-mini", "gpt-nano"]}}, "then": "mini"},
            ],
        },
        "targets": [
            {**target(mockctl, id=pro), "name": "pro"},
            {**target(mockctl, id=mini), "name": "mini"},
            {**target(mockctl, id=default), "name": "default"},
        ],
    }
    resp = post(gateway, config, **{"x-portkey-metadata": json.dumps({"account": {"plan": "pro"}})})
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[0]"
    resp = post(gateway, config, body={**CHAT, "model": "gpt-mini"})
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    resp = post(gateway, config, body={**CHAT, "model": "gpt-large"})
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[2]"
    assert [len(mockctl.requests(x)) for x in (pro, mini, default)] == [1, 1, 1]
    assert json.loads(mockctl.requests(mini)[0]["body"])["model"] == "gpt-mini"
    del config["strategy"]["default"]
    resp = post(gateway, config, body={**CHAT, "model": "gpt-large"})
    assert resp.status_code == 400 and "did not resolve to any valid target" in resp.json()["message"]


def test_header_credentials_are_inherited_by_targets(gateway, mockctl) -> None:
    first, second = sid(), sid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [target(mockctl, id=first, status=500), target(mockctl, id=second)],
        "override_params": {"temperature": 0.2},
    }
    resp = post(gateway, config, **{"x-portkey-provider": "openai", "x-portkey-openai-project": "proj-1"})
    assert resp.status_code == 200
    for scenario in (first, second):
        received = mockctl.requests(scenario)[0]
        assert received["headers"]["authorization"] == "Bearer sk-route"
        assert received["headers"]["openai-project"] == "proj-1"
        assert json.loads(received["body"])["temperature"] == 0.2


@pytest.mark.parametrize(
    ("config", "param"),
    [
        ({"strategy": {"mode": "roulette"}, "targets": [{"provider": "openai"}]}, "strategy.mode"),
        ({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": -2}]}, "targets[0].weight"),
        ({"provider": "openai", "retry": {"attempts": 50}}, "retry.attempts"),
        (
            {
                "strategy": {
                    "mode": "conditional",
                    "conditions": [{"query": {"metadata.x": {"$near": 1}}, "then": "a"}],
                },
                "targets": [{"provider": "openai", "name": "a"}],
            },
            "strategy.conditions[0].query.metadata.x.$near",
        ),
        (
            {
                "strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.x": 1}, "then": "b"}]},
                "targets": [{"provider": "openai", "name": "a"}],
            },
            "strategy.conditions[0].then",
        ),
    ],
)
def test_bad_configs_are_400_with_the_path(gateway, config, param) -> None:
    resp = post(gateway, config)
    assert resp.status_code == 400
    body = resp.json()
    assert body["message"] == "Invalid config passed" and body["error"]["param"] == param


@pytest.fixture(scope="module")
def shared_gateways(gateway_factory, redis_server):
    """Two gateway instances (one gunicorn worker each) sharing one redis-server."""
    return [gateway_factory(GATEWAY_REDIS_URL=redis_server.url) for _ in range(2)]


def fresh_post(gateway, config: dict):
    """Send on a new connection each time, so requests spread over both workers."""
    with requests.Session() as session:
        return session.post(
            gateway.url + "/v1/chat/completions",
            json=CHAT,
            timeout=30,
            headers={"x-portkey-config": json.dumps(config), "Authorization": "Bearer sk-cb", "Connection": "close"},
        )


def test_circuit_opens_and_closes_across_two_workers_through_redis(shared_gateways, mockctl) -> None:
    one, two = shared_gateways
    flaky, spare = sid(), sid()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {
                **target(mockctl, id=flaky, status=500, fail_times=4),
                "circuit_breaker": {"failure_threshold": 3, "cooldown": 1.5},
            },
            target(mockctl, id=spare),
        ],
    }
    for gateway in (one, two, one):  # three failures, seen by two different workers
        assert fresh_post(gateway, config).status_code == 200
    assert len(mockctl.requests(flaky)) == 3  # the circuit is now open everywhere
    with ThreadPoolExecutor(8) as pool:
        during = list(pool.map(lambda i: fresh_post((one, two)[i % 2], config), range(16)))
    assert all(r.headers["x-portkey-last-used-option-index"] == "config.targets[1]" for r in during)
    assert len(mockctl.requests(flaky)) == 3, "no worker may call an open target"
    time.sleep(1.6)  # cooldown over: one probe; it fails (4th scripted failure), the circuit opens again
    assert fresh_post(two, config).headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert len(mockctl.requests(flaky)) == 4
    assert fresh_post(one, config).headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert len(mockctl.requests(flaky)) == 4
    time.sleep(1.6)  # the next probe succeeds and closes the circuit
    resp = fresh_post(one, config)
    assert resp.headers["x-portkey-last-used-option-index"] == "config.targets[0]"
    with ThreadPoolExecutor(4) as pool:
        after = list(pool.map(lambda i: fresh_post((one, two)[i % 2], config), range(6)))
    assert all(r.headers["x-portkey-last-used-option-index"] == "config.targets[0]" for r in after)


def test_breaker_fails_open_when_redis_is_unreachable(gateway_factory, mockctl) -> None:
    server = gateway_factory(GATEWAY_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    s = sid()
    config = {**target(mockctl, id=s), "circuit_breaker": {"failure_threshold": 1}}
    assert post(server, config).status_code == 200
    assert "circuit breaker state unavailable in Redis" in server.log()
