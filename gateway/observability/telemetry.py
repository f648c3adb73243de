"""One gateway instance's observability sinks: the log line, the metrics, the store and the tracer.

Finished records are handed over in batches: ``publish`` only queues the record, and a background
thread (a greenlet under gevent) delivers the queue every ``WRITE_SECONDS`` (log lines, metric
updates, one store write), so that work runs in one warm loop after the responses have gone. Readers
of the store and ``flush`` deliver at once.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from collections.abc import Iterable
from typing import Any

from gateway.observability import logs
from gateway.observability.store import WriteBehind, open_store
from gateway.observability.tracing import Tracing

log = logging.getLogger("gateway.observability")

_instances: "weakref.WeakSet[Telemetry]" = weakref.WeakSet()


def flush_all() -> None:
    """Write every instance's pending records and metric updates (a worker about to exit)."""
    for telemetry in list(_instances):
        telemetry.flush()


atexit.register(flush_all)


class Telemetry:
    """Where finished records go; built once per gateway state."""

    def __init__(
        self,
        settings: Any,
        providers: Iterable[str],
        redis: Any = None,
        breakers: Any = None,
        tracer_provider: Any = None,
    ) -> None:
        self.settings = settings
        self.breakers = breakers
        self.metrics: Any = None
        if settings.metrics:
            from gateway.observability.metrics import Metrics

            self.metrics = Metrics(providers)
        self.tracing = Tracing(tracer_provider, propagate=settings.otel_propagate)
        self.records = open_store(settings, redis)
        self._behind = WriteBehind(self._deliver)
        if self.records is not None:
            self.records.upstream = self._behind  # a reader of the store sees what is queued here
        _instances.add(self)

    def publish(self, record: dict[str, Any], limit_kind: str | None = None) -> None:
        """Queue one finished record for the log, the metrics and the store."""
        self._behind.add((record, limit_kind))

    def _deliver(self, batch: list[tuple[dict[str, Any], str | None]]) -> None:
        """Send a batch everywhere; a failing sink never stops the others."""
        metrics = self.metrics
        for record, limit_kind in batch:
            try:
                logs.emit(record)
            except Exception:
                log.warning("writing a request log line failed", exc_info=True)
            if metrics is not None:
                try:
                    metrics.observe(record, limit_kind)
                except Exception:
                    log.warning("counting a request failed", exc_info=True)
        if self.records is not None:
            try:
                self.records.write([record for record, _ in batch])
            except Exception:
                log.warning("storing request records failed", exc_info=True)
        if metrics is not None:
            metrics.flush()

    def breakers_seen(self, leaves: list[Any]) -> None:
        """Set ``gateway_breaker_open`` for targets whose circuit breaker was consulted."""
        if self.metrics is None or self.breakers is None:
            return
        from gateway.routing.router import _breaker_key

        for leaf in leaves:
            try:
                self.metrics.breaker(f"{leaf.provider}:{leaf.path}", self.breakers.is_open(_breaker_key(leaf)))
            except Exception:
                log.warning("reading a circuit breaker's state failed", exc_info=True)

    def flush(self) -> None:
        """Write what is pending now."""
        try:
            self._behind.flush()
            if self.metrics is not None:
                self.metrics.flush()
            if self.records is not None:
                self.records.flush()
        except Exception:
            log.warning("flushing request records or metrics failed", exc_info=True)

    def close(self) -> None:
        self.flush()
        self._behind.stop()
        if self.records is not None:
            self.records.close()
        self.tracing.shutdown()
