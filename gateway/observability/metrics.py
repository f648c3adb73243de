"""Prometheus metrics made from request records, shared by gunicorn's workers.

Under gunicorn, ``gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at one directory before
any worker starts, so ``prometheus_client`` keeps every worker's values in files there and
``render`` merges them; without it (an app in one process) the default registry is used. Label
values are bounded: providers outside the registry, and models past ``MODEL_CAP`` distinct values
per process, are counted as ``other``; status codes and endpoint ids come from the gateway itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

OTHER = "other"
MODEL_CAP = 200
TARGET_CAP = 200
CACHE_STATUSES = frozenset({"HIT", "SEMANTIC HIT", "MISS", "SEMANTIC MISS", "REFRESH"})
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

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

    def observe(self, record: dict[str, Any], limit_kind: str | None = None) -> None:
        """Count one finished request (``limit_kind``: the limit that refused it, if one did)."""
        f = self.f
        provider = self.provider(record.get("provider"))
        endpoint = record.get("endpoint") or "none"
        f["requests"].labels(provider, endpoint, str(record["status"])).inc()
        f["duration"].labels(provider, endpoint).observe(record["latency_ms"] / 1000.0)
        if record.get("ttfb_ms") is not None:
            f["ttfb"].labels(provider).observe(record["ttfb_ms"] / 1000.0)
        used = record.get("usage") or {}
        if any(used.values()):
            model = self.model(record.get("model_answered") or record.get("model_requested"))
            for kind in ("input", "output", "cached", "reasoning"):
                count = used.get(kind + "_tokens", 0)
                if count:
                    f["tokens"].labels(provider, model, kind).inc(count)
            if record.get("cost_usd"):
                f["cost"].labels(provider, model).inc(record["cost_usd"])
        if record.get("retries"):
            f["retries"].labels(provider).inc(record["retries"])
        if len({t["index"] for t in record.get("targets") or ()}) > 1:
            f["fallbacks"].inc()
        status = record.get("cache_status")
        if status in CACHE_STATUSES:
            f["cache"].labels(status).inc()
        for verdict in record.get("guardrails") or ():
            f["guardrail"].labels("pass" if verdict.get("verdict") else "fail").inc()
        if limit_kind:
            f["limits"].labels(limit_kind).inc()

    def breaker(self, target: str, is_open: bool) -> None:
        """Note a target's circuit state."""
        self.f["breaker"].labels(self.target(target)).set(1 if is_open else 0)


def multiprocess_dir() -> str | None:
    """The directory workers share their values in, when set."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(accept: str = "") -> tuple[bytes, str]:
    """The exposition of every worker's metrics, and its content type."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    families()
    registry: Any = REGISTRY
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
