"""Counter windows: fixed rate windows (minute, hour, day) and calendar budget periods, in UTC.

A window is named by its start (so every worker and instance agrees on the counter key) and
knows when it ends (for ``Retry-After`` and the counter's expiry).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.catalog.entries import RATE_WINDOWS

_UTC = dt.UTC


@dataclass(frozen=True)
class Window:
    """One counting window: ``label`` goes into the counter key, ``end`` is an epoch time (inf: never)."""

    label: str
    end: float

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.end - now)


def rate_window(name: str, now: float) -> Window:
    """The fixed window ``minute``, ``hour`` or ``day`` holding ``now``."""
    size = RATE_WINDOWS[name]
    start = int(now // size) * size
    return Window(f"{name[0]}{start}", float(start + size))


def budget_window(period: str, now: float) -> Window:
    """The calendar period (``day``, ``week`` from Monday, ``month``, ``total``) holding ``now``."""
    if period == "total":
        return Window("total", float("inf"))
    moment = dt.datetime.fromtimestamp(now, _UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, end = day, day + dt.timedelta(days=1)
    elif period == "week":
        start = day - dt.timedelta(days=day.weekday())
        end = start + dt.timedelta(days=7)
    else:
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    return Window(f"{period[0]}{start.date().isoformat()}", end.timestamp())
