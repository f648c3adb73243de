"""The content checks (``gateway.guardrails.default.content``): contains, containsCode and notNull,
table-driven after the reference's ``plugins/default/default.test.ts``.
"""

from __future__ import annotations

import pytest

from gateway.guardrails.contract import AFTER, HookContext
from tests.unit.guardrails.default.harness import CHAT_REQUEST, after, check, run

# -- contains ---------------------------------------------------------------------------------------

SOME_TEXT = "adding some text before this word1 and adding some text after"


@pytest.mark.parametrize(
    ("text", "words", "operator", "verdict", "explanation", "found", "missing"),
    [
        (
            SOME_TEXT,
            ["word1", "word2"],
            "any",
            True,
            "Check passed for 'any' words. At least one word was found.",
            ["word1"],
            ["word2"],
        ),
        (
            SOME_TEXT,
            ["word1", "word2"],
            "all",
            False,
            "Check failed for 'all' words. Some words were missing.",
            ["word1"],
            ["word2"],
        ),
        (
            SOME_TEXT,
            ["word2", "word3"],
            "none",
            True,
            "Check passed for 'none' words. No words were found.",
            [],
            ["word2", "word3"],
        ),
        ("some text", [], "any", False, "Check failed for 'any' words. No words were found.", [], []),
        (
            "Adding some TEXT before this Word1 and adding some text after",
            ["text", "word1"],
            "all",
            False,
            "Check failed for 'all' words. Some words were missing.",
            ["text"],
            ["word1"],
        ),
        (SOME_TEXT, ["word1"], "none", False, "Check failed for 'none' words. Some words were found.", ["word1"], []),
        (SOME_TEXT, ["word1"], "all", True, "Check passed for 'all' words. All words were found.", ["word1"], []),
    ],
)
def test_contains(text, words, operator, verdict, explanation, found, missing):
    result = run("contains", {"words": words, "operator": operator, "not": False}, after(text))
    check(
        result,
        verdict,
        data={"explanation": explanation, "foundWords": found, "missingWords": missing, "operator": operator},
    )


# -- containsCode -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt", "inverted", "verdict", "explanation", "found"),
    [
        ('```py\nprint("Hello World")\n```', "Python", False, True, "Found code block(s) in Python format", ["Python"]),
        (
            '```js\nconsole.log("Hello");\n```',
            "Python",
            False,
            False,
            "No code blocks in Python format found",
            ["JavaScript"],
        ),
        ("This is just plain text", "Python", False, False, "No code blocks found in the text", []),
        ("This is just plain text", "Python", True, True, "No code blocks found in the text", []),
        (
            '```py\nprint("Hello")\n```\n```js\nconsole.log("Hi");\n```',
            "Python",
            False,
            True,
            "Found code block(s) in Python format",
            ["Python", "JavaScript"],
        ),
        ("```js\nx\n```", "Python", True, True, "No code blocks in Python format found as expected", ["JavaScript"]),
        (
            "```sql\nSELECT 1\n```",
            "SQL",
            True,
            False,
            "Found code block(s) in SQL format when none were expected",
            ["SQL"],
        ),
    ],
)
def test_contains_code(text, fmt, inverted, verdict, explanation, found):
    result = run("containsCode", {"format": fmt, "not": inverted}, after(text))
    check(
        result,
        verdict,
        data={
            "explanation": explanation,
            "searchedFormat": fmt,
            "not": inverted,
            "foundFormats": found,
            "textExcerpt": text,
        },
    )


def test_contains_code_errors():
    text = '```py\nprint("Hello")\n```'
    check(
        run("containsCode", {}, after(text)),
        False,
        error="Missing required parameter: format",
        data={
            "explanation": "Error while checking for code blocks: Missing required parameter: format",
            "searchedFormat": None,
            "not": False,
            "textExcerpt": text,
        },
    )
    check(
        run("containsCode", {"format": "Python"}, after("")),
        False,
        error="No text content to analyze",
        data={
            "explanation": "Error while checking for code blocks: No text content to analyze",
            "searchedFormat": "Python",
            "not": False,
            "textExcerpt": "No text available",
        },
    )


# -- notNull ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "inverted", "verdict", "is_null"),
    [
        (after("Hello! How can I help you?"), False, True, False),
        (after(None), False, False, True),
        (after(""), False, False, True),
        (after("   "), False, False, True),
        (after(None), True, True, True),
        (after("Hello!"), True, False, False),
        (after("Generated text response", fn="complete"), False, True, False),
        (after(None, fn="complete"), False, False, True),
        (after([{"type": "text", "text": "Hello from Claude!"}]), False, True, False),
        (after([]), False, False, True),
        (HookContext(AFTER, "chatComplete", CHAT_REQUEST, None), False, False, True),
    ],
)
def test_not_null(context, inverted, verdict, is_null):
    result = run("notNull", {"not": inverted} if inverted else {}, context)
    check(result, verdict, isNull=is_null, verdict="passed" if verdict else "failed")
    phrase = "null, undefined, or empty" if is_null else "exists and is not null"
    assert phrase in result.data["explanation"]
