"""Write each request record as one line on the ``gateway.requests`` logger.

Only the standard ``logging`` module is used here: the gateway never configures logging itself
(a host app keeps its own). Under gunicorn, ``gunicorn.conf.py`` gives the logger a handler
whose formatter follows ``GATEWAY_LOG_FORMAT``: ``json`` (python-json-logger: the record's fields
at the top level of one JSON object) or ``text`` (the short summary line below).
"""

from __future__ import annotations

import logging
from typing import Any

LOGGER = "gateway.requests"

log = logging.getLogger(LOGGER)


def summary(record: dict[str, Any]) -> str:
    """The record in one short human line (the ``message`` of every request log line)."""
    model = record.get("model_answered") or record.get("model_requested") or "-"
    cost = record.get("cost_usd")
    return (
        f"{record['method']} {record['route']} {record['status']} provider={record.get('provider') or '-'}"
        f" model={model} latency_ms={record['latency_ms']:.1f} cache={record.get('cache_status') or '-'}"
        f" cost_usd={'-' if cost is None else f'{cost:.6f}'} trace_id={record['trace_id']}"
    )


def emit(record: dict[str, Any]) -> None:
    """Log ``record`` at INFO (skipped cheaply when nothing listens)."""
    if log.isEnabledFor(logging.INFO):
        log.info(summary(record), extra=record)
