"""Where cached responses live: an in-process LRU bounded in bytes, or Redis shared by every worker.

Both stores hold opaque bytes under string keys with a time to live in seconds. The LRU is the
embedded default (no setup; per worker process) and evicts the least recently used entries
once ``GATEWAY_CACHE_MAX_BYTES`` is exceeded. The Redis store fails open: when Redis cannot be
reached, lookups miss and writes are dropped, requests are still served, and a warning is
logged (at most every 30 seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from gateway.core.failopen import ThrottledWarning

log = logging.getLogger("gateway.cache.policy")


class MemoryCache:
    """A byte-bounded LRU of ``key -> (expires_at, value)``."""

    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.time) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes currently held (values and keys)."""
        return self._bytes

    def get(self, key: str) -> bytes | None:
        """Return a live value and mark it recently used."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self._clock():
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return item[1]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting least recently used entries past the bound."""
        cost = len(value) + len(key)
        if cost > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (self._clock() + ttl, value)
            self._bytes += cost
            while self._bytes > self.max_bytes and self._items:
                self._drop(next(iter(self._items)))

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            if key in self._items:
                self._drop(key)

    def _drop(self, key: str) -> None:
        _, value = self._items.pop(key)
        self._bytes -= len(value) + len(key)


class RedisCache:
    """Cached values in Redis under ``gw:cache:<key>``; fails open."""

    def __init__(self, client: Any, prefix: str = "gw:cache:") -> None:
        self._redis = client
        self._prefix = prefix
        self._warn = ThrottledWarning(log, "cache unavailable in Redis, serving uncached")

    def get(self, key: str) -> bytes | None:
        """Return the value, or None (also when Redis is down)."""
        try:
            return self._redis.get(self._prefix + key)
        except Exception as exc:  # noqa: BLE001 - any Redis failure must fail open
            self._warn(exc)
            return None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store the value with a TTL (dropped when Redis is down)."""
        try:
            self._redis.set(self._prefix + key, value, ex=max(1, int(ttl)))
        except Exception as exc:  # noqa: BLE001 - any Redis failure must fail open
            self._warn(exc)

    def delete(self, key: str) -> None:
        """Remove ``key`` (ignored when Redis is down)."""
        try:
            self._redis.delete(self._prefix + key)
        except Exception as exc:  # noqa: BLE001 - any Redis failure must fail open
            self._warn(exc)
