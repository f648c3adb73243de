"""The Redis client's own circuit breaker and per-request budget (issue 15, item 8), without a server."""

from __future__ import annotations

import pytest
import redis

from gateway.stores.redis_budget import start_request
from gateway.stores.redis_guard import GuardedRedis, RedisBreaker, RedisSkipped


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeRedis:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls = 0
        self.stall = 0.0
        self.fail = False

    def get(self, key: str) -> bytes:
        self.calls += 1
        self.clock.now += self.stall
        if self.fail:
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        return b"v"


def test_breaker_opens_on_timeout_backs_off_and_probes_once() -> None:
    clock = Clock()
    fake = FakeRedis(clock)
    client = GuardedRedis(fake, RedisBreaker(backoff=5, budget=0, clock=clock))
    assert client.get("k") == b"v"
    fake.fail = True
    with pytest.raises(redis.exceptions.TimeoutError):
        client.get("k")
    calls = fake.calls
    for _ in range(10):
        with pytest.raises(RedisSkipped):
            client.get("k")
    assert fake.calls == calls, "an open breaker never touches Redis"
    clock.now += 5
    with pytest.raises(redis.exceptions.TimeoutError):
        client.get("k")  # the probe fails: open again
    with pytest.raises(RedisSkipped):
        client.get("k")
    fake.fail = False
    clock.now += 5
    assert client.get("k") == b"v"  # the probe succeeds: closed
    assert client.get("k") == b"v"


def test_each_request_has_a_redis_time_budget() -> None:
    clock = Clock()
    fake = FakeRedis(clock)
    fake.stall = 0.4
    client = GuardedRedis(fake, RedisBreaker(backoff=5, budget=1.0, clock=clock))
    start_request()
    client.get("a")
    client.get("b")
    client.get("c")
    with pytest.raises(RedisSkipped):
        client.get("d")
    assert fake.calls == 3
    start_request()
    assert client.get("e") == b"v"


def test_skips_are_connection_errors_so_stores_fail_open() -> None:
    assert issubclass(RedisSkipped, redis.exceptions.ConnectionError)
