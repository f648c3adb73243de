"""Follow one request and build its record once, when the response is closed.

``Observation`` is made when the request arrives. ``LeafCaller`` reports each upstream attempt to
it (``attempt`` wraps the send-and-handle of one try, ``first_byte`` notes the provider's
response headers); ``answered`` sees the routed ``Result`` before it is rendered (it reads a JSON
answer's usage and prices it for ``x-portkey-cost-usd``, and taps a stream); ``finish`` runs after
the last byte has gone to the client (gunicorn closing the response, or the stream's end) and
builds the record, which ``Telemetry.publish`` logs, counts and stores, and ends the spans.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from gateway.observability.cost import cost_usd
from gateway.observability.record import build_record
from gateway.observability.spans import end_spans
from gateway.observability.stream_tap import StreamTap, TappedStream
from gateway.observability.tracing import operation_name, provider_name
from gateway.observability.usage import of_payload

log = logging.getLogger("gateway.observability")

#: JSON answers larger than this are not parsed for usage.
MAX_PARSED_BODY = 8 * 1024 * 1024
#: The catalog's limit errors (``gateway.catalog.errors``) by code -> ``gateway_limit_rejections_total{kind}``.
LIMIT_KINDS = {"rate_limit_exceeded": "rate", "budget_exhausted": "budget", "limits_unavailable": "unavailable"}


class Attempt:
    """One upstream try of one target."""

    __slots__ = ("end", "first_byte", "index", "leaf", "network", "provider", "span", "start", "status")

    def __init__(self, leaf: Any, span: Any) -> None:
        self.leaf = leaf
        self.index: str = leaf.path
        self.provider: str = leaf.provider
        self.start = time.perf_counter()
        self.end: float | None = None
        self.first_byte: float | None = None
        self.status: int | None = None
        self.network = False
        self.span = span


class Observation:
    """Everything known about one request, until its record is built."""

    def __init__(
        self,
        telemetry: Any,
        method: str,
        route: str,
        endpoint: str,
        headers: dict[str, str],
        trace_id: str | None = None,
    ) -> None:
        self.telemetry = telemetry
        self.time = time.time()
        self.start_ns = time.time_ns()
        self.started = time.perf_counter()
        self.method = method
        self.route = route
        self.endpoint = endpoint
        self.headers = headers
        self.trace_id = trace_id
        self.call: Any = None
        self.result: Any = None
        self.status: int | None = None
        self.attempts: list[Attempt] = []
        self.current: Attempt | None = None
        self.tap: StreamTap | None = None
        self.usage: dict[str, int] | None = None
        self.model_answered: str | None = None
        self.hook_results: dict[str, Any] = {}
        self.error: str | None = None
        self.cost: float | None = None
        self.response_body: bytes | None = None
        self.catalog_slug: str | None = None
        self.limit_kind: str | None = None
        self.error_code: str | None = None
        #: The catalog key's name (``gateway.catalog.keys.Grant.name``), set when the response goes out.
        self.gateway_key: str | None = None
        self.finished = False
        tracing = telemetry.tracing
        self.span = (
            tracing.server_span(
                f"{method} {route}",
                headers,
                self.start_ns,
                {"http.request.method": method, "http.route": route, "url.path": route},
            )
            if tracing.enabled
            else None
        )

    # -- reported while the request is served -----------------------------------------------------

    def bind(self, call: Any) -> None:
        """The request became ``call`` (attempts report through ``call.trace``)."""
        self.call = call
        call.trace = self
        self.endpoint = call.fn

    def attempt(self, leaf: Any, exchange: Any, run: Callable[[], Any]) -> Callable[[], Any]:
        """Wrap one try of ``leaf`` (``run`` sends and handles it) so it is timed, counted and traced."""

        def observed() -> Any:
            try:
                attempt = self._start_attempt(leaf, exchange)
            except Exception:
                log.warning("observing an upstream attempt failed", exc_info=True)
                return run()
            try:
                result = run()
            except BaseException:
                attempt.end = time.perf_counter()
                raise
            attempt.end = time.perf_counter()
            attempt.status = result.status
            attempt.network = bool(result.network_failure)
            return result

        return observed

    def _start_attempt(self, leaf: Any, exchange: Any) -> Attempt:
        span = None
        if self.span is not None:
            model = self.requested_model(leaf)
            span = self.telemetry.tracing.attempt_span(
                self.span,
                f"{operation_name(self.endpoint)} {model or leaf.provider}",
                {
                    "gen_ai.operation.name": operation_name(self.endpoint),
                    "gen_ai.provider.name": provider_name(leaf.provider),
                    "gen_ai.request.model": model or "",
                    "gateway.target.index": leaf.path,
                    "gateway.attempt": sum(a.index == leaf.path for a in self.attempts),
                },
            )
        self._propagate(exchange, span)
        attempt = Attempt(leaf, span)
        self.attempts.append(attempt)
        self.current = attempt
        return attempt

    def first_byte(self) -> None:
        """The current attempt's response headers arrived."""
        if self.current is not None and self.current.first_byte is None:
            self.current.first_byte = time.perf_counter()

    def answered(self, result: Any) -> Any:
        """See the routed result before it is rendered: read a JSON answer's usage, tap a stream (never raises)."""
        try:
            return self._answered(result)
        except Exception:
            log.warning("reading an answer for its record failed", exc_info=True)
            return result

    def _answered(self, result: Any) -> Any:
        self.result = result
        if result.stream is not None:
            self.tap = StreamTap()
            result.stream = TappedStream(result.stream, self.tap, self.finish)
            return result
        body = result.body
        if body and len(body) <= MAX_PARSED_BODY and "json" in (result.content_type or ""):
            self._read_answer(body)
        if result.ok and self.usage:
            self.cost = cost_usd(result.provider or None, self.model_answered or self.requested_model(), self.usage)
            if self.cost is not None:
                result.headers.append(("x-portkey-cost-usd", format_cost(self.cost)))
        return result

    def responded(self, status: int, headers: Any, body: bytes | None, gateway_key: str | None = None) -> None:
        """The response that goes out (``body`` only for responses the gateway rendered itself)."""
        self.status = status
        self.gateway_key = gateway_key
        if self.result is None and body:
            self._read_answer(body)
        self.catalog_slug = headers.get("x-portkey-catalog-provider") or None
        if status >= 400:
            self.limit_kind = LIMIT_KINDS.get(self.error_code or "")

    def _read_answer(self, body: bytes) -> None:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        if not isinstance(payload, dict):
            return
        self.response_body = body
        self.usage, self.model_answered = of_payload(payload)
        hooks = payload.get("hook_results")
        if isinstance(hooks, dict):
            self.hook_results = hooks
        error = payload.get("error")
        if isinstance(error, dict):
            self.error = str(error.get("message") or error.get("type") or "error")
            self.error_code = error.get("code") if isinstance(error.get("code"), str) else None
        elif isinstance(error, str):
            self.error = error
        elif payload.get("status") == "failure" and payload.get("message"):
            self.error = str(payload["message"])

    def requested_model(self, leaf: Any = None) -> str | None:
        if leaf is not None and isinstance(leaf.override_params.get("model"), str):
            return leaf.override_params["model"]
        call = self.call
        if call is None:
            return None
        for body in (call.client_body, call.body):
            if isinstance(body, dict) and isinstance(body.get("model"), str):
                return body["model"]
        return None

    def _propagate(self, exchange: Any, span: Any) -> None:
        headers = getattr(exchange, "headers", None)
        if not isinstance(headers, dict):
            return
        tracing = self.telemetry.tracing
        if not tracing.propagate:
            for name in [k for k in headers if k.lower() in ("traceparent", "tracestate")]:
                del headers[name]
            return
        if span is not None:
            for name in [k for k in headers if k.lower() in ("traceparent", "tracestate")]:
                del headers[name]
            tracing.inject(span, headers)
        elif "traceparent" in self.headers:
            headers["traceparent"] = self.headers["traceparent"]

    # -- the record ----------------------------------------------------------------------------------

    def finish(self) -> None:
        """Build the record and publish it (once; never raises)."""
        if self.finished:
            return
        self.finished = True
        try:
            record = build_record(self)
            self.telemetry.publish(record, self.limit_kind)
            if self.span is not None:
                end_spans(self.telemetry.tracing, self, record)
            self._breakers()
        except Exception:
            log.warning("building the request record failed", exc_info=True)
        finally:
            self._release()

    def _release(self) -> None:
        """Let go of the request (the call points back here): its objects are freed now, not by the GC."""
        if self.call is not None and getattr(self.call, "trace", None) is self:
            self.call.trace = None
        self.attempts = []
        self.current = None
        self.result = None
        self.tap = None

    def _breakers(self) -> None:
        """Note the circuit state of each target tried that has a breaker (``gateway_breaker_open``)."""
        leaves = {id(a.leaf): a.leaf for a in self.attempts if getattr(a.leaf, "circuit_breaker", None)}
        if leaves:
            self.telemetry.breakers_seen(list(leaves.values()))


def format_cost(value: float) -> str:
    """A cost as the header carries it: plain decimal, no exponent."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"
