"""The limiter: which limit refuses, Retry-After, budgets, and failing open or closed."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

import pytest

from gateway.catalog.counters import SQLiteCounters
from gateway.catalog.entries import Limits
from gateway.catalog.errors import BudgetExhausted, LimitsUnavailable, RateLimited
from gateway.catalog.limits import Limiter, Scope

NOW = dt.datetime(2026, 12, 2, 15, 30, 45, tzinfo=dt.UTC).timestamp()


class Broken:
    def admit(self, checks):
        raise sqlite3.OperationalError("disk I/O error")

    add = read = admit


@pytest.fixture
def limiter(tmp_path):
    return Limiter(SQLiteCounters(str(tmp_path / "l.sqlite3"), clock=lambda: NOW), clock=lambda: NOW)


def test_requests_per_minute_and_retry_after(limiter) -> None:
    scope = Scope("provider", "p", Limits(requests_per_minute=2))
    limiter.admit([scope])
    limiter.admit([scope])
    with pytest.raises(RateLimited) as caught:
        limiter.admit([scope])
    assert caught.value.status_code == 429
    assert caught.value.headers["Retry-After"] == "15"
    assert "requests_per_minute of provider @p" in caught.value.message


def test_tokens_are_counted_after_answers(limiter) -> None:
    scope = Scope("key", "team", Limits(tokens_per_hour=100))
    limiter.admit([scope])
    limiter.charge([scope], 100, None)
    with pytest.raises(RateLimited, match="tokens_per_hour of gateway key team"):
        limiter.admit([scope])


def test_budgets_are_412(limiter) -> None:
    scope = Scope("provider", "p", Limits(budget_usd=1.0, budget_period="day"))
    limiter.admit([scope])
    limiter.charge([scope], 10, 0.6)
    limiter.admit([scope])
    limiter.charge([scope], 10, 0.6)
    with pytest.raises(BudgetExhausted) as caught:
        limiter.admit([scope])
    assert caught.value.status_code == 412 and caught.value.message.startswith("Budget exhausted")
    used = limiter.usage([scope])[0]
    assert used["limits"] == {"budget_usd": 1.0} and used["used"]["budget_usd"] == pytest.approx(1.2)
    assert used["period"] == "day" and used["kind"] == "provider"


def test_unpriced_answers_count_no_spend(limiter) -> None:
    scope = Scope("provider", "p", Limits(budget_usd=0.5))
    limiter.charge([scope], 1000, None)
    limiter.admit([scope])


def test_a_refusal_changes_no_counter(limiter) -> None:
    free = Scope("provider", "free", Limits(requests_per_minute=10))
    full = Scope("key", "full", Limits(requests_per_minute=0))
    with pytest.raises(RateLimited):
        limiter.admit([free, full])
    assert limiter.usage([free])[0]["used"]["requests_per_minute"] == 0


def test_failing_open_warns_once(caplog) -> None:
    limiter = Limiter(Broken(), "open")
    scope = Scope("provider", "p", Limits(requests_per_minute=1))
    with caplog.at_level(logging.WARNING, "gateway.catalog.limits"):
        for _ in range(5):
            limiter.admit([scope])
            limiter.charge([Scope("provider", "p", Limits(tokens_per_minute=5))], 3, None)
    assert len([r for r in caplog.records if "limits store unavailable" in r.message]) == 1


def test_failing_closed_is_503() -> None:
    limiter = Limiter(Broken(), "closed")
    with pytest.raises(LimitsUnavailable) as caught:
        limiter.admit([Scope("provider", "p", Limits(requests_per_minute=1))])
    assert caught.value.status_code == 503
    limiter.admit([Scope("provider", "p", Limits())])  # nothing to check: no store call
