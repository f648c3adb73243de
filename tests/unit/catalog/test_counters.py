"""Counter stores: atomic admit and add, exact across processes (SQLite) and clients (a real redis-server)."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import redis as redis_lib

from gateway.catalog.counters import Check, RedisCounters, SQLiteCounters


def _admit_many(path: str, n: int, out) -> None:
    store = SQLiteCounters(path)
    admitted = sum(store.admit([Check("k", 17, 1, time.time() + 60)]) == -1 for _ in range(n))
    out.put(admitted)
    store.close()


def test_sqlite_admit_is_exact_across_processes(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    SQLiteCounters(path).close()
    out = multiprocessing.get_context("spawn").Queue()
    procs = [multiprocessing.get_context("spawn").Process(target=_admit_many, args=(path, 10, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert sum(out.get(timeout=5) for _ in procs) == 17
    assert SQLiteCounters(path).read(["k"]) == [17.0]


def contract(store) -> None:
    later = time.time() + 60
    checks = [Check("a", 2, 1, later), Check("b", 10, 0, later)]
    assert store.admit(checks) == -1
    assert store.admit(checks) == -1
    assert store.admit(checks) == 0  # a is at 2: nothing changes
    assert store.read(["a", "b"]) == [2.0, 0.0]
    store.add([("b", 9.5, later), ("c", 0.25, float("inf"))])
    assert store.admit([Check("b", 10, 0, later)]) == -1
    store.add([("b", 0.5, later)])
    assert store.admit([Check("x", 5, 1, later), Check("b", 10, 0, later)]) == 1
    assert store.read(["x", "c"]) == [0.0, 0.25]


def test_sqlite_contract_and_expiry(tmp_path) -> None:
    store = SQLiteCounters(str(tmp_path / "c.sqlite3"))
    contract(store)
    past = time.time() - 120  # a window that ended (grace included) counts as empty
    store.add([("old", 5, past)])
    assert store.read(["old"]) == [0.0]
    assert store.admit([Check("old", 1, 1, time.time() + 60)]) == -1
    assert store.read(["old"]) == [1.0]


@pytest.fixture
def redis_client(redis_server):
    client = redis_lib.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


def test_redis_contract(redis_client) -> None:
    store = RedisCounters(redis_client)
    contract(store)
    assert redis_client.ttl("gateway:limits:a") > 60
    assert redis_client.ttl("gateway:limits:c") == -1  # a total budget never expires
