"""Keep secrets out of what the gateway logs: request and response bodies, error messages.

``redact(text, known)`` replaces, in order: the exact secret strings the request carried
(``known``: its provider key, gateway key, authorization headers), the values of JSON fields and
``name=value`` pairs whose name says secret (``api_key``, ``authorization``, ``password``,
``token``, ``secret``, ...), bearer tokens, and strings shaped like well-known credentials (OpenAI
and Anthropic ``sk-`` keys, AWS access key ids, Google API keys, JWTs, PEM private keys).
``truncate`` caps a body at a number of characters and says how much was cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[REDACTED]"

_NAMES = (
    r"(?:[a-z0-9_-]*(?:api[_-]?key|secret|password|passwd|token|credential|private[_-]?key|"
    r"access[_-]?key(?:[_-]?id)?|session[_-]?key|authorization|auth))"
)
_JSON_FIELD = re.compile(r'("' + _NAMES + r'"\s*:\s*")((?:[^"\\]|\\.)*)(")', re.IGNORECASE)
_PAIR = re.compile(r"(\b" + _NAMES + r"\s*[=:]\s*(?:(?:bearer|basic)\s+)?)([^\s&,;\"']+)", re.IGNORECASE)
_BEARER = re.compile(r"(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
_SHAPES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\bAIza[0-9A-Za-z_-]{30,}"
    r"|\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+",
    re.DOTALL,
)


def redact(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every secret replaced by ``[REDACTED]``."""
    for secret in sorted({s for s in known if s and len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _JSON_FIELD.sub(lambda m: m.group(1) + (MASK if m.group(2) else "") + m.group(3), text)
    text = _PAIR.sub(lambda m: m.group(1) + MASK, text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _SHAPES.sub(MASK, text)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a note of how many were dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"...[truncated {len(text) - limit} chars]"


def body_text(raw: bytes | str | None, limit: int, known: Iterable[str] = ()) -> str | None:
    """A body as logged: decoded, redacted, then truncated (redacting first so no cut secret survives)."""
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) <= limit:
        return redact(text, known)
    # The regexes see a little more than is kept, never a whole huge body.
    return redact(text[: limit + 4096], known)[:limit] + f"...[truncated {len(text) - limit} chars]"
