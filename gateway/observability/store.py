"""Keep the last N request records where the console can read them, and fan new ones out live.

Two stores with one interface (``state.records``)::

    add(record)
    query(filters, limit=50, before=None) -> records, newest first
    get(id) -> record | None
    subscribe(timeout) -> iterator of new records; it ends after ``timeout`` seconds without one

Filters: ``status_class`` ("2xx", "4xx", "5xx"), ``provider``, ``catalog_slug``, ``gateway_key``,
``model`` (requested or answered), ``trace_id``, ``metadata`` ("key=value"), ``since`` and
``until`` (epoch seconds). ``before`` is a record id: only older records are returned (paging).

``SQLiteRecordStore`` (the default) keeps them in a table of the SQLite file the gateway already
keeps for Responses state; every worker writes the same file and subscribers poll it, so a record
reaches them within ``POLL_SECONDS``. ``RedisRecordStore`` (with ``GATEWAY_REDIS_URL``) appends to
one capped Redis stream shared by every instance; subscribers block on ``XREAD``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import orjson

log = logging.getLogger("gateway.observability")

POLL_SECONDS = 0.25
#: Records are written in batches this often (one transaction or one pipeline per batch).
WRITE_SECONDS = 0.2
#: How far instances' clocks may disagree when a record is looked up by id in Redis.
SKEW_MS = 300_000
_COLUMNS = ("provider", "catalog_slug", "gateway_key", "trace_id")
_STATUS_CLASSES = {"1xx": 100, "2xx": 200, "3xx": 300, "4xx": 400, "5xx": 500}


class WriteBehind:
    """Collect added items and hand them to ``write`` in batches, from a background thread.

    The thread (a greenlet under gevent) starts on the first add in each process (so after
    gunicorn's fork) and writes every ``WRITE_SECONDS``; ``flush`` writes at once (readers in this
    process, shutdown). It holds its owner (``write``'s object) weakly and ends with it, or on ``stop``.
    """

    def __init__(self, write: Any) -> None:
        self._write = weakref.WeakMethod(write) if hasattr(write, "__self__") else (lambda: write)
        self.pending: list[Any] = []
        self.lock = threading.Lock()
        self.pid = 0
        self.stopped = False

    def add(self, item: Any) -> None:
        with self.lock:
            self.pending.append(item)
        if self.pid != os.getpid() and not self.stopped:
            self.pid = os.getpid()
            threading.Thread(target=self._loop, name="gateway-records-write", daemon=True).start()

    def flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, []
        write = self._write()
        if batch and write is not None:
            write(batch)

    def stop(self) -> None:
        """Write what is pending and end the thread."""
        self.flush()
        self.stopped = True

    def _loop(self) -> None:
        while not self.stopped:
            time.sleep(WRITE_SECONDS)
            if self._write() is None:
                return
            try:
                self.flush()
            except Exception:
                log.warning("writing request records failed", exc_info=True)


def matches(record: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether ``record`` passes ``filters`` (the same rules the SQL query applies)."""
    for key, wanted in filters.items():
        if wanted is None or wanted == "":
            continue
        if key == "status_class":
            low = _STATUS_CLASSES.get(str(wanted))
            if low is None or not low <= int(record.get("status") or 0) < low + 100:
                return False
        elif key in _COLUMNS:
            if record.get(key) != wanted:
                return False
        elif key == "model":
            if wanted not in (record.get("model_requested"), record.get("model_answered")):
                return False
        elif key == "metadata":
            name, _, value = str(wanted).partition("=")
            found = (record.get("metadata") or {}).get(name)
            if found is None or _text(found) != value:
                return False
        elif key == "since":
            if float(record.get("time") or 0) < float(wanted):
                return False
        elif key == "until" and float(record.get("time") or 0) > float(wanted):
            return False
    return True


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


class SQLiteRecordStore:
    """The last ``max_records`` records in an SQLite table (opened on first use)."""

    def __init__(self, path: str, max_records: int = 10_000) -> None:
        self.path = path
        self.max_records = max_records
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._writes = 0
        self._behind = WriteBehind(self.write)
        #: A queue in front of this store (the telemetry's), delivered before every read.
        self.upstream: WriteBehind | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS request_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "id TEXT NOT NULL UNIQUE, time REAL NOT NULL, status INTEGER NOT NULL, provider TEXT, "
                "catalog_slug TEXT, gateway_key TEXT, model_requested TEXT, model_answered TEXT, trace_id TEXT, "
                "data TEXT NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS request_records_time ON request_records (time)")
            self._db = db
        return self._db

    def add(self, record: dict[str, Any]) -> None:
        """Store one record (written with others, within ``WRITE_SECONDS``)."""
        self._behind.add(record)

    def flush(self) -> None:
        """Write the records added so far."""
        if self.upstream is not None:
            self.upstream.flush()
        self._behind.flush()

    def write(self, batch: list[dict[str, Any]]) -> None:
        """Write ``batch`` now, in one transaction."""
        rows = [
            (
                record["id"],
                float(record["time"]),
                int(record["status"]),
                record.get("provider"),
                record.get("catalog_slug"),
                record.get("gateway_key"),
                record.get("model_requested"),
                record.get("model_answered"),
                record.get("trace_id"),
                orjson.dumps(record).decode(),
            )
            for record in batch
        ]
        with self._lock:
            db = self._conn()
            with db:  # one transaction per batch
                db.execute("BEGIN")
                db.executemany(
                    "INSERT OR REPLACE INTO request_records (id, time, status, provider, catalog_slug, gateway_key, "
                    "model_requested, model_answered, trace_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._writes += 1
                if self._writes % 20 == 1:  # drop the oldest past the cap now and then
                    db.execute(
                        "DELETE FROM request_records WHERE seq <= (SELECT MAX(seq) FROM request_records) - ?",
                        (self.max_records,),
                    )

    def query(self, filters: dict[str, Any], limit: int = 50, before: str | None = None) -> list[dict[str, Any]]:
        """Records passing ``filters``, newest first, older than ``before`` when given."""
        where, args = [], []
        for key, wanted in (filters or {}).items():
            if wanted is None or wanted == "":
                continue
            if key == "status_class":
                low = _STATUS_CLASSES.get(str(wanted))
                if low is None:
                    return []
                where.append("status >= ? AND status < ?")
                args += [low, low + 100]
            elif key in _COLUMNS:
                where.append(f"{key} = ?")
                args.append(wanted)
            elif key == "model":
                where.append("(model_requested = ? OR model_answered = ?)")
                args += [wanted, wanted]
            elif key == "since":
                where.append("time >= ?")
                args.append(float(wanted))
            elif key == "until":
                where.append("time <= ?")
                args.append(float(wanted))
        if before:
            where.append("id < ?")
            args.append(before)
        self.flush()
        sql = "SELECT data FROM request_records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        metadata = (filters or {}).get("metadata")
        sql += " ORDER BY id DESC"
        if not metadata:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            cursor = self._conn().execute(sql, args)
            out = []
            for (data,) in cursor:
                record = orjson.loads(data)
                if metadata and not matches(record, {"metadata": metadata}):
                    continue
                out.append(record)
                if len(out) >= limit:
                    break
        return out

    def get(self, record_id: str) -> dict[str, Any] | None:
        """One record by id."""
        self.flush()
        with self._lock:
            row = self._conn().execute("SELECT data FROM request_records WHERE id = ?", (record_id,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def _latest_seq(self) -> int:
        with self._lock:
            row = self._conn().execute("SELECT MAX(seq) FROM request_records").fetchone()
        return int(row[0] or 0)

    def subscribe(self, timeout: float) -> Iterator[dict[str, Any]]:
        """Yield records added (by any worker) after this call; end after ``timeout`` s without one."""
        self.flush()
        return self._follow(self._latest_seq(), timeout)

    def _follow(self, seen: int, timeout: float) -> Iterator[dict[str, Any]]:
        quiet_until = time.monotonic() + timeout
        while time.monotonic() < quiet_until:
            with self._lock:
                rows = (
                    self._conn()
                    .execute("SELECT seq, data FROM request_records WHERE seq > ? ORDER BY seq", (seen,))
                    .fetchall()
                )
            for seq, data in rows:
                seen = seq
                yield orjson.loads(data)
            if rows:
                quiet_until = time.monotonic() + timeout
            else:
                time.sleep(min(POLL_SECONDS, max(0.0, quiet_until - time.monotonic())))

    def close(self) -> None:
        try:
            if self.upstream is not None:
                self.upstream.flush()
            self._behind.stop()
        except Exception:
            log.warning("writing request records failed", exc_info=True)
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class RedisRecordStore:
    """The last ``max_records`` records in one capped Redis stream, shared by every instance."""

    BATCH = 500

    def __init__(self, redis: Any, max_records: int = 10_000, key: str = "gateway:requests") -> None:
        self.redis = redis
        self.max_records = max_records
        self.key = key
        self._warned = 0.0
        self._behind = WriteBehind(self.write)
        #: A queue in front of this store (the telemetry's), delivered before every read.
        self.upstream: WriteBehind | None = None

    def _warn(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning("request record store (Redis) %s failed: %s", what, exc.__class__.__name__)

    def add(self, record: dict[str, Any]) -> None:
        """Append one record (sent with others, within ``WRITE_SECONDS``); the stream keeps about ``max_records``."""
        self._behind.add(record)

    def flush(self) -> None:
        """Send the records added so far."""
        if self.upstream is not None:
            self.upstream.flush()
        self._behind.flush()

    def write(self, batch: list[dict[str, Any]]) -> None:
        """Send ``batch`` now, in one pipeline (failing open)."""
        try:
            pipe = self.redis.pipeline(transaction=False)
            for record in batch:
                pipe.xadd(self.key, {"r": orjson.dumps(record)}, maxlen=self.max_records, approximate=True)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the record store fails open
            self._warn("add", exc)

    def _scan(self, newest: str = "+") -> Iterator[dict[str, Any]]:
        """Records from ``newest`` backwards (stream order: when they finished)."""
        while True:
            entries = self.redis.xrevrange(self.key, max=newest, min="-", count=self.BATCH)
            for _entry_id, fields in entries:
                yield orjson.loads(fields[b"r"] if b"r" in fields else fields["r"])
            if len(entries) < self.BATCH:
                return
            newest = "(" + _text_id(entries[-1][0])

    def query(self, filters: dict[str, Any], limit: int = 50, before: str | None = None) -> list[dict[str, Any]]:
        """Records passing ``filters``, newest first (by id), older than ``before`` when given."""
        found: list[dict[str, Any]] = []
        extra = 0
        self.flush()
        try:
            for record in self._scan():
                if before is not None and record["id"] >= before:
                    continue
                if matches(record, filters or {}):
                    found.append(record)
                if len(found) >= limit:
                    extra += 1  # look a little further: a stream that ended late started earlier
                    if extra > self.BATCH:
                        break
        except Exception as exc:  # noqa: BLE001 - the record store fails open
            self._warn("query", exc)
        found.sort(key=lambda r: r["id"], reverse=True)
        return found[:limit]

    def get(self, record_id: str) -> dict[str, Any] | None:
        """One record by id: searched from a little before its start time on (it was added when it finished),
        then, for clocks that disagree, through the whole stream."""
        try:
            start = f"{max(0, int(record_id[:20]) // 1_000_000 - SKEW_MS)}"
        except ValueError:
            return None
        self.flush()
        try:
            for _ in range(40):
                entries = self.redis.xrange(self.key, min=start, max="+", count=self.BATCH)
                for _entry_id, fields in entries:
                    record = orjson.loads(fields[b"r"] if b"r" in fields else fields["r"])
                    if record.get("id") == record_id:
                        return record
                if len(entries) < self.BATCH:
                    break
                start = "(" + _text_id(entries[-1][0])
            return next((r for r in self._scan() if r.get("id") == record_id), None)
        except Exception as exc:  # noqa: BLE001 - the record store fails open
            self._warn("get", exc)
        return None

    def subscribe(self, timeout: float) -> Iterator[dict[str, Any]]:
        """Yield records added by any instance after this call; end after ``timeout`` s without one."""
        self.flush()
        try:
            latest = self.redis.xrevrange(self.key, max="+", min="-", count=1)
        except Exception as exc:  # noqa: BLE001
            self._warn("subscribe", exc)
            return iter(())
        return self._follow(_text_id(latest[0][0]) if latest else "0-0", timeout)

    def _follow(self, last: str, timeout: float) -> Iterator[dict[str, Any]]:
        quiet_until = time.monotonic() + timeout
        while True:
            left = quiet_until - time.monotonic()
            if left <= 0:
                return
            # Blocks stay under the client's socket timeout (0.5 s).
            block = max(1, min(400, int(left * 1000)))
            try:
                reply = self.redis.xread({self.key: last}, block=block, count=100)
            except Exception as exc:  # noqa: BLE001
                self._warn("subscribe", exc)
                time.sleep(min(1.0, max(0.0, left)))
                continue
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    last = _text_id(entry_id)
                    yield orjson.loads(fields[b"r"] if b"r" in fields else fields["r"])
                if entries:
                    quiet_until = time.monotonic() + timeout

    def close(self) -> None:
        """Send what is pending (the Redis client is the state's to close)."""
        if self.upstream is not None:
            self.upstream.flush()
        self._behind.stop()


def _text_id(entry_id: Any) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def open_store(settings: Any, redis: Any) -> SQLiteRecordStore | RedisRecordStore | None:
    """The store the settings ask for (None when ``GATEWAY_RECORDS_MAX`` is 0)."""
    if settings.records_max <= 0:
        return None
    if redis is not None:
        return RedisRecordStore(redis, settings.records_max)
    import tempfile

    path = settings.records_db or settings.responses_db
    path = path or os.path.join(tempfile.gettempdir(), "portkey-flask-gateway", "responses.sqlite3")
    return SQLiteRecordStore(path, settings.records_max)
