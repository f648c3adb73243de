"""Build a finished request's record from its ``Observation`` (the shape ``docs/observability.md`` lists)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from gateway.observability import redact
from gateway.observability.cost import cost_usd
from gateway.observability.usage import empty

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


def request_secrets(obs: Any) -> list[str]:
    """The secret strings this request carried (for the redactor)."""
    found = [value for name, value in obs.headers.items() if name in SECRET_HEADERS]
    found += [v.split(None, 1)[-1] for v in found if " " in v]
    call = obs.call
    if call is not None and call.options.api_key:
        found.append(call.options.api_key)
    for attempt in obs.attempts:
        key = getattr(attempt.leaf, "api_key", None)
        if key:
            found.append(key)
    return found


def build_record(obs: Any) -> dict[str, Any]:
    """The request record (the shape the console reads)."""
    latency_ms = (time.perf_counter() - obs.started) * 1000.0
    call, result = obs.call, obs.result
    settings = obs.telemetry.settings
    summary = obs.tap.summary() if obs.tap is not None else None
    if summary is not None:
        obs.usage = summary.usage
        obs.model_answered = summary.model
        obs.hook_results = summary.hook_results or obs.hook_results
        obs.error = summary.error or obs.error
    status = obs.status if obs.status is not None else (result.status if result is not None else 500)
    provider = (result.provider if result is not None else None) or (
        call.options.provider if call is not None else None
    )
    model_requested = obs.requested_model()
    if summary is not None and obs.usage and status < 400 and not summary.error:
        obs.cost = cost_usd(provider, obs.model_answered or model_requested, obs.usage)
    failed = status >= 400 or (summary is not None and bool(summary.error))
    # The secrets are looked for only where a text the client or provider wrote is recorded.
    secrets = request_secrets(obs) if failed or settings.log_bodies else []
    error = None
    if failed:
        error = redact.truncate(redact.redact(obs.error or f"HTTP {status}", secrets), 500)
    trace_id = (call.options.trace_id if call is not None else None) or obs.trace_id or ""
    record: dict[str, Any] = {
        "id": f"{obs.start_ns:020d}-{trace_id}",
        "trace_id": trace_id,
        "time": obs.time,
        "method": obs.method,
        "route": obs.route,
        "endpoint": obs.endpoint,
        "client_format": getattr(call.format, "name", "openai") if call is not None else "openai",
        "stream": bool(call.stream) if call is not None else False,
        "provider": provider or None,
        "catalog_slug": obs.catalog_slug or _attempted_slug(obs) or _attr(call, "catalog_slug"),
        "gateway_key": obs.gateway_key or _attr(call, "gateway_key_name", "key_name"),
        "model_requested": model_requested,
        "model_answered": obs.model_answered,
        "status": status,
        "error_origin": _error_origin(status, result),
        "error": error,
        "latency_ms": round(latency_ms, 3),
        "ttfb_ms": _ttfb_ms(obs),
        "retries": 0,
        "last_used_option_index": _path(result),
        "targets": _targets(obs),
        "cache_status": result.cache_status if result is not None else None,
        "guardrails": _guardrails(obs, summary),
        "usage": dict(obs.usage) if obs.usage else empty(),
        "cost_usd": obs.cost,
        "metadata": dict(call.options.metadata) if call is not None else {},
    }
    record["retries"] = sum(t["retries"] for t in record["targets"])
    if settings.log_bodies:
        limit = settings.log_body_max_chars
        raw = (call.client_raw or call.raw) if call is not None else None
        if raw is None and call is not None and (call.client_body or call.body) is not None:
            raw = orjson.dumps(call.client_body or call.body)
        record["request_body"] = redact.body_text(raw, limit, secrets) or ""
        shown = summary.head if summary is not None else (obs.response_body or (result.body if result else b""))
        record["response_body"] = redact.body_text(shown or b"", limit, secrets) or ""
    return record


def _attempted_slug(obs: Any) -> str | None:
    for attempt in reversed(obs.attempts):
        slug = getattr(attempt.leaf, "catalog", None)
        if isinstance(slug, str) and slug:
            return slug
    return None


def _ttfb_ms(obs: Any) -> float | None:
    for attempt in reversed(obs.attempts):
        if attempt.first_byte is not None:
            return round((attempt.first_byte - obs.started) * 1000.0, 3)
    return None


def _targets(obs: Any) -> list[dict[str, Any]]:
    targets: dict[str, dict[str, Any]] = {}
    for attempt in obs.attempts:
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


def _guardrails(obs: Any, summary: Any) -> list[dict[str, Any]]:
    out = []
    for phase, key in _GUARDRAIL_PHASES:
        for hook in obs.hook_results.get(key) or ():
            if isinstance(hook, dict):
                out.append({"id": str(hook.get("id") or ""), "phase": phase, "verdict": bool(hook.get("verdict"))})
    if summary is not None and summary.error_code == "guardrail_denied":  # a stream's output check (in-band)
        out.append({"id": "output", "phase": "after", "verdict": False})
    return out


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
