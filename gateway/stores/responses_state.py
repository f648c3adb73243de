"""Store Responses API answers for providers without server-side state.

A stored record holds the ``response`` object, the request's input items (for
``GET /v1/responses/{id}/input_items``) and the conversation as chat messages (what
``previous_response_id`` continues). Records are scoped by a hash of the client's credential,
so one tenant never reads another's responses, and expire after ``GATEWAY_RESPONSES_TTL``.
The embedded default is SQLite (one file shared by all workers, WAL mode); with
``GATEWAY_REDIS_URL`` the records live in Redis, shared by every instance.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from typing import Any

import orjson

log = logging.getLogger("gateway.stores.responses_state")


def scope_of(*credentials: str | None) -> str:
    """Return the tenant scope for the credentials a client presented."""
    material = "\x1f".join(c or "" for c in credentials)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


class SQLiteResponseStore:
    """Records in an SQLite file."""

    def __init__(self, path: str, ttl: float) -> None:
        self.path = path
        self.ttl = ttl
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, scope TEXT NOT NULL, "
            "expires_at REAL NOT NULL, record BLOB NOT NULL)"
        )
        self._saves = 0

    def save(self, scope: str, response_id: str, record: dict[str, Any]) -> None:
        """Store (or replace) a record."""
        blob = orjson.dumps(record)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (id, scope, expires_at, record) VALUES (?, ?, ?, ?)",
                (response_id, scope, time.time() + self.ttl, blob),
            )
            self._saves += 1
            if self._saves % 500 == 0:
                self._db.execute("DELETE FROM responses WHERE expires_at < ?", (time.time(),))

    def get(self, scope: str, response_id: str) -> dict[str, Any] | None:
        """Return the record, or None when absent, expired or another tenant's."""
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM responses WHERE id = ? AND scope = ? AND expires_at > ?",
                (response_id, scope, time.time()),
            ).fetchone()
        return orjson.loads(row[0]) if row else None

    def delete(self, scope: str, response_id: str) -> bool:
        """Delete a record; return whether it existed."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM responses WHERE id = ? AND scope = ?", (response_id, scope))
        return cursor.rowcount > 0

    def close(self) -> None:
        """Close the database."""
        self._db.close()


class RedisResponseStore:
    """Records in Redis (``gw:resp:<scope>:<id>``) with a TTL."""

    def __init__(self, client: Any, ttl: float, prefix: str = "gw:resp:") -> None:
        self._redis = client
        self.ttl = int(ttl)
        self._prefix = prefix

    def _key(self, scope: str, response_id: str) -> str:
        return f"{self._prefix}{scope}:{response_id}"

    def save(self, scope: str, response_id: str, record: dict[str, Any]) -> None:
        """Store (or replace) a record."""
        self._redis.set(self._key(scope, response_id), orjson.dumps(record), ex=self.ttl)

    def get(self, scope: str, response_id: str) -> dict[str, Any] | None:
        """Return the record, or None."""
        blob = self._redis.get(self._key(scope, response_id))
        return orjson.loads(blob) if blob else None

    def delete(self, scope: str, response_id: str) -> bool:
        """Delete a record; return whether it existed."""
        return bool(self._redis.delete(self._key(scope, response_id)))

    def close(self) -> None:
        """Nothing to close (the Redis client belongs to the gateway state)."""
