"""Warn about a shared store (Redis) that is down without flooding the log: once per interval."""

from __future__ import annotations

import logging
import time

#: Seconds between two warnings of one store.
INTERVAL = 30.0


class ThrottledWarning:
    """Log ``message`` (with the failure) at most once per ``interval`` seconds."""

    def __init__(self, log: logging.Logger, message: str, interval: float = INTERVAL) -> None:
        self.log = log
        self.message = message
        self.interval = interval
        self._warned_at = float("-inf")

    def __call__(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > self.interval:
            self._warned_at = now
            self.log.warning("%s: %s", self.message, exc)
