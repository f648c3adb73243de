"""A Redis that is stalled (paused with SIGSTOP, not down) must not slow every request (issue 15, item 8)."""

from __future__ import annotations

import json
import os
import signal
import time

import requests

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello stalled redis"}]}


def test_a_stalled_redis_costs_at_most_one_timeout_per_back_off(gateway_factory, redis_server, mock) -> None:
    gateway = gateway_factory(GATEWAY_REDIS_URL=redis_server.url, GATEWAY_REDIS_BACKOFF="30")
    config = {
        "provider": "openai",
        "api_key": "sk-test",
        "cache": {"mode": "simple"},
        "circuit_breaker": {"failure_threshold": 3, "cooldown": 5},
    }
    headers = {"x-portkey-config": json.dumps(config)}
    url = gateway.url + "/v1/chat/completions"
    assert requests.post(url, json=CHAT, headers=headers, timeout=10).status_code == 200
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        timings = []
        for i in range(6):
            started = time.monotonic()
            body = {**CHAT, "messages": [{"role": "user", "content": f"stalled {i}"}]}
            response = requests.post(url, json=body, headers=headers, timeout=10)
            timings.append(time.monotonic() - started)
            assert response.status_code == 200
        # The first request pays one socket timeout (0.5 s) and opens the breaker; the rest skip Redis.
        assert timings[0] < 1.5, timings
        assert max(timings[1:]) < 0.45, timings  # less than one socket timeout: Redis is skipped
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
