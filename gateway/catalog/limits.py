"""Check limits before a provider call and count usage after it.

A *scope* is one provider slug or one gateway key with its ``Limits``. ``admit`` tests every set
limit of the given scopes in one atomic store operation (and counts the request in its rate
windows); ``charge`` adds the answer's tokens and cost. When the store fails, ``GATEWAY_LIMITS_FAIL``
decides: ``open`` lets the request through (with a throttled warning), ``closed`` answers 503.
Never a 500.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.catalog.counters import Check
from gateway.catalog.entries import Limits
from gateway.catalog.errors import BudgetExhausted, LimitsUnavailable, RateLimited
from gateway.catalog.windows import Window, budget_window, rate_window
from gateway.core.failopen import ThrottledWarning

log = logging.getLogger("gateway.catalog.limits")


def store_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
    try:
        import redis

        errors += (redis.RedisError,)
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    return errors


@dataclass(frozen=True)
class Scope:
    """Whose limits: ``kind`` is ``provider`` or ``key``."""

    kind: str
    name: str
    limits: Limits

    def label(self) -> str:
        return f"provider @{self.name}" if self.kind == "provider" else f"gateway key {self.name}"


@dataclass(frozen=True)
class _Counter:
    scope: Scope
    limit_name: str
    key: str
    limit: float
    window: Window


def counters(scope: Scope, now: float) -> list[_Counter]:
    """Every counter of ``scope``'s set limits, in the windows holding ``now``."""
    out = []
    base = f"{scope.kind}:{scope.name}:"
    for name, limit in scope.limits.set().items():
        if name.startswith(("requests_per_", "tokens_per_")):
            metric, _, window_name = name.partition("_per_")
            window = rate_window(window_name, now)
        else:
            metric = "usd" if name == "budget_usd" else "budget_tokens"
            window = budget_window(scope.limits.budget_period, now)
        out.append(_Counter(scope, name, f"{base}{metric}:{window.label}", float(limit), window))
    return out


class Limiter:
    """Limits for one gateway instance over a counter store."""

    def __init__(self, store: Any, fail: str = "open", clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.fail_closed = fail == "closed"
        self.clock = clock
        self._errors = store_errors()
        action = "refusing requests" if self.fail_closed else "not enforcing limits"
        self._warn = ThrottledWarning(log, f"limits store unavailable; {action}")

    def admit(self, scopes: Sequence[Scope], count_request: bool = True) -> None:
        """Raise ``RateLimited`` / ``BudgetExhausted`` when a limit of ``scopes`` is reached; else count the request."""
        now = self.clock()
        found = [c for scope in scopes if not scope.limits.empty for c in counters(scope, now)]
        if not found:
            return
        checks = [
            Check(c.key, c.limit, 1.0 if count_request and c.limit_name.startswith("requests_") else 0.0, c.window.end)
            for c in found
        ]
        try:
            denied = self.store.admit(checks)
        except self._errors as exc:
            self._warn(exc)
            if self.fail_closed:
                raise LimitsUnavailable() from None
            return
        if denied < 0:
            return
        hit = found[denied]
        left = hit.window.seconds_left(now)
        if hit.limit_name.startswith("budget_"):
            period = hit.scope.limits.budget_period
            raise BudgetExhausted(
                f"Budget exhausted: {hit.limit_name} of {hit.scope.label()} is used up for this {period}"
                if period != "total"
                else f"Budget exhausted: {hit.limit_name} of {hit.scope.label()} is used up",
                None if math.isinf(left) else left,
            )
        raise RateLimited(f"Rate limit reached: {hit.limit_name} of {hit.scope.label()}", left)

    def charge(self, scopes: Sequence[Scope], tokens: int, cost: float | None) -> None:
        """Add an answer's tokens (input + output) and cost to the token and budget counters of ``scopes``."""
        now = self.clock()
        amounts: list[tuple[str, float, float]] = []
        for scope in scopes:
            for c in counters(scope, now):
                if c.limit_name.startswith("tokens_") or c.limit_name == "budget_tokens":
                    if tokens:
                        amounts.append((c.key, float(tokens), c.window.end))
                elif c.limit_name == "budget_usd" and cost:
                    amounts.append((c.key, float(cost), c.window.end))
        if not amounts:
            return
        try:
            self.store.add(amounts)
        except self._errors as exc:
            self._warn(exc)

    def usage(self, scopes: Sequence[Scope]) -> list[dict[str, Any]]:
        """The limits and current use of ``scopes`` (``state.catalog.usage()``)."""
        now = self.clock()
        rows = []
        for scope in scopes:
            found = counters(scope, now)
            try:
                values = self.store.read([c.key for c in found])
            except self._errors as exc:
                self._warn(exc)
                values = [None] * len(found)
            rows.append(
                {
                    "kind": scope.kind,
                    "name": scope.name,
                    "limits": scope.limits.set(),
                    "used": {c.limit_name: v for c, v in zip(found, values, strict=True)},
                    "period": scope.limits.budget_period,
                }
            )
        return rows
