"""OpenTelemetry traces: a server span per request and a client span per upstream attempt.

Optional: it needs ``opentelemetry-sdk`` and ``opentelemetry-exporter-otlp-proto-http`` and is on
when the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set, or when the
host app has installed an SDK tracer provider of its own. The provider is built lazily in each
worker (after gunicorn forks) with a ``BatchSpanProcessor``, so spans are exported by a background
thread (a greenlet under gevent): a slow or unreachable collector only fills and drops its queue.
An incoming W3C ``traceparent`` is continued; the attempt's context goes to the provider only with
``GATEWAY_OTEL_PROPAGATE``. Attributes follow the GenAI semantic conventions.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("gateway.observability")

#: ``gen_ai.operation.name`` per endpoint id.
OPERATIONS = {
    "chatComplete": "chat",
    "messages": "chat",
    "responses": "chat",
    "complete": "text_completion",
    "embed": "embeddings",
    "imageGenerate": "image_generation",
}
#: ``gen_ai.provider.name`` where the convention's well-known value differs from the gateway's id.
PROVIDER_NAMES = {
    "bedrock": "aws.bedrock",
    "azure-openai": "azure.ai.openai",
    "azure-ai": "azure.ai.inference",
    "vertex-ai": "gcp.vertex_ai",
    "google": "gcp.gemini",
    "mistral-ai": "mistral_ai",
    "x-ai": "x_ai",
    "perplexity-ai": "perplexity",
    "ibm-watsonx": "ibm.watsonx.ai",
}


def operation_name(fn: str | None) -> str:
    return OPERATIONS.get(fn or "", fn or "unknown")


def provider_name(provider: str | None) -> str:
    return PROVIDER_NAMES.get(provider or "", provider or "unknown")


def _configured() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


class Tracing:
    """Start and end the gateway's spans; inert (every method a no-op) when tracing is off."""

    def __init__(self, provider: Any = None, propagate: bool = False) -> None:
        self._provider = provider
        self.propagate = propagate
        self._tracer: Any = None
        self._lock = threading.Lock()
        self.enabled = provider is not None or _configured() or _host_provider() is not None
        self._ready = False

    def tracer(self) -> Any:
        """The tracer (its provider and exporter built on first use), or None when tracing is unavailable."""
        if self._ready:
            return self._tracer
        with self._lock:
            if not self._ready:
                try:
                    self._tracer = self._build()
                except Exception:
                    log.warning("OpenTelemetry tracing is off: its setup failed", exc_info=True)
                    self._tracer = None
                self._ready = True
        return self._tracer

    def _build(self) -> Any:
        try:
            from opentelemetry.sdk.trace import TracerProvider
        except ImportError:
            log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-sdk is not installed")
            return None
        provider = self._provider or _host_provider()
        if provider is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "ai-gateway"})
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            self._provider = provider
        return provider.get_tracer("gateway")

    def server_span(self, name: str, headers: Mapping[str, str], start_ns: int, attributes: dict[str, Any]) -> Any:
        """Start the request's server span, continuing the client's ``traceparent``."""
        tracer = self.tracer() if self.enabled else None
        if tracer is None:
            return None
        from opentelemetry.trace import SpanKind
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        parent = TraceContextTextMapPropagator().extract(carrier=headers) if "traceparent" in headers else None
        return tracer.start_span(name, context=parent, kind=SpanKind.SERVER, start_time=start_ns, attributes=attributes)

    def attempt_span(self, server: Any, name: str, attributes: dict[str, Any]) -> Any:
        """Start one upstream attempt's client span under ``server``."""
        if server is None:
            return None
        from opentelemetry.trace import SpanKind, set_span_in_context

        return self._tracer.start_span(
            name, context=set_span_in_context(server), kind=SpanKind.CLIENT, attributes=attributes
        )

    def inject(self, span: Any, headers: dict[str, str]) -> None:
        """Write ``span``'s ``traceparent`` (and ``tracestate``) into outgoing ``headers``."""
        from opentelemetry.trace import set_span_in_context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        TraceContextTextMapPropagator().inject(headers, context=set_span_in_context(span))

    @staticmethod
    def end(span: Any, attributes: dict[str, Any], end_ns: int | None, error: str | None = None) -> None:
        """Set the final attributes and end ``span`` at ``end_ns``."""
        if span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        span.set_attributes({k: v for k, v in attributes.items() if v is not None})
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end_ns)

    def shutdown(self) -> None:
        """Flush and stop the exporter this instance built."""
        provider = self._provider
        if provider is not None and hasattr(provider, "shutdown"):
            provider.shutdown()


def _host_provider() -> Any:
    """The SDK tracer provider a host app installed globally, if it did (never imports the SDK itself)."""
    if "opentelemetry.sdk.trace" not in sys.modules:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return None
    provider = trace.get_tracer_provider()
    return provider if isinstance(provider, TracerProvider) else None
