"""Helpers shared by the default guardrail checks.

The reference checks are JavaScript: parameters are tested for truthiness (``[]`` and ``{}``
are true, ``0`` and ``""`` false), numbers print without a trailing ``.0``, and text excerpts
are the first 100 characters plus ``...``. ``content_part`` is the reference's
``getCurrentContentPart``: the raw content under test (the last request message's content,
the prompt, the embedding input, or the first choice's content or text) and its text pieces
(one per content part); ``with_texts`` writes rewritten pieces back into a copy of the request
or the response (a piece that is empty or ``None`` leaves its part unchanged).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Any

from gateway.guardrails.contract import BEFORE, CheckResult, HookContext

NO_TEXT = "No text available"


def truthy(value: Any) -> bool:
    """Return JavaScript's truthiness of a JSON value."""
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def flag(parameters: Mapping[str, Any], name: str) -> bool:
    """Read a boolean parameter the way the reference does (``parameters.x || false``)."""
    return truthy(parameters.get(name))


def is_number(value: Any) -> bool:
    """Whether ``typeof value === 'number'``."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    """Whether ``Number.isInteger(value)``."""
    return is_number(value) and (isinstance(value, int) or (math.isfinite(value) and float(value).is_integer()))


def number(value: Any) -> Any:
    """Return a number as JavaScript would hold it (``5.0`` becomes ``5``); other values unchanged."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def js_str(value: Any) -> str:
    """Return ``String(value)`` for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(number(value))
    if isinstance(value, list):
        return ",".join("" if v is None else js_str(v) for v in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


#: JavaScript's ``\\s`` and ``trim()`` set.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_SPACES = re.compile(f"[{JS_WHITESPACE}]+")
_PY_ONLY_SPACES = re.compile("[\x1c-\x1f\x85]")


def js_word_count(text: str) -> int:
    """Return ``text.trim().split(/\\s+/).length``."""
    text = text.strip(JS_WHITESPACE)
    if _PY_ONLY_SPACES.search(text):
        return len(_JS_SPACES.split(text))
    return max(1, len(text.replace("\ufeff", " ").split()))


def utf16_len(text: str) -> int:
    """Return JavaScript's ``text.length`` (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def excerpt(text: str) -> str:
    """Return the reference's text excerpt."""
    return text[:100] + "..." if len(text) > 100 else text


def error_excerpt(text: str | None) -> str:
    """Return the excerpt used in error data (``No text available`` when empty)."""
    return excerpt(text) if text else NO_TEXT


def phrase(verdict: bool, inverted: bool, passed_inverted: str, passed: str, failed_inverted: str, failed: str) -> str:
    """Pick the explanation for the verdict and the ``not`` setting."""
    if verdict:
        return passed_inverted if inverted else passed
    return failed_inverted if inverted else failed


def error(message: str, data: dict[str, Any] | None, verdict: bool = False) -> CheckResult:
    """Return an erroring result (the hook engine applies ``failOnError``)."""
    return CheckResult(verdict=verdict, data=data, error=message)


# -- the content under test -----------------------------------------------------------------------


def _piece(item: Any) -> Any:
    return (item.get("text") or "") if isinstance(item, Mapping) else item


def content_part(context: HookContext) -> tuple[Any, list[Any]]:
    """Return the raw content under test and its text pieces."""
    if context.event == BEFORE:
        request = context.request_json or {}
        key = {"complete": "prompt", "embed": "input"}.get(context.fn)
        if key is not None:
            content = request.get(key)
            return content, list(content) if isinstance(content, list) else [content]
        messages = request.get("messages") or []
        if not messages or not isinstance(messages[-1], Mapping):
            return None, []
        content = messages[-1].get("content")
    else:
        choices = (context.response_json or {}).get("choices") or []
        if not choices or not isinstance(choices[0], Mapping):
            return None, []
        if context.fn == "complete":
            content = choices[0].get("text")
            return content, [content]
        content = (choices[0].get("message") or {}).get("content")
    if isinstance(content, list):
        return content, [_piece(item) for item in content]
    return content, [content]


def _merge(content: Any, texts: list[Any]) -> Any:
    if isinstance(content, list):
        merged = []
        for i, item in enumerate(content):
            new = texts[i] if i < len(texts) else None
            if isinstance(item, Mapping):
                merged.append({**item, "text": new} if new else item)
            else:
                merged.append(new or item)
        return merged
    return (texts[0] if texts else None) or content


def with_texts(context: HookContext, texts: list[Any]) -> dict[str, Any]:
    """Return a copy of the request (before) or response (after) with its text pieces replaced."""
    if context.event == BEFORE:
        out = copy.deepcopy(context.request_json or {})
        key = {"complete": "prompt", "embed": "input"}.get(context.fn)
        if key is not None:
            out[key] = _merge(out.get(key), texts)
        elif out.get("messages"):
            last = out["messages"][-1]
            last["content"] = _merge(last.get("content"), texts)
        return out
    out = copy.deepcopy(context.response_json or {})
    choices = out.get("choices") or []
    if choices:
        if context.fn == "complete":
            choices[0]["text"] = _merge(choices[0].get("text"), texts)
        else:
            message = choices[0].setdefault("message", {})
            message["content"] = _merge(message.get("content"), texts)
    return out


def rewritten(context: HookContext, texts: list[Any], **fields: Any) -> CheckResult:
    """Return a result carrying the rewritten request or response."""
    new = with_texts(context, texts)
    if context.event == BEFORE:
        return CheckResult(transformed_request=new, **fields)
    return CheckResult(transformed_response=new, **fields)
