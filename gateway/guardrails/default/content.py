"""Content checks of the default plugin: contains, notNull and containsCode.

Facts from the reference (``plugins/default/contains.ts``, ``notNull.ts``, ``containsCode.ts``):
``contains`` is a case-sensitive substring test of every word with the operator any, all or
none (no ``not``; an unknown operator fails); ``notNull`` fails when the content under test is
missing, blank, an empty list, or has only blank text pieces (``not`` inverts; a streamed
answer has none); ``containsCode`` looks for fenced code blocks with a language tag (```` ```py ````)
and maps the tag to the format name (``py`` → Python, ``js`` → JavaScript, …); with no code block
the verdict is ``not``.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.guardrails.contract import CheckIO, CheckResult, HookContext
from gateway.guardrails.default.common import content_part, error, error_excerpt, excerpt, flag, js_str, phrase, truthy

_CONTAINS_PASSED = {
    "any": " At least one word was found.",
    "all": " All words were found.",
    "none": " No words were found.",
}
_CONTAINS_FAILED = {
    "any": " No words were found.",
    "all": " Some words were missing.",
    "none": " Some words were found.",
}


def contains(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when any, all or none of the words occur in the text (case-sensitive)."""
    words = parameters.get("words")
    operator = parameters.get("operator")
    if not isinstance(words, list):
        message = "words.filter is not a function" if words is not None else "Cannot read properties of undefined"
        return error(message, {"explanation": "An error occurred while processing the text.", "error": message})
    text = context.text
    found = [w for w in words if js_str(w) in text]
    missing = [w for w in words if js_str(w) not in text]
    verdict = {"any": bool(found), "all": not missing, "none": not found}.get(operator, False)
    label = "undefined" if operator is None else js_str(operator)
    explanation = f"Check {'passed' if verdict else 'failed'} for '{label}' words."
    explanation += (_CONTAINS_PASSED if verdict else _CONTAINS_FAILED).get(operator, "")
    return CheckResult(
        verdict=verdict,
        data={
            "explanation": explanation,
            "foundWords": found,
            "missingWords": missing,
            "operator": operator,
        },
    )


def _js_type(value: Any) -> str:
    return "string" if isinstance(value, str) else "boolean" if isinstance(value, bool) else "number"


def not_null(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the content under test is present and not blank."""
    inverted = flag(parameters, "not")
    content, texts = content_part(context)
    is_null = (
        content is None
        or (isinstance(content, str) and not content.strip())
        or (isinstance(content, list) and not content)
        or all(not t or (isinstance(t, str) and not t.strip()) for t in texts)
    )
    verdict = is_null if inverted else not is_null
    kind = "null" if content is None else "object" if isinstance(content, (list, dict)) else _js_type(content)
    return CheckResult(
        verdict=verdict,
        data={
            "isNull": is_null,
            "contentType": kind,
            "textArrayLength": len(texts),
            "explanation": "Content is null, undefined, or empty." if is_null else "Content exists and is not null.",
            "verdict": "passed" if verdict else "failed",
        },
    )


_LANGUAGES = {
    "sql": "SQL",
    "py": "Python",
    "python": "Python",
    "gyp": "Python",
    "ts": "TypeScript",
    "tsx": "TypeScript",
    "typescript": "TypeScript",
    "js": "JavaScript",
    "jsx": "JavaScript",
    "javascript": "JavaScript",
    "java": "Java",
    "cs": "C#",
    "cpp": "C++",
    "c": "C",
    "rb": "Ruby",
    "php": "PHP",
    "swift": "Swift",
    "kt": "Kotlin",
    "go": "Go",
    "rs": "Rust",
    "scala": "Scala",
    "r": "R",
    "pl": "Perl",
    "sh": "Shell",
    "html": "HTML",
    "css": "CSS",
    "xml": "XML",
    "json": "JSON",
    "yml": "YAML",
    "md": "Markdown",
    "dockerfile": "Dockerfile",
}
_CODE_BLOCK = re.compile(r"```([A-Za-z0-9_]+)\n[\s\S]*?\n```")


def contains_code(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when a fenced code block tagged with the format's language is present."""
    fmt = parameters.get("format")
    inverted = flag(parameters, "not")
    text = context.text
    failure = None if text else "No text content to analyze"
    if not truthy(fmt):
        failure = "Missing required parameter: format"
    if failure:
        return error(
            failure,
            {
                "explanation": f"Error while checking for code blocks: {failure}",
                "searchedFormat": fmt,
                "not": inverted,
                "textExcerpt": error_excerpt(text),
            },
        )
    found = [_LANGUAGES.get(tag.lower(), tag.lower()) for tag in _CODE_BLOCK.findall(text)]
    if not found:
        return CheckResult(
            verdict=inverted,
            data={
                "explanation": "No code blocks found in the text",
                "searchedFormat": fmt,
                "not": inverted,
                "foundFormats": [],
                "textExcerpt": excerpt(text),
            },
        )
    verdict = (fmt in found) != inverted
    return CheckResult(
        verdict=verdict,
        data={
            "explanation": phrase(
                verdict,
                inverted,
                f"No code blocks in {fmt} format found as expected",
                f"Found code block(s) in {fmt} format",
                f"Found code block(s) in {fmt} format when none were expected",
                f"No code blocks in {fmt} format found",
            ),
            "searchedFormat": fmt,
            "not": inverted,
            "foundFormats": found,
            "textExcerpt": excerpt(text),
        },
    )
