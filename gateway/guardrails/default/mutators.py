"""Mutating checks of the default plugin: addPrefix and regexReplace.

Facts from the reference (``plugins/default/addPrefix.ts``, ``regexReplace.ts``): addPrefix
works before the request only, on chat and completion requests (anything else passes
untouched). Chat: the first message with ``applyToRole`` (default ``user``) gets the prefix in
front of its text (a string, or the first part when it is a text part, else a new text part is
put first); with ``addToExisting: false`` a new message holding the prefix is inserted before
it; with ``onlyIfEmpty: true`` a non-empty message is left alone; without such a message a new
one is added (first for ``system``, last otherwise; Anthropic-format requests get a text-part
list). Completion: the prompt (or its first element) is prefixed. Its errors keep the verdict
true. regexReplace replaces matches of ``rule`` (a JavaScript regex, ``/pattern/flags``
accepted; without ``g`` only the first match of each text piece is replaced, as in JavaScript)
with ``redactText`` (default ``[REDACTED]``, ``$&`` / ``$1`` expanded) in every text piece of
the content under test; with ``failOnDetection`` a match fails the check.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from gateway.guardrails.contract import BEFORE, CheckIO, CheckResult, HookContext
from gateway.guardrails.default.common import content_part, flag, js_str, rewritten, truthy
from gateway.guardrails.default.jsregex import JSRegexError, parse_literal

CHAT_FNS = frozenset({"chatComplete", "messages", "responses"})


def _prefixed(prefix: str, content: Any) -> Any:
    """Return message content with ``prefix`` in front of its text."""
    if content is None or isinstance(content, str):
        return f"{prefix}{content or ''}"
    if isinstance(content, list):
        first = content[0] if content else None
        if isinstance(first, Mapping) and first.get("type") == "text":
            return [{**first, "text": f"{prefix}{first.get('text') or ''}"}, *content[1:]]
        return [{"type": "text", "text": prefix}, *content]
    return f"{prefix}{js_str(content)}"


def _chat(context: HookContext, prefix: str, role: str, add_to_existing: bool, only_if_empty: bool) -> dict | None:
    """Return the prefixed chat request, or None when it stays as it is."""
    request = copy.deepcopy(context.request_json)
    messages = request.get("messages") if isinstance(request.get("messages"), list) else []
    new_message = {"role": role, "content": [{"type": "text", "text": prefix}] if context.fn == "messages" else prefix}
    index = next((i for i, m in enumerate(messages) if isinstance(m, Mapping) and m.get("role") == role), None)
    if index is None:
        if role == "system":
            messages.insert(0, new_message)
        else:
            messages.append(new_message)
    else:
        content = messages[index].get("content")
        empty = (isinstance(content, str) and not content.strip()) or (isinstance(content, list) and not content)
        if only_if_empty and not empty:
            return None
        if not add_to_existing:
            messages.insert(index, new_message)
        elif content is None and index == len(messages) - 1:
            return None
        else:
            messages[index] = {**messages[index], "content": _prefixed(prefix, content)}
    request["messages"] = messages
    return request


def _completion(context: HookContext, prefix: str) -> dict | None:
    """Return the request with the prompt (or its first element) prefixed, or None."""
    prompt = context.request_json.get("prompt")
    if not truthy(prompt):
        return None
    request = copy.deepcopy(context.request_json)
    if isinstance(prompt, list):
        if not isinstance(prompt[0], str):
            return None
        request["prompt"] = [f"{prefix}{prompt[0]}", *prompt[1:]]
    else:
        request["prompt"] = f"{prefix}{js_str(prompt)}"
    return request


def add_prefix(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Put ``prefix`` in front of the user's prompt or a message."""
    if context.event != BEFORE or context.fn not in CHAT_FNS | {"complete"}:
        return CheckResult(verdict=True)
    prefix = parameters.get("prefix")
    if not isinstance(prefix, str) or not prefix:
        return CheckResult(verdict=True, error="Prefix parameter is required and must be a string")
    if not isinstance(context.request_json, Mapping):
        return CheckResult(verdict=True, error="Request JSON is empty or missing")
    role = js_str(parameters.get("applyToRole") or "user")
    add_to_existing = parameters.get("addToExisting") is not False
    only_if_empty = parameters.get("onlyIfEmpty") is True
    if context.fn == "complete":
        request = _completion(context, prefix)
    else:
        request = _chat(context, prefix, role, add_to_existing, only_if_empty)
    return CheckResult(
        verdict=True,
        transformed_request=request,
        data={
            "prefix": prefix,
            "requestType": context.fn,
            "applyToRole": role,
            "addToExisting": add_to_existing,
            "onlyIfEmpty": only_if_empty,
        },
    )


def regex_replace(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Redact matches of ``rule`` in the content under test."""
    rule = parameters.get("rule")
    redact = js_str(parameters.get("redactText")) if truthy(parameters.get("redactText")) else "[REDACTED]"
    fail_on_detection = flag(parameters, "failOnDetection")
    content, texts = content_part(context)
    try:
        if not truthy(rule):
            raise ValueError("Missing regex pattern")
        if not truthy(content):
            raise ValueError("Missing text to match")
        pattern = parse_literal(js_str(rule))
        pieces: list[str | None] = []
        detected = False
        for text in texts:
            if not text or not isinstance(text, str):
                pieces.append(None)
                continue
            new, count = pattern.replace(text, redact)
            detected = detected or count > 0
            pieces.append(new)
    except (ValueError, JSRegexError) as exc:
        return CheckResult(
            verdict=True,
            error=str(exc),
            data={
                "explanation": f"An error occurred while processing the regex: {exc}",
                "regexPattern": rule,
            },
        )
    verdict = not (fail_on_detection and detected)
    data = {
        "regexPattern": rule,
        "verdict": verdict,
        "explanation": (
            f"Pattern '{rule}' matched and was replaced with '{redact}'"
            if detected
            else f"The regex pattern '{rule}' did not match any text."
        ),
    }
    if detected:
        return rewritten(context, pieces, verdict=verdict, data=data)
    return CheckResult(verdict=verdict, data=data)
