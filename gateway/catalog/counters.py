"""Counter stores shared by every worker: one SQLite file (WAL) per machine, or Redis across instances.

Both offer the same two atomic operations:

* ``admit(checks)``: if every counter is below its limit, add each check's increment and return -1;
  otherwise change nothing and return the index of the first counter at its limit;
* ``add(amounts)``: add usage (tokens, USD) counted after an answer.

A counter lives in its window's key (``provider:openai-prod:requests:m1764690000``) and expires at the
window's end. Failures raise (``sqlite3.Error``, ``redis.RedisError``, ``OSError``); the limiter decides
whether to fail open or closed.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

#: Seconds a counter outlives its window (clock skew between instances).
GRACE = 60.0


@dataclass(frozen=True)
class Check:
    """One counter to test against ``limit`` (and bump by ``increment`` when every check passes)."""

    key: str
    limit: float
    increment: float
    expires: float  # epoch seconds; inf = never


class SQLiteCounters:
    """Counters in one SQLite file in WAL mode; each operation is one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, path: str, clock: Any = time.time) -> None:
        self.clock = clock
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value REAL NOT NULL, expires REAL)"
        )
        self._writes = 0

    def _value(self, key: str, now: float) -> float:
        row = self._db.execute(
            "SELECT value FROM counters WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, now)
        ).fetchone()
        return float(row[0]) if row else 0.0

    def _bump(self, key: str, amount: float, expires: float, now: float) -> None:
        self._db.execute(
            "INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "value = CASE WHEN counters.expires IS NOT NULL AND counters.expires <= ? THEN excluded.value "
            "ELSE counters.value + excluded.value END, expires = excluded.expires",
            (key, amount, None if math.isinf(expires) else expires + GRACE, now),
        )

    def _transaction(self, work: Any) -> Any:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = work(self.clock())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._writes += 1
            if self._writes % 1000 == 0:
                self._db.execute("DELETE FROM counters WHERE expires IS NOT NULL AND expires <= ?", (self.clock(),))
            return out

    def admit(self, checks: list[Check]) -> int:
        def work(now: float) -> int:
            for index, check in enumerate(checks):
                if self._value(check.key, now) >= check.limit:
                    return index
            for check in checks:
                if check.increment:
                    self._bump(check.key, check.increment, check.expires, now)
            return -1

        return self._transaction(work) if checks else -1

    def add(self, amounts: list[tuple[str, float, float]]) -> None:
        def work(now: float) -> None:
            for key, amount, expires in amounts:
                self._bump(key, amount, expires, now)

        if amounts:
            self._transaction(work)

    def read(self, keys: list[str]) -> list[float]:
        now = self.clock()
        with self._lock:
            return [self._value(key, now) for key in keys]

    def close(self) -> None:
        with self._lock:
            self._db.close()


_ADMIT = """
for i = 1, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current >= tonumber(ARGV[(i - 1) * 3 + 1]) then return i end
end
for i = 1, #KEYS do
  local increment = ARGV[(i - 1) * 3 + 2]
  if tonumber(increment) ~= 0 then
    redis.call('INCRBYFLOAT', KEYS[i], increment)
    local at = tonumber(ARGV[(i - 1) * 3 + 3])
    if at > 0 then redis.call('PEXPIREAT', KEYS[i], at) end
  end
end
return 0
"""

_ADD = """
for i = 1, #KEYS do
  redis.call('INCRBYFLOAT', KEYS[i], ARGV[(i - 1) * 2 + 1])
  local at = tonumber(ARGV[(i - 1) * 2 + 2])
  if at > 0 then redis.call('PEXPIREAT', KEYS[i], at) end
end
return 0
"""

PREFIX = "gateway:limits:"


def _expiry_ms(expires: float) -> str:
    return "0" if math.isinf(expires) else str(int((expires + GRACE) * 1000))


class RedisCounters:
    """Counters in Redis; ``admit`` and ``add`` are Lua scripts, so they are atomic across instances."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis  # the gateway's guarded client: a stalled Redis is skipped, not waited on

    def _run(self, script: str, keys: list[str], args: list[str]) -> Any:
        """EVALSHA, loading the script on first use (``NOSCRIPT``)."""
        import redis as redis_lib

        sha = hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
        try:
            return self.redis.evalsha(sha, len(keys), *keys, *args)
        except redis_lib.exceptions.NoScriptError:
            return self.redis.eval(script, len(keys), *keys, *args)

    def admit(self, checks: list[Check]) -> int:
        if not checks:
            return -1
        args: list[str] = []
        for check in checks:
            args += [repr(float(check.limit)), repr(float(check.increment)), _expiry_ms(check.expires)]
        denied = int(self._run(_ADMIT, [PREFIX + c.key for c in checks], args))
        return denied - 1

    def add(self, amounts: list[tuple[str, float, float]]) -> None:
        if not amounts:
            return
        args: list[str] = []
        for _, amount, expires in amounts:
            args += [repr(float(amount)), _expiry_ms(expires)]
        self._run(_ADD, [PREFIX + key for key, _, _ in amounts], args)

    def read(self, keys: list[str]) -> list[float]:
        values = self.redis.mget([PREFIX + key for key in keys]) if keys else []
        return [float(v) if v is not None else 0.0 for v in values]

    def close(self) -> None:
        pass
