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
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from gateway.observability import redact
from gateway.observability.cost import cost_usd
from gateway.observability.stream_tap import StreamTap
from gateway.observability.tracing import operation_name, provider_name
from gateway.observability.usage import empty, of_payload

log = logging.getLogger("gateway.observability")

#: JSON answers larger than this are not parsed for usage.
MAX_PARSED_BODY = 8 * 1024 * 1024
#: Headers whose values are secrets the redactor must know about.
SECRET_HEADERS = (
    "authorization",
    "x-api-key",
    "api-key",
    "x-portkey-api-key",
    "x-goog-api-key",
    "x-portkey-virtual-key",
    "x-portkey-aws-secret-access-key",
    "x-portkey-aws-session-token",
    "x-portkey-azure-ad-token",
    "x-portkey-vertex-service-account-json",
)
_GUARDRAIL_PHASES = (("before", "before_request_hooks"), ("after", "after_request_hooks"))
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


class TappedStream:
    """The response stream, watched: finishes the observation when closed (ended, cut or never read)."""

    def __init__(self, stream: Iterator[bytes], tap: StreamTap, on_close: Callable[[], None]) -> None:
        self.stream = iter(stream)
        self.inner = stream
        self.tap = tap
        self.on_close = on_close
        self.closed = False

    def __iter__(self) -> "TappedStream":
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self.stream)
        except StopIteration:
            self.tap.ended = True
            raise
        self.tap.feed(chunk)
        return chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self.on_close()


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
            span = None
            if self.span is not None:
                model = self._requested_model(leaf)
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

    def first_byte(self) -> None:
        """The current attempt's response headers arrived."""
        if self.current is not None and self.current.first_byte is None:
            self.current.first_byte = time.perf_counter()

    def answered(self, result: Any) -> Any:
        """See the routed result before it is rendered: read a JSON answer's usage, tap a stream."""
        self.result = result
        if result.stream is not None:
            self.tap = StreamTap()
            result.stream = TappedStream(result.stream, self.tap, self.finish)
            return result
        body = result.body
        if body and len(body) <= MAX_PARSED_BODY and "json" in (result.content_type or ""):
            self._read_answer(body)
        if result.ok and self.usage:
            self.cost = cost_usd(result.provider or None, self.model_answered or self._requested_model(), self.usage)
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

    def _requested_model(self, leaf: Any = None) -> str | None:
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
            record = self.record()
            self.telemetry.publish(record, self.limit_kind)
            self._end_spans(record)
            self._breakers()
        except Exception:
            log.warning("building the request record failed", exc_info=True)

    def secrets(self) -> list[str]:
        """The secret strings this request carried (for the redactor)."""
        found = [value for name, value in self.headers.items() if name in SECRET_HEADERS]
        found += [v.split(None, 1)[-1] for v in found if " " in v]
        call = self.call
        if call is not None and call.options.api_key:
            found.append(call.options.api_key)
        for attempt in self.attempts:
            key = getattr(attempt.leaf, "api_key", None)
            if key:
                found.append(key)
        return found

    def record(self) -> dict[str, Any]:
        """The request record (the shape the console reads)."""
        latency_ms = (time.perf_counter() - self.started) * 1000.0
        call, result = self.call, self.result
        settings = self.telemetry.settings
        summary = self.tap.summary() if self.tap is not None else None
        if summary is not None:
            self.usage = summary.usage
            self.model_answered = summary.model
            self.hook_results = summary.hook_results or self.hook_results
            self.error = summary.error or self.error
        status = self.status if self.status is not None else (result.status if result is not None else 500)
        provider = (result.provider if result is not None else None) or (
            call.options.provider if call is not None else None
        )
        model_requested = self._requested_model()
        if summary is not None and self.usage and status < 400 and not summary.error:
            self.cost = cost_usd(provider, self.model_answered or model_requested, self.usage)
        secrets = self.secrets()
        error = None
        if status >= 400 or (summary is not None and summary.error):
            error = redact.truncate(redact.redact(self.error or f"HTTP {status}", secrets), 500)
        trace_id = (call.options.trace_id if call is not None else None) or self.trace_id or ""
        record: dict[str, Any] = {
            "id": f"{self.start_ns:020d}-{trace_id}",
            "trace_id": trace_id,
            "time": self.time,
            "method": self.method,
            "route": self.route,
            "endpoint": self.endpoint,
            "client_format": getattr(call.format, "name", "openai") if call is not None else "openai",
            "stream": bool(call.stream) if call is not None else False,
            "provider": provider or None,
            "catalog_slug": self.catalog_slug or self._attempted_slug() or _attr(call, "catalog_slug"),
            "gateway_key": self.gateway_key or _attr(call, "gateway_key_name", "key_name"),
            "model_requested": model_requested,
            "model_answered": self.model_answered,
            "status": status,
            "error_origin": _error_origin(status, result),
            "error": error,
            "latency_ms": round(latency_ms, 3),
            "ttfb_ms": self._ttfb_ms(),
            "retries": 0,
            "last_used_option_index": _path(result),
            "targets": self._targets(),
            "cache_status": result.cache_status if result is not None else None,
            "guardrails": self._guardrails(summary),
            "usage": dict(self.usage) if self.usage else empty(),
            "cost_usd": self.cost,
            "metadata": dict(call.options.metadata) if call is not None else {},
        }
        record["retries"] = sum(t["retries"] for t in record["targets"])
        if settings.log_bodies:
            limit = settings.log_body_max_chars
            raw = (call.client_raw or call.raw) if call is not None else None
            if raw is None and call is not None and (call.client_body or call.body) is not None:
                raw = orjson.dumps(call.client_body or call.body)
            record["request_body"] = redact.body_text(raw, limit, secrets) or ""
            shown = summary.head if summary is not None else (self.response_body or (result.body if result else b""))
            record["response_body"] = redact.body_text(shown or b"", limit, secrets) or ""
        return record

    def _attempted_slug(self) -> str | None:
        for attempt in reversed(self.attempts):
            slug = getattr(attempt.leaf, "catalog", None)
            if isinstance(slug, str) and slug:
                return slug
        return None

    def _ttfb_ms(self) -> float | None:
        for attempt in reversed(self.attempts):
            if attempt.first_byte is not None:
                return round((attempt.first_byte - self.started) * 1000.0, 3)
        return None

    def _targets(self) -> list[dict[str, Any]]:
        targets: dict[str, dict[str, Any]] = {}
        for attempt in self.attempts:
            end = attempt.end if attempt.end is not None else time.perf_counter()
            entry = targets.get(attempt.index)
            if entry is None:
                targets[attempt.index] = {
                    "index": attempt.index,
                    "provider": attempt.provider,
                    "status": attempt.status,
                    "retries": 0,
                    "latency_ms": round((end - attempt.start) * 1000.0, 3),
                    "_start": attempt.start,
                }
            else:
                entry["status"] = attempt.status
                entry["retries"] += 1
                entry["latency_ms"] = round((end - entry["_start"]) * 1000.0, 3)
        for entry in targets.values():
            del entry["_start"]
        return list(targets.values())

    def _guardrails(self, summary: Any) -> list[dict[str, Any]]:
        out = []
        for phase, key in _GUARDRAIL_PHASES:
            for hook in self.hook_results.get(key) or ():
                if isinstance(hook, dict):
                    out.append({"id": str(hook.get("id") or ""), "phase": phase, "verdict": bool(hook.get("verdict"))})
        if summary is not None and summary.error_code == "guardrail_denied":  # a stream's output check (in-band)
            out.append({"id": "output", "phase": "after", "verdict": False})
        return out

    def _breakers(self) -> None:
        """Note the circuit state of each target tried that has a breaker (``gateway_breaker_open``)."""
        leaves = {id(a.leaf): a.leaf for a in self.attempts if getattr(a.leaf, "circuit_breaker", None)}
        if leaves:
            self.telemetry.breakers_seen(list(leaves.values()))

    def _end_spans(self, record: dict[str, Any]) -> None:
        if self.span is None:
            return
        tracing = self.telemetry.tracing
        offset = self.start_ns - int(self.started * 1e9)
        used = record["usage"]
        answering = self.attempts[-1] if self.attempts else None
        for attempt in self.attempts:
            attributes: dict[str, Any] = {"http.response.status_code": attempt.status}
            if attempt is answering and record["status"] < 400:
                attributes.update(
                    {
                        "gen_ai.response.model": record["model_answered"],
                        "gen_ai.usage.input_tokens": used["input_tokens"],
                        "gen_ai.usage.output_tokens": used["output_tokens"],
                    }
                )
            failed = attempt.status is None or attempt.status >= 400
            end_ns = int((attempt.end or time.perf_counter()) * 1e9) + offset
            tracing.end(attempt.span, attributes, end_ns, f"HTTP {attempt.status}" if failed else None)
        tracing.end(
            self.span,
            {
                "http.response.status_code": record["status"],
                "gen_ai.operation.name": operation_name(record["endpoint"]),
                "gen_ai.provider.name": provider_name(record["provider"]),
                "gen_ai.request.model": record["model_requested"],
                "gen_ai.response.model": record["model_answered"],
                "gen_ai.usage.input_tokens": used["input_tokens"],
                "gen_ai.usage.output_tokens": used["output_tokens"],
                "gateway.trace_id": record["trace_id"],
                "gateway.cache_status": record["cache_status"],
                "gateway.retries": record["retries"],
                "gateway.last_used_option_index": record["last_used_option_index"],
                "gateway.cost_usd": record["cost_usd"],
                "error.type": str(record["status"]) if record["status"] >= 400 else None,
            },
            None,
            record["error"],
        )


def format_cost(value: float) -> str:
    """A cost as the header carries it: plain decimal, no exponent."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"


def _attr(call: Any, *names: str) -> str | None:
    """A name the catalog set on the call or its options (never a key itself)."""
    if call is None:
        return None
    for holder in (call, call.options):
        for name in names:
            value = getattr(holder, name, None)
            if isinstance(value, str) and value:
                return value
    return None


def _path(result: Any) -> str | None:
    return result.path if result is not None else None


def _error_origin(status: int, result: Any) -> str | None:
    if status < 400:
        return None
    if result is not None and result.error_origin:
        return result.error_origin
    return "gateway" if result is None else "provider"
