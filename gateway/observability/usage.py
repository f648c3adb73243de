"""Read token usage and the answering model from an answer, whatever its API format.

Chat Completions and legacy completions report ``prompt_tokens`` / ``completion_tokens`` (with
``prompt_tokens_details.cached_tokens`` and ``completion_tokens_details.reasoning_tokens``); the
Responses API and Anthropic's Messages API report ``input_tokens`` / ``output_tokens`` (with
``input_tokens_details`` / ``output_tokens_details``, or Anthropic's ``cache_read_input_tokens``).
Everything is folded into one shape: ``input_tokens`` (all prompt tokens, cached ones included),
``output_tokens`` (reasoning included), ``cached_tokens``, ``reasoning_tokens``.
"""

from __future__ import annotations

from typing import Any

FIELDS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens")


def empty() -> dict[str, int]:
    """A usage with every count at zero."""
    return dict.fromkeys(FIELDS, 0)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def normalise(usage: Any) -> dict[str, int] | None:
    """The usage object of any format in the record's shape, or None when ``usage`` is not one."""
    if not isinstance(usage, dict):
        return None
    out = empty()
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        out["input_tokens"] = _int(usage.get("prompt_tokens"))
        out["output_tokens"] = _int(usage.get("completion_tokens"))
        details = usage.get("prompt_tokens_details")
        out["cached_tokens"] = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
        details = usage.get("completion_tokens_details")
        out["reasoning_tokens"] = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else 0
        return out
    if "input_tokens" in usage or "output_tokens" in usage:
        out["input_tokens"] = _int(usage.get("input_tokens"))
        out["output_tokens"] = _int(usage.get("output_tokens"))
        details = usage.get("input_tokens_details")
        out["cached_tokens"] = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
        if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:
            # Anthropic counts cache reads and writes apart from input_tokens; the record counts all input
            read, written = _int(usage.get("cache_read_input_tokens")), _int(usage.get("cache_creation_input_tokens"))
            out["cached_tokens"] = read
            out["input_tokens"] += read + written
        details = usage.get("output_tokens_details")
        out["reasoning_tokens"] = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else 0
        return out
    return None


def merge(into: dict[str, int], more: dict[str, int] | None) -> dict[str, int]:
    """Fold a partial usage in (streams report parts in several events): the larger count wins."""
    if more:
        for key in FIELDS:
            if more.get(key, 0) > into.get(key, 0):
                into[key] = more[key]
    return into


def of_payload(payload: Any) -> tuple[dict[str, int] | None, str | None]:
    """The usage and the answering model of one JSON answer or stream event (either may be None)."""
    if not isinstance(payload, dict):
        return None, None
    inner = payload.get("response") if isinstance(payload.get("response"), dict) else None  # Responses events
    message = payload.get("message") if isinstance(payload.get("message"), dict) else None  # Anthropic start
    found = normalise(payload.get("usage"))
    model = payload.get("model")
    for nested in (inner, message):
        if nested is not None:
            found = merge(found or empty(), normalise(nested.get("usage"))) if nested.get("usage") else found
            model = model or nested.get("model")
    return found, model if isinstance(model, str) and model else None
