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

import os
from typing import Any

from gateway.observability.filters import matches
from gateway.observability.store_redis import RedisRecordStore
from gateway.observability.store_sqlite import SQLiteRecordStore
from gateway.observability.write_behind import WRITE_SECONDS, WriteBehind

__all__ = ["WRITE_SECONDS", "RedisRecordStore", "SQLiteRecordStore", "WriteBehind", "matches", "open_store"]


def open_store(settings: Any, redis: Any) -> SQLiteRecordStore | RedisRecordStore | None:
    """The store the settings ask for (None when ``GATEWAY_RECORDS_MAX`` is 0)."""
    if settings.records_max <= 0:
        return None
    if redis is not None:
        timeout_ms = int(float(getattr(settings, "redis_timeout", 0.5)) * 1000)
        return RedisRecordStore(redis, settings.records_max, block_ms=max(10, min(400, timeout_ms * 6 // 10)))
    import tempfile

    path = settings.records_db or settings.responses_db
    path = path or os.path.join(tempfile.gettempdir(), "portkey-flask-gateway", "responses.sqlite3")
    return SQLiteRecordStore(path, settings.records_max)
