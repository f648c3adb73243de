"""The record store's query filters, applied to one record (the SQL store applies the same rules in SQL)."""

from __future__ import annotations

from typing import Any

import orjson

COLUMNS = ("provider", "catalog_slug", "gateway_key", "trace_id")
STATUS_CLASSES = {"1xx": 100, "2xx": 200, "3xx": 300, "4xx": 400, "5xx": 500}


def matches(record: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether ``record`` passes ``filters`` (the same rules the SQL query applies)."""
    for key, wanted in filters.items():
        if wanted is None or wanted == "":
            continue
        if key == "status_class":
            low = STATUS_CLASSES.get(str(wanted))
            if low is None or not low <= int(record.get("status") or 0) < low + 100:
                return False
        elif key in COLUMNS:
            if record.get(key) != wanted:
                return False
        elif key == "model":
            if wanted not in (record.get("model_requested"), record.get("model_answered")):
                return False
        elif key == "metadata":
            name, _, value = str(wanted).partition("=")
            found = (record.get("metadata") or {}).get(name)
            if found is None or _text(found) != value:
                return False
        elif key == "since":
            if float(record.get("time") or 0) < float(wanted):
                return False
        elif key == "until" and float(record.get("time") or 0) > float(wanted):
            return False
    return True


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()
