"""A small single-flight TTL cache of tokens, keyed by a secret-free hash of the credential.

Tokens are cached per credential (a hash of its secret parts) until shortly before they expire,
so a busy gateway asks each token endpoint about once an hour; concurrent misses share one fetch.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

#: Refresh tokens this long before they expire.
EXPIRY_MARGIN = 60.0


def cache_key(*parts: Any) -> str:
    """Return a secret-free cache key for credential material."""
    return hashlib.sha256("\x1f".join(repr(p) for p in parts).encode()).hexdigest()


class TokenCache:
    """A small TTL cache of tokens, keyed by ``cache_key(...)``."""

    def __init__(self, clock: Callable[[], float] = time.time, max_entries: int = 1024) -> None:
        self._clock = clock
        self._max = max_entries
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self.fetches = 0

    def _fresh(self, key: str) -> Any:
        hit = self._items.get(key)
        if hit is not None and hit[0] - EXPIRY_MARGIN > self._clock():
            return hit
        return None

    def get_or_fetch(self, key: str, fetch: Callable[[], tuple[Any, float]]) -> Any:
        """Return the cached value for ``key``, or call ``fetch() -> (value, expires_at)`` and cache it.

        Concurrent callers missing the same key wait for one fetch instead of each making their own.
        """
        hit = self._fresh(key)
        if hit is not None:
            return hit[1]
        with self._lock:
            key_lock = self._fetching.setdefault(key, threading.Lock())
        with key_lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit[1]
            try:
                value, expires_at = fetch()
                with self._lock:
                    self.fetches += 1
                    if len(self._items) >= self._max:
                        self._items.pop(next(iter(self._items)))
                    self._items[key] = (expires_at, value)
            finally:
                with self._lock:
                    self._fetching.pop(key, None)
        return value
