"""A circuit breaker and a per-request time budget on the gateway's Redis client.

A Redis that is down answers at once (connection refused); one that is stalled (paused, a full
network buffer, a failover in progress) costs the full socket timeout on every call, and a
request makes several calls (circuit breaker state, cache lookup and store, semantic index). So:

* after a timeout or connection error the client **opens**: for ``backoff`` seconds every call
  fails at once with ``RedisSkipped`` (a ``redis.ConnectionError``, so the stores' fail-open paths
  handle it as before); then one call **probes** while the others keep skipping, and its success
  closes the breaker again;
* each request may spend at most ``budget`` seconds in Redis; past that its remaining calls are
  skipped, so a slow-but-answering Redis cannot add more either. The web layer opens the request's
  account with ``start_request()`` (a context variable: each gevent greenlet has its own); calls
  outside any request are not budgeted.

``GuardedRedis`` wraps a ``redis.Redis`` and passes everything through; pipelines are guarded at
``execute``. Settings: ``GATEWAY_REDIS_TIMEOUT`` (socket timeout per call), ``GATEWAY_REDIS_BACKOFF``
and ``GATEWAY_REDIS_REQUEST_BUDGET``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from gateway.stores.redis_budget import current_account

log = logging.getLogger("gateway")


class RedisSkipped(redis.exceptions.ConnectionError):
    """Redis was not called: the breaker is open or the request's Redis time is used up."""


#: Methods of ``redis.Redis`` that do no I/O and are passed through unguarded.
_LOCAL = frozenset({"pipeline", "close", "connection_pool", "get_connection_kwargs", "get_encoder"})


class RedisBreaker:
    """Shared state of one Redis client: closed, open until a time, or probing."""

    def __init__(self, backoff: float, budget: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff
        self.budget = budget
        self.clock = clock
        self.open_until = 0.0
        self.probing = False
        self._lock = threading.Lock()

    def before(self) -> bool:
        """Return whether this call is the probe; raise ``RedisSkipped`` when it must not run."""
        account = current_account()
        if self.budget and account is not None and account.spent >= self.budget:
            raise RedisSkipped("this request's Redis time budget is used up")
        with self._lock:
            if self.open_until == 0.0:
                return False
            if self.probing or self.clock() < self.open_until:
                raise RedisSkipped("Redis is backing off after a failure")
            self.probing = True
            return True

    def after(self, started: float, failed: bool, probe: bool) -> None:
        """Charge the request for the call and update the breaker."""
        account = current_account()
        if account is not None:
            account.spent += self.clock() - started
        with self._lock:
            if probe:
                self.probing = False
            if failed:
                if self.open_until == 0.0 or probe:
                    log.warning("Redis timed out or is unreachable; skipping it for %.1fs", self.backoff)
                self.open_until = self.clock() + self.backoff
            elif probe:
                self.open_until = 0.0

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        probe = self.before()
        started = self.clock()
        try:
            result = fn(*args, **kwargs)
        except (redis.exceptions.TimeoutError, redis.exceptions.ConnectionError, OSError):
            self.after(started, True, probe)
            raise
        except BaseException:
            self.after(started, False, probe)
            raise
        self.after(started, False, probe)
        return result


class _GuardedPipeline:
    def __init__(self, pipe: Any, breaker: RedisBreaker) -> None:
        self._pipe = pipe
        self._breaker = breaker

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._breaker.call(self._pipe.execute, *args, **kwargs)
        finally:
            self._pipe.reset()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    def __enter__(self) -> _GuardedPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pipe.reset()


class GuardedRedis:
    """A ``redis.Redis`` whose calls go through a ``RedisBreaker``."""

    def __init__(self, client: Any, breaker: RedisBreaker) -> None:
        self._client = client
        self.breaker = breaker

    def pipeline(self, *args: Any, **kwargs: Any) -> _GuardedPipeline:
        return _GuardedPipeline(self._client.pipeline(*args, **kwargs), self.breaker)

    def close(self) -> None:
        self._client.close()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name in _LOCAL or name.startswith("_") or not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            return self.breaker.call(attr, *args, **kwargs)

        return guarded


def guarded_client(url: str, timeout: float, backoff: float, budget: float) -> GuardedRedis:
    """Return a guarded client for ``url`` (``timeout`` is the socket and connect timeout of one call)."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30)
    return GuardedRedis(client, RedisBreaker(backoff, budget))
