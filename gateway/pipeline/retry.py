"""Retry one leaf on retriable statuses and network failures, with capped, jittered backoff.

Backoff doubles from ``base`` seconds, is capped at ``max_delay`` and jittered ("equal
jitter": half fixed, half random). With ``use_retry_after_header`` a provider's
``retry-after-ms``, ``x-ms-retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)
replaces the backoff; a wait that would overrun the total ``budget`` stops retrying.
``x-portkey-retry-attempt-count`` is the number of retries taken, or ``-1`` when every
configured retry was used on a retriable failure or a Retry-After exceeded the budget.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

from gateway.core.plan import RetryPolicy


class Attempt(Protocol):
    """What the retry loop needs to know about one attempt's outcome."""

    status: int
    network_failure: bool
    retry_count: int

    def header(self, name: str) -> str | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Delay settings for retries."""

    base: float = 1.0
    max_delay: float = 30.0
    budget: float = 60.0


def retry_after_seconds(result: Attempt, now: float | None = None) -> float | None:
    """Return the wait a provider asked for, in seconds, or None."""
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        value = result.header(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                pass
    value = result.header("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(retry_index: int, backoff: Backoff, rng: Callable[[], float] = random.random) -> float:
    """Return the jittered delay before retry number ``retry_index + 1``."""
    capped = min(backoff.max_delay, backoff.base * (2**retry_index))
    return capped / 2 + rng() * capped / 2


def run_with_retries(
    attempt: Callable[[], Attempt],
    policy: RetryPolicy,
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Attempt:
    """Call ``attempt`` until it succeeds, is not retriable, or the policy or budget is spent."""
    started = clock()
    retries = 0
    while True:
        result = attempt()
        retriable = policy.attempts > 0 and (result.network_failure or result.status in policy.on_status_codes)
        if not retriable:
            result.retry_count = retries
            return result
        if retries >= policy.attempts:
            result.retry_count = -1
            return result
        wait = None
        if policy.use_retry_after_header:
            wait = retry_after_seconds(result)
        if wait is None:
            wait = backoff_delay(retries, backoff)
        elif wait >= backoff.budget:
            result.retry_count = -1
            return result
        if clock() - started + wait > backoff.budget:
            result.retry_count = -1
            return result
        result.close()
        sleep(wait)
        retries += 1
