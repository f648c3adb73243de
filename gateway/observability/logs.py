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
import math
import threading
import time
from typing import Any

import orjson

from gateway.core import process

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
        line = log.makeRecord(LOGGER, logging.INFO, __file__, 0, Summary(record), (), None, "emit", {"request": record})
        log.handle(line)


class Summary:
    """The log message: the record's summary line, made only if a formatter asks for it."""

    __slots__ = ("record",)

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    def __str__(self) -> str:
        return summary(self.record)


def json_formatter() -> logging.Formatter:
    """The formatter ``gunicorn.conf.py`` installs for ``GATEWAY_LOG_FORMAT=json``."""
    from pythonjsonlogger.orjson import OrjsonFormatter

    class RequestJsonFormatter(OrjsonFormatter):
        """python-json-logger's orjson formatter; a request record's fields go at the top level.

        A request line (the common case, one per request) is written directly: its fields are known,
        and it never carries an exception or a stack, so python-json-logger's general path is skipped.
        """

        def format(self, record: logging.LogRecord) -> str:
            request = record.__dict__.get("request")
            if not isinstance(request, dict) or record.exc_info or record.stack_info:
                return super().format(record)
            line = {"name": record.name, "levelname": record.levelname, "message": record.getMessage(), **request}
            if self.timestamp:
                line["timestamp"] = _iso(record.created)
            return orjson.dumps(line, default=self.json_default, option=orjson.OPT_NON_STR_KEYS).decode()

        def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict) -> None:
            request = record.__dict__.get("request")
            if not isinstance(request, dict):
                super().add_fields(log_data, record, message_dict)
                return
            log_data["name"] = record.name
            log_data["levelname"] = record.levelname
            log_data["message"] = record.message
            log_data.update(request)
            log_data.update(message_dict)  # exc_info, stack_info
            if self.timestamp:
                log_data["timestamp"] = _iso(record.created)

    return RequestJsonFormatter("%(name)s %(levelname)s %(message)s", timestamp=True)


class BufferedStreamHandler(logging.StreamHandler):
    """A ``StreamHandler`` that writes its lines in batches: every ``interval`` seconds, or once
    ``max_bytes`` are waiting, instead of one write per line.

    Request lines are many and small: one write per line costs more than formatting it. The lines are
    held here, not in the stream's buffer, so the batching holds with ``PYTHONUNBUFFERED`` set too (an
    unbuffered stdout would make each line a system call). A background thread (a greenlet under
    gevent) writes what is held; warnings and errors go out at once.
    """

    def __init__(self, stream: Any = None, interval: float = 0.5, max_bytes: int = 64 * 1024) -> None:
        super().__init__(stream)
        self.interval = interval
        self.max_bytes = max_bytes
        self._held: list[str] = []
        self._held_bytes = 0
        self._pid = 0

    def flush(self) -> None:
        pass  # see _loop and emit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - as logging's own handlers do: a bad line never fails its caller
            self.handleError(record)
            return
        self._held.append(line)
        self._held_bytes += len(line)
        if record.levelno >= logging.WARNING or self._held_bytes >= self.max_bytes:
            self._write_held()
        if self._pid != process.pid():
            self._pid = process.pid()
            threading.Thread(target=self._loop, name="gateway-log-flush", daemon=True).start()

    def _write_held(self) -> None:
        """Write the held lines in one go (the caller holds ``self.lock``)."""
        held, self._held, self._held_bytes = self._held, [], 0
        stream = self.stream
        if held and stream:
            stream.write("".join(held))
            if hasattr(stream, "flush"):
                stream.flush()

    def flush_now(self) -> None:
        with self.lock:
            self._write_held()

    def close(self) -> None:
        self.flush_now()
        super().close()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush_now()
            except (OSError, ValueError):
                return


#: The last second formatted by ``_iso`` and its text (one line per request: most share a second).
_iso_second: tuple[int, str] = (-1, "")


def _iso(created: float) -> str:
    """``datetime.fromtimestamp(created, UTC).isoformat()``, with the date and time of the second reused.

    The microseconds are rounded half to even, as ``datetime`` does; like ``isoformat``, a time on a whole
    second has no fraction.
    """
    global _iso_second
    second = math.floor(created)
    micros = round((created - second) * 1e6)
    if micros == 1_000_000:
        second, micros = second + 1, 0
    cached, text = _iso_second
    if cached != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _iso_second = (second, text)
    return f"{text}.{micros:06d}+00:00" if micros else f"{text}+00:00"
