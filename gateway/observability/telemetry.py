"""One gateway instance's observability sinks: the log line, the metrics, the store and the tracer."""

from __future__ import annotations

import atexit
import logging
import weakref
from collections.abc import Iterable
from typing import Any

from gateway.observability import logs
from gateway.observability.store import open_store
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
        _instances.add(self)

    def publish(self, record: dict[str, Any], limit_kind: str | None = None) -> None:
        """Send one finished record everywhere; a failing sink never stops the others."""
        for sink in (self._log, self._metrics, self._store):
            try:
                sink(record, limit_kind)
            except Exception:
                log.warning("request record sink %s failed", sink.__name__, exc_info=True)

    def _log(self, record: dict[str, Any], limit_kind: str | None) -> None:
        logs.emit(record)

    def _metrics(self, record: dict[str, Any], limit_kind: str | None) -> None:
        if self.metrics is not None:
            self.metrics.observe(record, limit_kind)

    def _store(self, record: dict[str, Any], limit_kind: str | None) -> None:
        if self.records is not None:
            self.records.add(record)

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
            if self.metrics is not None:
                self.metrics.flush()
            if self.records is not None:
                self.records.flush()
        except Exception:
            log.warning("flushing request records or metrics failed", exc_info=True)

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.flush()
        if self.records is not None:
            self.records.close()
        self.tracing.shutdown()
