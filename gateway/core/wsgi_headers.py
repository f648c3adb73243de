"""A request's headers read once from its WSGI environ, and kept there for every later reader.

The web layer, the observation and the catalog's key check each need the request headers; Werkzeug
rebuilds them from the environ on every iteration (a generator, a string rewrite per header). Here
they are built once per request (``items``: ``(Name, value)`` pairs as Werkzeug names them; ``lowered``:
a dict by lower-case name) and stored in the environ. The spelling of each environ key is worked out
once per process (a bounded table) instead of once per header per request.
"""

from __future__ import annotations

from typing import Any

ITEMS_KEY = "gateway.header_items"
LOWERED_KEY = "gateway.header_lowered"

#: environ key -> (Header-Name, header-name), or None when the key is not a request header.
_NAMES: dict[str, tuple[str, str] | None] = {}
_NAMES_CAP = 2048
_CONTENT = ("CONTENT_TYPE", "CONTENT_LENGTH")
_NOT_HEADERS = ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")


def _name(key: str) -> tuple[str, str] | None:
    if key.startswith("HTTP_"):
        if key in _NOT_HEADERS:
            return None
        title = key[5:].replace("_", "-").title()
    elif key in _CONTENT:
        title = key.replace("_", "-").title()
    else:
        return None
    return title, title.lower()


def _pairs(environ: dict[str, Any]) -> list[tuple[str, str, str]]:
    names = _NAMES
    out = []
    for key, value in environ.items():
        try:
            name = names[key]
        except KeyError:
            name = _name(key)
            if len(names) < _NAMES_CAP:
                names[key] = name
        if name is not None and (value or key not in _CONTENT):
            out.append((name[0], name[1], value))
    return out


def items(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's headers as ``(Name, value)`` pairs, in environ order (what ``request.headers.items()`` gives)."""
    found = environ.get(ITEMS_KEY)
    if found is None:
        triples = _pairs(environ)
        found = environ[ITEMS_KEY] = [(title, value) for title, _, value in triples]
        environ[LOWERED_KEY] = {lower: value for _, lower, value in triples}
    return found


def lowered(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name (the last value of a repeated header)."""
    found = environ.get(LOWERED_KEY)
    if found is None:
        items(environ)
        found = environ[LOWERED_KEY]
    return found
