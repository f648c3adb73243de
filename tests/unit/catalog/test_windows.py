"""Counter windows: fixed rate windows and calendar budget periods (UTC)."""

from __future__ import annotations

import datetime as dt

from gateway.catalog.windows import budget_window, rate_window


def ts(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_rate_windows() -> None:
    now = ts(2026, 12, 2, 15, 30, 45)
    minute = rate_window("minute", now)
    assert minute.end == ts(2026, 12, 2, 15, 31) and minute.seconds_left(now) == 15
    assert rate_window("hour", now).end == ts(2026, 12, 2, 16)
    assert rate_window("day", now).end == ts(2026, 12, 3)
    assert rate_window("minute", now).label != rate_window("minute", now + 60).label


def test_budget_periods() -> None:
    wednesday = ts(2026, 12, 2, 15)
    assert budget_window("day", wednesday).end == ts(2026, 12, 3)
    week = budget_window("week", wednesday)
    assert week.label == "w2026-11-30" and week.end == ts(2026, 12, 7)
    month = budget_window("month", wednesday)
    assert month.label == "m2026-12-01" and month.end == ts(2027, 1, 1)
    assert budget_window("month", ts(2027, 1, 31, 23)).end == ts(2027, 2, 1)
    total = budget_window("total", wednesday)
    assert total.label == "total" and total.end == float("inf")
