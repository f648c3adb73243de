"""The semantic index shared through a real redis-server: bounded, and every worker finds new prompts."""

from __future__ import annotations

import numpy as np
import pytest
import redis

from gateway.cache import semantic


def unit(i: int, dims: int = 8) -> np.ndarray:
    vector = np.zeros(dims, dtype=np.float32)
    vector[i % dims] = 1.0
    vector[(i + 1) % dims] = 0.1 * (i // dims + 1)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def client(redis_server):
    conn = redis.Redis.from_url(redis_server.url)
    conn.flushdb()
    yield conn
    conn.close()


def test_two_workers_share_entries_and_the_list_stays_bounded(client, monkeypatch) -> None:
    monkeypatch.setattr(semantic, "MAX_PER_SCOPE", 5)
    one, two = semantic.SemanticIndex(client), semantic.SemanticIndex(client)
    for i in range(23):
        (one if i % 2 else two).add("scope", unit(i), f"key-{i}", ttl=60)
        assert client.llen("gw:sem:scope") <= 2 * semantic.MAX_PER_SCOPE
        for index in (one, two):  # each worker finds the newest prompt, whoever stored it
            assert index.nearest("scope", unit(i), 0.99) == (f"key-{i}", pytest.approx(1.0))
    assert client.llen("gw:sem:scope") <= 2 * semantic.MAX_PER_SCOPE
    assert one.nearest("scope", unit(0), 0.999) is None  # long gone


def test_without_redis_the_index_is_per_worker_and_capped(monkeypatch) -> None:
    monkeypatch.setattr(semantic, "MAX_PER_SCOPE", 3)
    index = semantic.SemanticIndex()
    for i in range(6):
        index.add("s", unit(i), f"k{i}", ttl=60)
    assert index.nearest("s", unit(5), 0.99)[0] == "k5"
    assert index.nearest("s", unit(1), 0.999) is None
