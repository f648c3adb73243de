"""JavaScript regular expressions on the ``regex`` engine (``gateway.guardrails.default.jsregex``)."""

from __future__ import annotations

import pytest

from gateway.guardrails.default.jsregex import JSRegex, parse_literal, translate

# -- JavaScript regex translation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "flags", "text", "match"),
    [
        (r"(?<word>\w+)\s\k<word>", "", "hey hey", "hey hey"),
        (r"\d+", "", "٣٤ 12", "12"),  # JavaScript \d is ASCII
        (r"\bcaf\b", "", "café", "caf"),  # so is \b
        (r"a$", "", "a\n", None),  # $ is the end of the input
        (r"^b", "m", "a\rb", "b"),
        (r"a.c", "", "a\rc", None),
        (r"a.c", "s", "a\rc", "a\rc"),
        (r"[^]+", "", "x\ny", "x\ny"),
        (r"x[]", "", "x", None),
        (r"\e\/", "", "e/", "e/"),
        (r"x{,2}", "", "x{,2}", "x{,2}"),
        (r"\uD83D\uDE00", "", "😀", "😀"),
        (r"\u{1F600}", "u", "😀", "😀"),
        (r"\p{Lu}+", "u", "abcDEF", "DEF"),
        (r"hello", "i", "HeLLo", "HeLLo"),
        (r"[\w-]+", "", "ab-c d", "ab-c"),
        (r"\s", "", "a\ufeffb", "\ufeff"),
    ],
)
def test_js_regex(pattern, flags, text, match):
    found = JSRegex(pattern, flags).first(text)
    assert (found.group(0) if found else None) == match, translate(pattern, flags)


def test_js_regex_replace_semantics():
    assert JSRegex("x*", "g").replace("abc", "-") == ("-a-b-c-", 4)
    assert JSRegex("a", "gy").replace("aaba", "-") == ("--ba", 2)
    assert parse_literal("/a/b/g").source == "a/b"
    assert parse_literal("a/b").source == "a/b"
