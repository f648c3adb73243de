"""Pure helpers behind the console API: time series from records, usage levels, redaction, config errors."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

WARN_AT = 0.8
FULL_AT = 1.0

#: Record keys the console passes on; anything else a store adds stays on the server.
RECORD_KEYS = (
    "id",
    "trace_id",
    "time",
    "method",
    "route",
    "endpoint",
    "client_format",
    "stream",
    "provider",
    "catalog_slug",
    "gateway_key",
    "model_requested",
    "model_answered",
    "status",
    "error_origin",
    "error",
    "latency_ms",
    "ttfb_ms",
    "retries",
    "last_used_option_index",
    "targets",
    "cache_status",
    "guardrails",
    "usage",
    "cost_usd",
    "metadata",
    "request_body",
    "response_body",
)

_SECRET_NAME = re.compile(r"api[_-]?key|authorization|secret|passw|credential|(^|[_-])(token|auth)$", re.I)
_SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|AKIA[0-9A-Z]{16})")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {k: (REDACTED if _SECRET_NAME.search(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def public_record(record: Mapping[str, Any], *, bodies: bool = True) -> dict[str, Any]:
    """Return the record as the console shows it: known keys only, secret-looking values masked.

    The store already keeps credentials out; this is a second fence, so a key that slipped
    into metadata or an error message is still not shown.
    """
    out = {key: record[key] for key in RECORD_KEYS if key in record}
    if not bodies:
        out.pop("request_body", None)
        out.pop("response_body", None)
    for key in ("metadata", "error", "request_body", "response_body"):
        if key in out:
            out[key] = _scrub(out[key])
    return out


def status_class(status: Any) -> str | None:
    """``"2xx"`` for 200..299 and so on."""
    return f"{int(status) // 100}xx" if isinstance(status, int) and 100 <= status <= 599 else None


def percentile(values: list[float], q: float) -> float | None:
    """Return the ``q`` quantile (0..1) by linear interpolation, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def series(records: Iterable[Mapping[str, Any]], now: float, span: float = 3600.0, buckets: int = 60) -> dict:
    """Bucket records of the last ``span`` seconds: requests/s, p50/p95 latency (ms) and error rate per bucket."""
    width = span / buckets
    start = now - span
    latencies: list[list[float]] = [[] for _ in range(buckets)]
    errors = [0] * buckets
    counts = [0] * buckets
    for record in records:
        at = record.get("time")
        if not isinstance(at, (int, float)) or at < start or at > now:
            continue
        index = min(buckets - 1, int((at - start) // width))
        counts[index] += 1
        latency = record.get("latency_ms")
        if isinstance(latency, (int, float)):
            latencies[index].append(float(latency))
        status = record.get("status")
        if isinstance(status, int) and status >= 400:
            errors[index] += 1
    points = []
    for index in range(buckets):
        count = counts[index]
        p50 = percentile(latencies[index], 0.5)
        p95 = percentile(latencies[index], 0.95)
        points.append(
            {
                "t": round(start + index * width, 3),
                "requests": count,
                "rps": round(count / width, 4),
                "p50_ms": None if p50 is None else round(p50, 2),
                "p95_ms": None if p95 is None else round(p95, 2),
                "error_rate": round(errors[index] / count, 4) if count else None,
            }
        )
    return {"start": round(start, 3), "end": round(now, 3), "bucket_seconds": width, "points": points}


def level(used: Any, limit: Any) -> tuple[float | None, str]:
    """Return (fraction of the limit used, ``ok`` / ``warn`` (80%+) / ``full`` (100%+) / ``none``)."""
    if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit <= 0:
        return None, "none"
    fraction = float(used or 0) / float(limit)
    if fraction >= FULL_AT:
        return fraction, "full"
    if fraction >= WARN_AT:
        return fraction, "warn"
    return fraction, "ok"


def usage_rows(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Turn ``catalog.usage()`` entries into bars: one per limit (and unlimited counters), with their level."""
    rows = []
    for entry in entries:
        limits = dict(entry.get("limits") or {})
        used = dict(entry.get("used") or {})
        bars = []
        for name in list(limits) + [n for n in used if n not in limits]:
            fraction, state = level(used.get(name, 0), limits.get(name))
            bars.append(
                {
                    "name": name,
                    "used": used.get(name, 0),
                    "limit": limits.get(name),
                    "fraction": None if fraction is None else round(fraction, 4),
                    "level": state,
                }
            )
        rows.append(
            {
                "kind": entry.get("kind"),
                "name": entry.get("name"),
                "period": entry.get("period"),
                "bars": bars,
                "level": _worst(bar["level"] for bar in bars),
            }
        )
    return rows


def _worst(levels: Iterable[str]) -> str:
    order = {"none": 0, "ok": 1, "warn": 2, "full": 3}
    return max(levels, key=lambda name: order.get(name, 0), default="none")


_PROBLEM = re.compile(r"^path: (?P<path>.*?), message: (?P<message>.*)$", re.S)


def dotted(parts: Iterable[str]) -> str:
    """Render ``["targets", "0", "weight"]`` as ``targets[0].weight``."""
    out = ""
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def config_problems(errors: Iterable[str]) -> list[dict[str, str]]:
    """Split the reference's ``"path: a,0,b, message: m"`` strings into ``{"path": "a[0].b", "message": m}``."""
    problems = []
    for text in errors:
        match = _PROBLEM.match(str(text))
        if match is None:
            problems.append({"path": "", "message": str(text)})
            continue
        parts = [p for p in match["path"].split(",") if p != ""]
        problems.append({"path": dotted(parts), "message": match["message"]})
    return problems
