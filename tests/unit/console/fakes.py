"""In-memory stand-ins for the record store (``state.records``) and the catalog (``state.catalog``).

They implement exactly the interfaces the console codes against (see the request-record and
catalog contracts): ``add``, ``query``, ``get``, ``subscribe`` and ``usage``, ``providers``.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any


def make_record(n: int, **fields: Any) -> dict[str, Any]:
    """A complete record; ``n`` orders it (larger is newer)."""
    at = fields.pop("time", 1_700_000_000.0 + n)
    trace = fields.pop("trace_id", f"trace-{n:04d}")
    record = {
        "id": f"{int(at * 1e9):020d}-{trace}",
        "trace_id": trace,
        "time": at,
        "method": "POST",
        "route": "/v1/chat/completions",
        "endpoint": "chatComplete",
        "client_format": "openai",
        "stream": False,
        "provider": "openai",
        "catalog_slug": None,
        "gateway_key": None,
        "model_requested": "gpt-4o-mini",
        "model_answered": "gpt-4o-mini-2024-07-18",
        "status": 200,
        "error_origin": None,
        "error": None,
        "latency_ms": 100.0 + n,
        "ttfb_ms": 40.0,
        "retries": 0,
        "last_used_option_index": "config",
        "targets": [{"index": "config", "provider": "openai", "status": 200, "retries": 0, "latency_ms": 90.0}],
        "cache_status": "DISABLED",
        "guardrails": [],
        "usage": {"input_tokens": 10, "output_tokens": 5, "cached_tokens": 0, "reasoning_tokens": 0},
        "cost_usd": 0.0001,
        "metadata": {},
    }
    record.update(fields)
    return record


class FakeRecords:
    """The record store interface, in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.queries: list[tuple[dict, int, str | None]] = []
        self._subscribers: list[queue.Queue] = []
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)
            for subscriber in self._subscribers:
                subscriber.put(record)

    def _matches(self, record: dict[str, Any], filters: dict[str, Any]) -> bool:
        for key, wanted in filters.items():
            if key == "status_class" and f"{record['status'] // 100}xx" != wanted:
                return False
            if key in ("provider", "catalog_slug", "gateway_key", "trace_id") and record.get(key) != wanted:
                return False
            if key == "model" and wanted not in (record.get("model_requested"), record.get("model_answered")):
                return False
            if key == "metadata":
                name, _, value = wanted.partition("=")
                if str((record.get("metadata") or {}).get(name)) != value:
                    return False
            if key == "since" and record["time"] < wanted:
                return False
            if key == "until" and record["time"] > wanted:
                return False
        return True

    def query(self, filters: dict[str, Any], limit: int = 50, before: str | None = None) -> list[dict[str, Any]]:
        self.queries.append((dict(filters), limit, before))
        newest_first = sorted(self.records, key=lambda r: r["id"], reverse=True)
        found = [r for r in newest_first if (before is None or r["id"] < before) and self._matches(r, filters)]
        return found[:limit]

    def get(self, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r["id"] == record_id), None)

    def subscribe(self, timeout: float):
        """Yield records added after this call; stop after ``timeout`` seconds without one."""
        inbox: queue.Queue = queue.Queue()
        with self._lock:  # registered now, as the real stores take their position when called
            self._subscribers.append(inbox)
        return self._follow(inbox, timeout)

    def _follow(self, inbox: queue.Queue, timeout: float):
        try:
            while True:
                try:
                    yield inbox.get(timeout=timeout)
                except queue.Empty:
                    return
        finally:
            with self._lock:
                self._subscribers.remove(inbox)

    def close(self) -> None:
        pass

    def subscribers(self) -> int:
        return len(self._subscribers)


class FakeCatalog:
    """The catalog interface, in memory. Its entries hold a credential the console must never show."""

    def __init__(self) -> None:
        self.entries = [
            {
                "slug": "openai-prod",
                "provider": "openai",
                "models": ["gpt-4o", "gpt-4o-mini"],
                "aliases": {"fast": "gpt-4o-mini"},
                "api_key": "sk-catalog-secret-0123456789",
            },
            {"slug": "claude", "provider": "anthropic", "models": [], "aliases": {}},
        ]
        self.used: dict[tuple[str, str], dict[str, float]] = {}

    def providers(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self.entries]

    def close(self) -> None:
        pass

    def usage(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": "provider",
                "name": "openai-prod",
                "limits": {"requests_per_minute": 10, "budget_usd": 1.0},
                "used": self.used.get(("provider", "openai-prod"), {"requests_per_minute": 0, "budget_usd": 0.0}),
                "period": "month",
            },
            {
                "kind": "key",
                "name": "team-a",
                "limits": {"budget_tokens": 1000},
                "used": self.used.get(("key", "team-a"), {"budget_tokens": 0}),
                "period": "day",
            },
        ]


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
