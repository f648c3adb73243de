"""The helpers the default checks share (``gateway.guardrails.default.common``).

The reference checks are JavaScript, so the expected values are JavaScript's: ``Boolean(x)``,
``String(x)``, ``Number.isInteger(x)``, ``text.trim().split(/\\s+/).length`` and ``text.length``
(UTF-16 code units). The content under test is the reference's ``getCurrentContentPart``.
"""

from __future__ import annotations

import copy
import math

import pytest

from gateway.guardrails.contract import AFTER, BEFORE, HookContext
from gateway.guardrails.default.common import (
    content_part,
    error_excerpt,
    excerpt,
    is_integer,
    js_str,
    js_word_count,
    number,
    rewritten,
    truthy,
    utf16_len,
    with_texts,
)

PARTS = [
    {"type": "text", "text": "one"},
    {"type": "image_url", "image_url": {"url": "https://example.com/i.png"}},
    {"type": "text", "text": "two"},
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (0, False),
        (0.0, False),
        (math.nan, False),
        ("", False),
        (True, True),
        (-1, True),
        ("0", True),
        ("false", True),
        ([], True),
        ({}, True),
    ],
)
def test_truthy_is_javascript_truthiness(value, expected):
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (5.0, "5"),
        (1.5, "1.5"),
        (7, "7"),
        ("text", "text"),
        ([1, None, "a"], "1,,a"),
        ([1, [2, 3]], "1,2,3"),
        ({"a": 1}, "[object Object]"),
    ],
)
def test_js_str_is_javascript_string_conversion(value, expected):
    assert js_str(value) == expected


def test_numbers_as_javascript_holds_them():
    assert number(5.0) == 5 and isinstance(number(5.0), int)
    assert number(5.5) == 5.5 and number("5") == "5" and number(math.inf) == math.inf
    assert is_integer(5) and is_integer(5.0)
    assert not is_integer(5.5) and not is_integer(math.inf) and not is_integer(True) and not is_integer("5")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 1),  # "".split(/\s+/) is [""]
        ("one", 1),
        ("  one  two  ", 2),
        ("one\u00a0two", 2),  # no-break space is JavaScript whitespace
        ("one\u2028two", 2),
        ("one\u200btwo", 1),  # zero-width space is not
        ("one\x1ftwo", 1),  # nor is a unit separator, which Python's split() would split on
    ],
)
def test_js_word_count(text, words):
    assert js_word_count(text) == words


def test_lengths_and_excerpts():
    assert utf16_len("abc") == 3 and utf16_len("é") == 1 and utf16_len("😀") == 2
    assert excerpt("a" * 100) == "a" * 100
    assert excerpt("a" * 101) == "a" * 100 + "..."
    assert error_excerpt("") == error_excerpt(None) == "No text available"
    assert error_excerpt("short") == "short"


@pytest.mark.parametrize(
    ("context", "content", "pieces"),
    [
        (
            HookContext(BEFORE, "chatComplete", {"messages": [{"role": "user", "content": "a"}, {"content": "b"}]}),
            "b",
            ["b"],
        ),
        (HookContext(BEFORE, "chatComplete", {"messages": [{"content": PARTS}]}), PARTS, ["one", "", "two"]),
        (HookContext(BEFORE, "chatComplete", {"messages": []}), None, []),
        (HookContext(BEFORE, "complete", {"prompt": ["p", "q"]}), ["p", "q"], ["p", "q"]),
        (HookContext(BEFORE, "embed", {"input": "vector me"}), "vector me", ["vector me"]),
        (
            HookContext(AFTER, "chatComplete", {}, {"choices": [{"message": {"content": "x"}}, {"message": {}}]}),
            "x",
            ["x"],
        ),
        (HookContext(AFTER, "complete", {}, {"choices": [{"text": "done"}]}), "done", ["done"]),
        (HookContext(AFTER, "chatComplete", {}, {"choices": []}), None, []),
    ],
)
def test_content_part_is_the_content_under_test(context, content, pieces):
    assert content_part(context) == (content, pieces)


def test_with_texts_rewrites_a_copy_and_keeps_parts_without_new_text():
    request = {"model": "m", "messages": [{"role": "user", "content": "keep"}, {"role": "user", "content": PARTS}]}
    before = copy.deepcopy(request)
    context = HookContext(BEFORE, "chatComplete", request)
    out = with_texts(context, ["ONE", None, ""])
    assert out["messages"][1]["content"] == [{"type": "text", "text": "ONE"}, PARTS[1], PARTS[2]]
    assert out["messages"][0] == {"role": "user", "content": "keep"} and request == before
    assert with_texts(HookContext(BEFORE, "complete", {"prompt": ["a", "b"]}), ["A"])["prompt"] == ["A", "b"]
    answer = HookContext(AFTER, "chatComplete", request, {"choices": [{"message": {"content": "old"}}]})
    assert with_texts(answer, ["new"]) == {"choices": [{"message": {"content": "new"}}]}
    assert with_texts(answer, [""]) == {"choices": [{"message": {"content": "old"}}]}


def test_rewritten_carries_the_request_before_and_the_response_after():
    request = {"messages": [{"role": "user", "content": "a"}]}
    early = rewritten(HookContext(BEFORE, "chatComplete", request), ["b"], verdict=True)
    assert early.transformed_request == {"messages": [{"role": "user", "content": "b"}]}
    assert early.transformed_response is None and early.verdict is True
    late = rewritten(HookContext(AFTER, "complete", request, {"choices": [{"text": "a"}]}), ["b"], verdict=False)
    assert late.transformed_response == {"choices": [{"text": "b"}]} and late.transformed_request is None
