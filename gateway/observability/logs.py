"""Write each request record as one line on the ``gateway.requests`` logger.

Only the standard ``logging`` module is used here: the gateway never configures logging itself
(a host app keeps its own). Each log record carries the request record as its ``request``
attribute and a short summary as its message. Under gunicorn, ``gunicorn.conf.py`` gives the
logger a handler whose formatter follows ``GATEWAY_LOG_FORMAT``: ``json`` (``RequestJsonFormatter``,
python-json-logger's orjson formatter with the request record's fields at the top level of the
JSON object) or ``text`` (the summary line). Any other JSON formatter shows the record under
``request``.
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
    """Log ``record`` at INFO (skipped cheaply when nothing listens).

    The log record is made directly (``makeRecord`` then ``handle``, what ``Logger.info`` does) so
    no time goes into finding the caller's source line, which would always be this function.
    """
    if log.isEnabledFor(logging.INFO):
        line = log.makeRecord(LOGGER, logging.INFO, __file__, 0, summary(record), (), None, "emit", {"request": record})
        log.handle(line)


def json_formatter() -> logging.Formatter:
    """The formatter ``gunicorn.conf.py`` installs for ``GATEWAY_LOG_FORMAT=json``."""
    from pythonjsonlogger.orjson import OrjsonFormatter

    class RequestJsonFormatter(OrjsonFormatter):
        """python-json-logger's orjson formatter; a request record's fields go at the top level."""

        def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict) -> None:
            request = record.__dict__.get("request")
            if not isinstance(request, dict):
                super().add_fields(log_data, record, message_dict)
                return
            log_data["name"] = record.name
            log_data["levelname"] = record.levelname
            log_data["message"] = record.message
            log_data.update(request)
            if self.timestamp:
                log_data["timestamp"] = _iso(record.created)

    return RequestJsonFormatter("%(name)s %(levelname)s %(message)s", timestamp=True)


def _iso(created: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(created, tz=UTC).isoformat()
