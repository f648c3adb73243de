"""The default record store: the last N request records in a table of an SQLite file shared by the workers.

Every worker writes the same file (one transaction per batch); subscribers poll it every
``POLL_SECONDS``, so a record reaches them within a second whichever worker served it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson

from gateway.core.offload import blocking, under_gevent
from gateway.observability.filters import COLUMNS, STATUS_CLASSES, matches
from gateway.observability.write_behind import WriteBehind

log = logging.getLogger("gateway.observability")

POLL_SECONDS = 0.25
#: How long a write waits for another worker's transaction (on the offload thread).
BUSY_SECONDS = 5.0
#: Rows written between WAL checkpoints (by each process; about 1000 pages of WAL at 1 KiB a row).
CHECKPOINT_ROWS = 4000


class SQLiteRecordStore:
    """The last ``max_records`` records in an SQLite table (opened on first use)."""

    def __init__(self, path: str, max_records: int = 10_000) -> None:
        self.path = path
        self.max_records = max_records
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._unpruned = 1 << 62  # the first write prunes what an earlier process left
        self._uncheckpointed = 0
        self._busy_ms = int(BUSY_SECONDS * 1000)  # the connection's timeout until set otherwise
        self._behind = WriteBehind(self.write)
        #: A queue in front of this store (the telemetry's), delivered before every read.
        self.upstream: WriteBehind | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_SECONDS)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run on the offload thread (``_upkeep``)
            db.execute("PRAGMA cache_size=-512")  # KiB: the store is written in batches and read by the console only
            db.execute(
                "CREATE TABLE IF NOT EXISTS request_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "id TEXT NOT NULL UNIQUE, time REAL NOT NULL, status INTEGER NOT NULL, provider TEXT, "
                "catalog_slug TEXT, gateway_key TEXT, model_requested TEXT, model_answered TEXT, trace_id TEXT, "
                "data TEXT NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS request_records_time ON request_records (time)")
            self._db = db
            self._busy_ms = int(BUSY_SECONDS * 1000)
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
            if not self._insert_now(rows):
                blocking(self._insert, rows, BUSY_SECONDS)
            self._unpruned += len(rows)
            self._uncheckpointed += len(rows)
            if self._unpruned >= max(64, self.max_records // 10) or self._uncheckpointed >= CHECKPOINT_ROWS:
                blocking(self._upkeep)

    def _insert_now(self, rows: list[tuple[Any, ...]]) -> bool:
        """Insert in this greenlet if the database is free; False (nothing written) if another writer holds it.

        An insert and its commit are cheap (WAL, ``synchronous=NORMAL``: no fsync); what can take tens of
        milliseconds (waiting for another worker's transaction, a checkpoint's fsync, pruning) runs on the
        offload thread instead, so the worker's other requests never wait for it. Handing every write to
        the thread as well costs a thread hand-off per batch, which showed as more CPU per request in
        side-by-side runs at c=32; ``bench/run.py`` prints the figure this path reaches.
        """
        if not under_gevent():
            self._insert(rows, BUSY_SECONDS)
            return True
        try:
            self._insert(rows, 0.0)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):  # extended codes too
                raise
            return False
        return True

    def _busy(self, db: sqlite3.Connection, seconds: float) -> None:
        """Set how long the next statements wait for another connection's lock (0: fail at once)."""
        millis = int(seconds * 1000)
        if millis != self._busy_ms:
            db.execute(f"PRAGMA busy_timeout={millis}")
            self._busy_ms = millis

    def _insert(self, rows: list[tuple[Any, ...]], busy_seconds: float) -> None:
        db = self._conn()
        self._busy(db, busy_seconds)
        with db:  # one transaction per batch; rolled back on an error
            db.execute("BEGIN IMMEDIATE")  # the write lock now, or SQLITE_BUSY before anything is written
            db.executemany(
                "INSERT OR REPLACE INTO request_records (id, time, status, provider, catalog_slug, gateway_key, "
                "model_requested, model_answered, trace_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def _upkeep(self) -> None:
        """On the offload thread: drop the oldest records past the cap, then checkpoint the WAL."""
        db = self._conn()
        self._busy(db, BUSY_SECONDS)
        if self._unpruned >= max(64, self.max_records // 10):
            self._unpruned = 0
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "DELETE FROM request_records WHERE seq <= (SELECT MAX(seq) FROM request_records) - ?",
                    (self.max_records,),
                )
        if self._uncheckpointed >= CHECKPOINT_ROWS:
            self._uncheckpointed = 0
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def query(self, filters: dict[str, Any], limit: int = 50, before: str | None = None) -> list[dict[str, Any]]:
        """Records passing ``filters``, newest first, older than ``before`` when given."""
        where, args = [], []
        for key, wanted in (filters or {}).items():
            if wanted is None or wanted == "":
                continue
            if key == "status_class":
                low = STATUS_CLASSES.get(str(wanted))
                if low is None:
                    return []
                where.append("status >= ? AND status < ?")
                args += [low, low + 100]
            elif key in COLUMNS:
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
