"""End a finished request's spans: the attempts' client spans, then the server span, with the record's attributes.

The spans were started while the request was served (``Observation``); their end times are the
ones noted then (attempts) and now (the server span: the last byte has been sent).
"""

from __future__ import annotations

import time
from typing import Any

from gateway.observability.tracing import operation_name, provider_name


def end_spans(tracing: Any, observation: Any, record: dict[str, Any]) -> None:
    """End ``observation``'s attempt spans and its server span, setting the GenAI attributes from ``record``."""
    offset = observation.start_ns - int(observation.started * 1e9)
    used = record["usage"]
    answering = observation.attempts[-1] if observation.attempts else None
    for attempt in observation.attempts:
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
        observation.span,
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
