"""The record stores: SQLite (default) and a capped Redis stream, one interface, live fan-out."""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.observability.store import RedisRecordStore, SQLiteRecordStore
from tests.gevent_probe import run_gevent_probe

T0 = 1_800_000_000.0


def rec(n: int, **fields) -> dict:
    at = fields.pop("time", T0 + n)
    trace = fields.pop("trace_id", f"t{n:04d}")
    record = {
        "id": f"{int(at * 1e9):020d}-{trace}",
        "trace_id": trace,
        "time": at,
        "status": 200,
        "provider": "openai",
        "catalog_slug": None,
        "gateway_key": None,
        "model_requested": "gpt-4o-mini",
        "model_answered": "gpt-4o-mini-2024",
        "metadata": {},
    }
    record.update(fields)
    return record


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        made = SQLiteRecordStore(str(tmp_path / "records.sqlite3"), max_records=50)
        yield made
        made.close()
    else:
        server = request.getfixturevalue("redis_server")
        client = redis_lib.Redis.from_url(server.url, socket_timeout=0.5)
        key = f"test:records:{time.time_ns()}"
        yield RedisRecordStore(client, max_records=50, key=key)
        client.delete(key)
        client.close()


def ids(records: list[dict]) -> list[str]:
    return [r["trace_id"] for r in records]


def test_query_is_newest_first_with_paging(store) -> None:
    for n in range(10):
        store.add(rec(n))
    page = store.query({}, limit=4)
    assert ids(page) == ["t0009", "t0008", "t0007", "t0006"]
    assert ids(store.query({}, limit=4, before=page[-1]["id"])) == ["t0005", "t0004", "t0003", "t0002"]
    assert store.get(page[0]["id"]) == page[0]
    assert store.get(rec(99)["id"]) is None


def test_every_filter(store) -> None:
    store.add(rec(1, status=200, provider="openai", metadata={"team": "blue", "n": 3}))
    store.add(rec(2, status=429, provider="anthropic", catalog_slug="claude-prod", gateway_key="team-a"))
    store.add(rec(3, status=502, provider="openai", model_requested="gpt-x", model_answered="gpt-x-1"))
    assert ids(store.query({"status_class": "4xx"})) == ["t0002"]
    assert ids(store.query({"status_class": "5xx"})) == ["t0003"]
    assert ids(store.query({"provider": "openai"})) == ["t0003", "t0001"]
    assert ids(store.query({"catalog_slug": "claude-prod"})) == ["t0002"]
    assert ids(store.query({"gateway_key": "team-a"})) == ["t0002"]
    assert ids(store.query({"model": "gpt-x-1"})) == ["t0003"]
    assert ids(store.query({"model": "gpt-x"})) == ["t0003"]
    assert ids(store.query({"trace_id": "t0001"})) == ["t0001"]
    assert ids(store.query({"metadata": "team=blue"})) == ["t0001"]
    assert ids(store.query({"metadata": "n=3"})) == ["t0001"]
    assert ids(store.query({"metadata": "team=red"})) == []
    assert ids(store.query({"since": T0 + 2})) == ["t0003", "t0002"]
    assert ids(store.query({"until": T0 + 2})) == ["t0002", "t0001"]
    assert ids(store.query({"since": T0 + 2, "until": T0 + 2, "provider": "anthropic"})) == ["t0002"]
    assert ids(store.query({"provider": None, "status_class": ""})) == ["t0003", "t0002", "t0001"]


def test_the_store_keeps_about_the_last_n(store) -> None:
    for n in range(260):
        store.add(rec(n))
    kept = store.query({}, limit=1000)
    assert kept[0]["trace_id"] == "t0259"
    assert 50 <= len(kept) <= 160  # trimmed now and then (Redis: approximately), never unbounded


def test_subscribers_see_new_records_within_a_second(store) -> None:
    store.add(rec(0))
    seen: list[tuple[str, float]] = []
    subscription = store.subscribe(2.0)  # only records added from now on

    def read() -> None:
        for record in subscription:
            seen.append((record["trace_id"], time.monotonic()))
            if len(seen) == 3:
                return

    reader = threading.Thread(target=read)
    reader.start()
    added = []
    for n in (1, 2, 3):
        time.sleep(0.1)
        store.add(rec(n))
        added.append(time.monotonic())
    reader.join(5)
    assert [trace for trace, _ in seen] == ["t0001", "t0002", "t0003"]
    assert all(at - when < 1.0 for (_, at), when in zip(seen, added, strict=True))


def test_a_subscription_ends_after_its_timeout_without_records(store) -> None:
    started = time.monotonic()
    assert list(store.subscribe(0.3)) == []
    assert 0.25 <= time.monotonic() - started < 2


def test_sqlite_records_written_by_another_connection_reach_subscribers(tmp_path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    writer, reader = SQLiteRecordStore(path), SQLiteRecordStore(path)
    try:
        writer.add(rec(0))
        writer.flush()  # a record still on its way from another process may reach a new subscriber too
        subscription = reader.subscribe(1.0)
        writer.add(rec(1))
        assert [r["trace_id"] for r in subscription] == ["t0001"]
    finally:
        writer.close()
        reader.close()


def test_a_redis_store_fails_open_when_redis_is_gone() -> None:
    client = redis_lib.Redis(
        host="127.0.0.1", port=1, socket_timeout=0.2, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    store = RedisRecordStore(client)
    store.add(rec(1))
    assert store.query({}) == [] and store.get(rec(1)["id"]) is None and list(store.subscribe(0.2)) == []


CONTENDED_PROBE = """
import sqlite3
from gateway.observability import store_sqlite
from gateway.observability.store_sqlite import SQLiteRecordStore

path = sys.argv[1]
store = SQLiteRecordStore(path)
store.write([{"id": "00000000000000000001-a", "time": 1.0, "status": 200}])  # the file and its tables exist
in_thread = []
real_insert = store_sqlite.SQLiteRecordStore._insert


def spy(self, rows, busy_seconds):
    in_thread.append(busy_seconds > 0)
    return real_insert(self, rows, busy_seconds)


store_sqlite.SQLiteRecordStore._insert = spy
other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
other.execute("BEGIN IMMEDIATE")  # another worker's transaction holds the write lock
started = time.monotonic()
writer = gevent.spawn(store.write, [{"id": "00000000000000000002-b", "time": 2.0, "status": 200}])
gevent.sleep(0.3)
assert not writer.dead, "the write did not wait for the other transaction"
other.execute("COMMIT")
writer.join(timeout=10)
ticker.kill()
assert writer.successful(), writer.exception
assert in_thread == [False, True], in_thread  # tried in place without waiting, then waited on the thread
during = [t for t in ticks if t > started]
assert len(during) >= 20, f"the hub stalled while the write waited: {len(during)} ticks"
assert store.get("00000000000000000002-b") is not None
print("ok")
"""


def test_a_contended_sqlite_write_waits_on_the_offload_thread_not_the_hub(tmp_path) -> None:
    run_gevent_probe(CONTENDED_PROBE, str(tmp_path / "contended.sqlite3"))
