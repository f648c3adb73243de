"""Prometheus metrics made from request records, shared by gunicorn's workers.

Under gunicorn, ``gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at one directory before
any worker starts, so ``prometheus_client`` keeps every worker's values in files there and
``render`` merges them; without it (an app in one process) the default registry is used. Label
values are bounded: providers outside the registry, and models past ``MODEL_CAP`` distinct values
per process, are counted as ``other``; status codes and endpoint ids come from the gateway itself.

A record's updates are added up in memory (a few dict operations) and written to the metric
values every ``FLUSH_SECONDS`` by a background thread (a greenlet under gevent), when this process
renders the metrics, and when the worker exits (``gunicorn.conf.py``'s ``worker_exit``): a busy
worker writes each label set once per flush rather than ten values per request.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from gateway.core import process

log = logging.getLogger("gateway.observability")

OTHER = "other"
MODEL_CAP = 200
TARGET_CAP = 200
CACHE_STATUSES = frozenset({"HIT", "SEMANTIC HIT", "MISS", "SEMANTIC MISS", "REFRESH"})
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
FLUSH_SECONDS = 0.5
_TOKEN_FIELDS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cached", "cached_tokens"),
    ("reasoning", "reasoning_tokens"),
)
_FALLBACKS: tuple[str, tuple[str, ...]] = ("fallbacks", ())
_instances: "weakref.WeakSet[Metrics]" = weakref.WeakSet()

_lock = threading.Lock()
_families: dict[str, Any] | None = None


class Bounded:
    """Map label values to themselves while there are few of them, then to ``other``."""

    def __init__(self, cap: int, known: Iterable[str] = ()) -> None:
        self.known = set(known)
        self.cap = cap
        self.seen: set[str] = set()

    def __call__(self, value: str | None) -> str:
        if not value:
            return "none"
        if value in self.known or value in self.seen:
            return value
        if len(self.seen) < self.cap:
            self.seen.add(value)
            return value
        return OTHER


def families() -> dict[str, Any]:
    """The metric objects (created once per process, on first use)."""
    global _families
    with _lock:
        if _families is None:
            from prometheus_client import Counter, Gauge, Histogram

            _families = {
                "requests": Counter("gateway_requests", "Requests answered", ("provider", "endpoint", "status")),
                "duration": Histogram(
                    "gateway_request_duration_seconds",
                    "Time from request to the end of the answer",
                    ("provider", "endpoint"),
                    buckets=DURATION_BUCKETS,
                ),
                "ttfb": Histogram(
                    "gateway_upstream_ttfb_seconds",
                    "Time from request to the provider's first byte",
                    ("provider",),
                    buckets=DURATION_BUCKETS,
                ),
                "tokens": Counter("gateway_tokens", "Tokens used", ("provider", "model", "type")),
                "cost": Counter("gateway_cost_usd", "Cost of the answers in USD", ("provider", "model")),
                "retries": Counter("gateway_retries", "Retries of upstream attempts", ("provider",)),
                "fallbacks": Counter("gateway_fallbacks", "Requests answered after trying another target"),
                "cache": Counter("gateway_cache", "Cache lookups", ("status",)),
                "guardrail": Counter("gateway_guardrail", "Guardrail hook verdicts", ("verdict",)),
                "breaker": Gauge(
                    "gateway_breaker_open",
                    "Whether a target's circuit is open (1) or not (0), as last seen",
                    ("target",),
                    multiprocess_mode="livemostrecent",
                ),
                "limits": Counter("gateway_limit_rejections", "Requests refused by a limit", ("kind",)),
            }
        return _families


class Metrics:
    """Turn records into metric updates for one gateway instance."""

    def __init__(self, providers: Iterable[str]) -> None:
        self.f = families()
        self.provider = Bounded(0, providers)
        self.model = Bounded(MODEL_CAP)
        self.target = Bounded(TARGET_CAP)
        #: (family, label values) -> the labelled child: ``labels()`` is the costly part of an update.
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}
        #: Not yet written: counter increments, and histogram (sum, {bucket index: count}).
        self._counts: dict[tuple[str, tuple[str, ...]], float] = {}
        self._hists: dict[tuple[str, tuple[str, ...]], list[Any]] = {}
        self._lock = threading.Lock()
        self._flusher_pid = 0
        _instances.add(self)

    def _child(self, family: str, *values: str) -> Any:
        key = (family, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.f[family].labels(*values) if values else self.f[family]
        return child

    def observe(self, record: dict[str, Any], limit_kind: str | None = None) -> None:
        """Count one finished request (``limit_kind``: the limit that refused it, if one did)."""
        provider = self.provider(record.get("provider"))
        endpoint = record.get("endpoint") or "none"
        seconds = record["latency_ms"] / 1000.0
        ttfb = record.get("ttfb_ms")
        used = record.get("usage")
        with self._lock:
            counts = self._counts
            key: tuple[str, tuple[str, ...]] = ("requests", (provider, endpoint, str(record["status"])))
            counts[key] = counts.get(key, 0) + 1
            if used and (used.get("input_tokens") or used.get("output_tokens")):
                model = self.model(record.get("model_answered") or record.get("model_requested"))
                for kind, field in _TOKEN_FIELDS:
                    count = used.get(field)
                    if count:
                        key = ("tokens", (provider, model, kind))
                        counts[key] = counts.get(key, 0) + count
                if record.get("cost_usd"):
                    key = ("cost", (provider, model))
                    counts[key] = counts.get(key, 0) + record["cost_usd"]
            if record.get("retries"):
                key = ("retries", (provider,))
                counts[key] = counts.get(key, 0) + record["retries"]
            if len(record.get("targets") or ()) > 1:
                counts[_FALLBACKS] = counts.get(_FALLBACKS, 0) + 1
            status = record.get("cache_status")
            if status in CACHE_STATUSES:
                key = ("cache", (status,))
                counts[key] = counts.get(key, 0) + 1
            for verdict in record.get("guardrails") or ():
                key = ("guardrail", ("pass" if verdict.get("verdict") else "fail",))
                counts[key] = counts.get(key, 0) + 1
            if limit_kind:
                key = ("limits", (limit_kind,))
                counts[key] = counts.get(key, 0) + 1
            self._time(("duration", (provider, endpoint)), seconds)
            if ttfb is not None:
                self._time(("ttfb", (provider,)), ttfb / 1000.0)
        if self._flusher_pid != process.pid():
            self._start_flusher()

    def _time(self, key: tuple[str, tuple[str, ...]], seconds: float) -> None:
        hist = self._hists.get(key)
        if hist is None:
            hist = self._hists[key] = [0.0, {}]
        hist[0] += seconds
        index = bisect.bisect_left(DURATION_BUCKETS, seconds)
        hist[1][index] = hist[1].get(index, 0) + 1

    def flush(self) -> None:
        """Write what was added up to the metric values (every worker's files, under gunicorn)."""
        with self._lock:
            counts, self._counts = self._counts, {}
            hists, self._hists = self._hists, {}
        for (family, values), amount in counts.items():
            self._child(family, *values).inc(amount)
        for (family, values), (total, buckets) in hists.items():
            child = self._child(family, *values)
            child._sum.inc(total)  # what Histogram.observe does, once per bucket instead of once per value
            for index, count in buckets.items():
                child._buckets[index].inc(count)

    def _start_flusher(self) -> None:
        self._flusher_pid = process.pid()
        ref = weakref.ref(self)

        def loop() -> None:
            while True:
                time.sleep(FLUSH_SECONDS)
                metrics = ref()
                if metrics is None:
                    return
                try:
                    metrics.flush()
                except Exception:
                    log.warning("writing the metrics failed", exc_info=True)
                del metrics

        threading.Thread(target=loop, name="gateway-metrics-flush", daemon=True).start()

    def breaker(self, target: str, is_open: bool) -> None:
        """Note a target's circuit state."""
        self._child("breaker", self.target(target)).set(1 if is_open else 0)


def flush_all() -> None:
    """Write every instance's pending updates (a worker about to exit, a scrape)."""
    for metrics in list(_instances):
        metrics.flush()


atexit.register(flush_all)


def multiprocess_dir() -> str | None:
    """The directory workers share their values in, when set."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(accept: str = "") -> tuple[bytes, str]:
    """The exposition of every worker's metrics, and its content type."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    families()
    flush_all()
    registry: Any = REGISTRY
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
