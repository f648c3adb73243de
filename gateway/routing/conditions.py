"""Evaluate conditional-routing queries against a request's metadata, params and URL.

A query is an object whose keys are dotted paths (``metadata.user.tier``, ``params.model``,
``url.pathname``; any depth) or the combinators ``$and`` / ``$or``. A plain value means
strict equality (``"1"`` is not ``1``); an operator object may use ``$eq $ne $gt $gte $lt
$lte $in $nin $regex``. Several keys in one object must all hold. Malformed queries raise
``RoutingError`` (rendered as a 400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from gateway.core.errors import BadRequest

_MISSING = object()
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class RoutingError(BadRequest):
    """A conditional strategy that cannot be evaluated or matched."""


def resolve(context: Mapping[str, Any], path: str) -> Any:
    """Return the value at dotted ``path`` in ``context``, or ``_MISSING``."""
    value: Any = context
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _strict_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _number(value: Any) -> float | None:
    """Parse like JavaScript's ``parseFloat``: a leading number, else None."""
    if isinstance(value, bool) or value is None or value is _MISSING:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _NUMBER.match(str(value))
    return float(match.group(0)) if match else None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RoutingError(f"Invalid $regex {pattern!r} in conditional query: {exc}") from None


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "$eq":
        return _strict_equal(actual, expected)
    if op == "$ne":
        return not _strict_equal(actual, expected)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        return {"$gt": left > right, "$gte": left >= right, "$lt": left < right, "$lte": left <= right}[op]
    if op in ("$in", "$nin"):
        if not isinstance(expected, list):
            raise RoutingError(f"{op} needs a list in a conditional query")
        found = any(_strict_equal(actual, item) for item in expected)
        return found if op == "$in" else not found
    if op == "$regex":
        if not isinstance(expected, str):
            raise RoutingError("$regex needs a string pattern in a conditional query")
        return actual is not _MISSING and _regex(expected).search(str(actual)) is not None
    raise RoutingError(f"Unknown operator {op} in conditional query")


def matches(query: Any, context: Mapping[str, Any]) -> bool:
    """Return whether ``context`` satisfies ``query``."""
    if not isinstance(query, Mapping):
        raise RoutingError("A conditional query must be an object")
    for key, expected in query.items():
        if key in ("$and", "$or"):
            if not isinstance(expected, list):
                raise RoutingError(f"{key} needs a list of queries")
            results = (matches(sub, context) for sub in expected)
            ok = all(results) if key == "$and" else any(results)
        elif key.startswith("$"):
            raise RoutingError(f"Unknown operator {key} in conditional query")
        else:
            actual = resolve(context, key)
            if isinstance(expected, Mapping) and expected and all(str(k).startswith("$") for k in expected):
                ok = all(_compare(op, actual, value) for op, value in expected.items())
            else:
                ok = _strict_equal(actual, expected)
        if not ok:
            return False
    return True


_COMPARISONS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex"})


def query_problem(query: Any) -> tuple[tuple, str] | None:
    """Return ``(path within the query, message)`` for the first malformed part of ``query``, or None."""
    if not isinstance(query, Mapping):
        return (), "A conditional query must be an object"
    for key, expected in query.items():
        if key in ("$and", "$or"):
            if not isinstance(expected, list) or not expected:
                return (key,), f"{key} needs a non-empty list of queries"
            for i, sub in enumerate(expected):
                problem = query_problem(sub)
                if problem is not None:
                    return (key, i) + problem[0], problem[1]
        elif key.startswith("$"):
            return (key,), f"Unknown operator {key}"
        elif isinstance(expected, Mapping) and expected and all(str(k).startswith("$") for k in expected):
            for op, value in expected.items():
                if op not in _COMPARISONS:
                    return (key, op), f"Unknown operator {op}"
                if op in ("$in", "$nin") and not isinstance(value, list):
                    return (key, op), f"{op} needs a list"
                if op == "$regex":
                    if not isinstance(value, str):
                        return (key, op), "$regex needs a string pattern"
                    try:
                        _regex(value)
                    except RoutingError as exc:
                        return (key, op), exc.message
    return None


def choose(conditions: list[dict[str, Any]], default: str | None, context: Mapping[str, Any]) -> str:
    """Return the target name of the first matching condition, else ``default``."""
    for condition in conditions:
        if matches(condition["query"], context):
            return condition["then"]
    if default is None:
        raise RoutingError("Query router did not resolve to any valid target")
    return default
