"""The JSON request log line: the direct path writes what python-json-logger's general path writes."""

from __future__ import annotations

import logging

import orjson

from gateway.observability import logs

RECORD = {
    "id": "1-abc",
    "trace_id": "abc",
    "method": "POST",
    "route": "/v1/chat/completions",
    "status": 200,
    "provider": "openai",
    "model_requested": "gpt-4o",
    "model_answered": "gpt-4o-2024",
    "latency_ms": 12.5,
    "cache_status": None,
    "cost_usd": 0.0001,
    "usage": {"input_tokens": 3, "output_tokens": 4},
    "targets": [{"index": "config", "status": 200}],
    "metadata": {"team": "a"},
}


def _line(record: dict | None, **extra) -> logging.LogRecord:
    message = logs.Summary(record) if record is not None else "plain %s"
    args = () if record is not None else ("words",)
    fields = {"request": record} if record is not None else {}
    return logging.getLogger(logs.LOGGER).makeRecord(
        logs.LOGGER, logging.INFO, __file__, 0, message, args, None, "emit", {**fields, **extra}
    )


def test_a_request_line_has_the_records_fields_at_the_top_level() -> None:
    formatter = logs.json_formatter()
    line = _line(RECORD)
    fast = orjson.loads(formatter.format(line))
    general = {}
    line.message = line.getMessage()
    formatter.add_fields(general, line, {})
    general = orjson.loads(formatter.jsonify_log_record(general))
    assert fast == general
    assert fast["name"] == "gateway.requests" and fast["levelname"] == "INFO"
    assert fast["message"] == logs.summary(RECORD) and fast["status"] == 200 and fast["usage"]["output_tokens"] == 4
    assert fast["timestamp"].endswith("+00:00")


def test_other_lines_keep_the_general_path() -> None:
    formatter = logs.json_formatter()
    out = orjson.loads(formatter.format(_line(None)))
    assert out["message"] == "plain words" and "status" not in out
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = _line(RECORD)
        line.exc_info = sys.exc_info()
    with_error = orjson.loads(formatter.format(line))
    assert "ValueError" in with_error["exc_info"] and with_error["status"] == 200


def test_the_buffered_handler_writes_its_lines_in_batches() -> None:
    import io

    from gateway.observability.logs import BufferedStreamHandler

    out = io.StringIO()
    handler = BufferedStreamHandler(out, interval=60, max_bytes=100)
    logger = logging.getLogger("gateway.test.buffered")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    try:
        logger.info("one")
        logger.info("two")
        assert out.getvalue() == ""  # held: an unbuffered stdout would have taken two writes
        logger.warning("three")  # warnings go out at once, with what was held
        assert out.getvalue() == "one\ntwo\nthree\n"
        logger.info("x" * 120)  # past max_bytes: written without waiting for the interval
        assert out.getvalue().endswith("x" * 120 + "\n")
        logger.info("four")
        handler.close()  # closing writes the rest
        assert out.getvalue().endswith("four\n")
    finally:
        logger.handlers[:] = []


def test_the_timestamp_is_what_datetime_isoformat_writes() -> None:
    import random
    from datetime import UTC, datetime

    rng = random.Random(7)
    moments = [1765432101.0, 1765432101.9999996, 1765432101.0000004, 1765432101.5, 0.0, 1.0000005, 2.0000015]
    moments += [rng.uniform(0, 4e9) for _ in range(20000)]
    moments += [1765432101 + rng.randrange(1_000_000) / 1e6 for _ in range(20000)]  # one second, any microsecond
    for moment in moments:
        assert logs._iso(moment) == datetime.fromtimestamp(moment, tz=UTC).isoformat(), moment
