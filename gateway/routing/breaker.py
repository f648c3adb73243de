"""Count failures per target and skip targets whose circuit is open.

States: *closed* (requests pass; consecutive failures are counted), *open* (the target is
skipped until the cooldown ends), *half-open* (one probe request passes; success closes the
circuit, failure opens it again). State lives in process memory by default, or in Redis
(``GATEWAY_REDIS_URL``) so every worker and instance shares it. If Redis cannot be reached
the breaker fails open: requests are served and a warning is logged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.core.failopen import ThrottledWarning

log = logging.getLogger("gateway.routing.breaker")

DEFAULT_THRESHOLD = 5
DEFAULT_COOLDOWN = 30.0
DEFAULT_CODES = (408, 500, 502, 503, 504)


@dataclass(frozen=True)
class BreakerConfig:
    """When a target's circuit opens and for how long."""

    failure_threshold: int = DEFAULT_THRESHOLD
    cooldown: float = DEFAULT_COOLDOWN
    on_status_codes: tuple[int, ...] = DEFAULT_CODES

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> "BreakerConfig":
        """Build from a config's ``circuit_breaker`` object."""
        return cls(
            int(raw.get("failure_threshold", DEFAULT_THRESHOLD)),
            float(raw.get("cooldown", DEFAULT_COOLDOWN)),
            tuple(raw.get("on_status_codes", DEFAULT_CODES)),
        )

    def counts(self, status: int, network_failure: bool) -> bool:
        """Return whether an outcome counts as a failure."""
        return network_failure or status in self.on_status_codes


def target_key(provider: str, host: str, api_key: str | None, extra: Mapping[str, Any]) -> str:
    """Return a stable, secret-free identity for a target."""
    material = "\x1f".join([provider, host, api_key or "", repr(sorted((k, repr(v)) for k, v in extra.items()))])
    return hashlib.sha256(material.encode()).hexdigest()[:24]


class MemoryBreakerStore:
    """Keep circuit state in this process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, list[float]] = {}  # key -> [failures, open_until, probe_until]

    def allow(self, key: str, cfg: BreakerConfig) -> bool:
        """Return whether a request may go to the target now."""
        with self._lock:
            state = self._state.get(key)
            if state is None or state[1] == 0:
                return True
            now = self._clock()
            if now < state[1] or now < state[2]:
                return False
            state[2] = now + cfg.cooldown  # this caller is the half-open probe
            return True

    def record(self, key: str, cfg: BreakerConfig, failed: bool) -> None:
        """Record one outcome for the target."""
        with self._lock:
            if not failed:
                self._state.pop(key, None)
                return
            state = self._state.setdefault(key, [0, 0, 0])
            state[0] += 1
            if state[1] or state[0] >= cfg.failure_threshold:
                state[1] = self._clock() + cfg.cooldown
                state[2] = 0

    def is_open(self, key: str) -> bool:
        """Return whether the circuit is open right now (for tests and metrics)."""
        state = self._state.get(key)
        return bool(state and self._clock() < state[1])


class RedisBreakerStore:
    """Keep circuit state in Redis, shared by every worker and instance."""

    def __init__(self, client: Any, prefix: str = "gw:cb:", clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._prefix = prefix
        self._clock = clock
        self._warn = ThrottledWarning(log, "circuit breaker state unavailable in Redis, failing open")

    def allow(self, key: str, cfg: BreakerConfig) -> bool:
        """Return whether a request may go to the target now."""
        base = self._prefix + key
        try:
            open_until = self._redis.get(base + ":open")
            if open_until is None:
                return True
            if self._clock() < float(open_until):
                return False
            return bool(self._redis.set(base + ":probe", b"1", nx=True, px=max(1, int(cfg.cooldown * 1000))))
        except Exception as exc:  # noqa: BLE001 - any Redis failure must fail open
            self._warn(exc)
            return True

    def record(self, key: str, cfg: BreakerConfig, failed: bool) -> None:
        """Record one outcome for the target."""
        base = self._prefix + key
        try:
            if not failed:
                self._redis.delete(base + ":f", base + ":open", base + ":probe")
                return
            pipe = self._redis.pipeline()
            pipe.incr(base + ":f")
            pipe.expire(base + ":f", max(60, int(cfg.cooldown * 4)))
            pipe.exists(base + ":open")
            failures, _, was_open = pipe.execute()
            if was_open or failures >= cfg.failure_threshold:
                ttl = max(60, int(cfg.cooldown * 4))
                pipe = self._redis.pipeline()
                pipe.set(base + ":open", repr(self._clock() + cfg.cooldown), ex=ttl)
                pipe.delete(base + ":probe")
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - any Redis failure must fail open
            self._warn(exc)

    def is_open(self, key: str) -> bool:
        """Return whether the circuit is open right now."""
        value = self._redis.get(self._prefix + key + ":open")
        return value is not None and self._clock() < float(value)
