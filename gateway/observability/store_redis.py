"""The shared record store: the last N request records of every instance in one capped Redis stream.

Records are appended with ``XADD ... MAXLEN ~ N`` (one pipeline per batch); subscribers block on
``XREAD``; a record is found by id from a little before its start time on. Every call fails open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import orjson

from gateway.observability.filters import matches
from gateway.observability.write_behind import WriteBehind

log = logging.getLogger("gateway.observability")

#: How far instances' clocks may disagree when a record is looked up by id.
SKEW_MS = 300_000


class RedisRecordStore:
    """The last ``max_records`` records in one capped Redis stream, shared by every instance."""

    BATCH = 500

    def __init__(
        self, redis: Any, max_records: int = 10_000, key: str = "gateway:requests", block_ms: int = 400
    ) -> None:
        self.redis = redis
        self.max_records = max_records
        self.key = key
        self.block_ms = block_ms
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
            # Blocks stay under the client's socket timeout (GATEWAY_REDIS_TIMEOUT): a timeout would open
            # the Redis breaker every Redis user shares.
            block = max(1, min(self.block_ms, int(left * 1000)))
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
