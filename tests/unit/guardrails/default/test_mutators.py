"""The mutators (``gateway.guardrails.default.mutators``): addPrefix and regexReplace, table-driven
after the reference's ``plugins/default/default.test.ts``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.guardrails.contract import AFTER, BEFORE, CheckResult, HookContext
from tests.unit.guardrails.default.harness import after, before, check, run, user

# -- addPrefix ---------------------------------------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def prefixed(messages: list, params: dict, fn: str = "chatComplete", **extra: Any) -> CheckResult:
    return run("addPrefix", params, before({"model": "gpt-4", "messages": messages, **extra}, fn=fn))


def test_add_prefix_chat_user_message():
    result = prefixed(
        [SYSTEM, {"role": "user", "content": "Hello, how are you?"}], {"prefix": "IMPORTANT: ", "applyToRole": "user"}
    )
    check(
        result,
        True,
        data={
            "prefix": "IMPORTANT: ",
            "requestType": "chatComplete",
            "applyToRole": "user",
            "addToExisting": True,
            "onlyIfEmpty": False,
        },
    )
    assert result.transformed
    assert result.transformed_request["messages"][1]["content"] == "IMPORTANT: Hello, how are you?"
    assert result.transformed_request["messages"][0] == SYSTEM


@pytest.mark.parametrize(
    ("messages", "params", "fn", "expected"),
    [
        (
            [SYSTEM, {"role": "user", "content": "Hello!"}],
            {"prefix": "CRITICAL: ", "applyToRole": "system"},
            "chatComplete",
            [
                {"role": "system", "content": "CRITICAL: You are a helpful assistant."},
                {"role": "user", "content": "Hello!"},
            ],
        ),
        (
            [SYSTEM],
            {"prefix": "PREFIX: ", "applyToRole": "user"},
            "chatComplete",
            [SYSTEM, {"role": "user", "content": "PREFIX: "}],
        ),
        (
            [{"role": "user", "content": "Hello!"}],
            {"prefix": "SYSTEM PREFIX: ", "applyToRole": "system"},
            "chatComplete",
            [{"role": "system", "content": "SYSTEM PREFIX: "}, {"role": "user", "content": "Hello!"}],
        ),
        (
            [SYSTEM, {"role": "user", "content": "Hello!"}],
            {"prefix": "PREFIX: ", "addToExisting": False},
            "chatComplete",
            [SYSTEM, {"role": "user", "content": "PREFIX: "}, {"role": "user", "content": "Hello!"}],
        ),
        (
            [{"role": "user", "content": ""}],
            {"prefix": "PREFIX: ", "onlyIfEmpty": True},
            "chatComplete",
            [{"role": "user", "content": "PREFIX: "}],
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": "Hello, Claude!"}]}],
            {"prefix": "IMPORTANT: "},
            "messages",
            [{"role": "user", "content": [{"type": "text", "text": "IMPORTANT: Hello, Claude!"}]}],
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "First block"}, {"type": "text", "text": "Second"}],
                }
            ],
            {"prefix": "PREFIX: "},
            "messages",
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "PREFIX: First block"}, {"type": "text", "text": "Second"}],
                }
            ],
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/i.jpg"}},
                        {"type": "text", "text": "What is in this image?"},
                    ],
                }
            ],
            {"prefix": "Analyze carefully: "},
            "messages",
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Analyze carefully: "},
                        {"type": "image_url", "image_url": {"url": "https://example.com/i.jpg"}},
                        {"type": "text", "text": "What is in this image?"},
                    ],
                }
            ],
        ),
        (
            [],
            {"prefix": "User instruction: "},
            "messages",
            [{"role": "user", "content": [{"type": "text", "text": "User instruction: "}]}],
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": "Original message"}]}],
            {"prefix": "Prefix message", "addToExisting": False},
            "messages",
            [
                {"role": "user", "content": [{"type": "text", "text": "Prefix message"}]},
                {"role": "user", "content": [{"type": "text", "text": "Original message"}]},
            ],
        ),
        (
            [
                {"role": "user", "content": "First message"},
                {"role": "assistant", "content": "Response"},
                {"role": "user", "content": "Second message"},
            ],
            {"prefix": "PREFIX: "},
            "chatComplete",
            [
                {"role": "user", "content": "PREFIX: First message"},
                {"role": "assistant", "content": "Response"},
                {"role": "user", "content": "Second message"},
            ],
        ),
        (
            [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there!"}],
            {"prefix": "As an AI assistant: ", "applyToRole": "assistant"},
            "chatComplete",
            [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "As an AI assistant: Hi there!"}],
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": "Hello!"}], "metadata": {"custom": "value"}}],
            {"prefix": "PREFIX: "},
            "messages",
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "PREFIX: Hello!"}],
                    "metadata": {"custom": "value"},
                }
            ],
        ),
        ([{"role": "user", "content": "Hi"}], {"prefix": "P: "}, "responses", [{"role": "user", "content": "P: Hi"}]),
    ],
)
def test_add_prefix_chat(messages, params, fn, expected):
    original = json.dumps(messages)
    result = prefixed(messages, params, fn=fn)
    check(result, True)
    assert result.transformed_request["messages"] == expected
    assert result.transformed_request["model"] == "gpt-4" and json.dumps(messages) == original


def test_add_prefix_only_if_empty_leaves_content_alone():
    for content in ("Existing content", [{"type": "text", "text": "Existing content"}]):
        result = prefixed([{"role": "user", "content": content}], {"prefix": "PREFIX: ", "onlyIfEmpty": True})
        check(result, True, onlyIfEmpty=True)
        assert result.transformed_request is None


def test_add_prefix_completion_and_skips():
    complete = run(
        "addPrefix",
        {"prefix": "IMPORTANT: "},
        before({"model": "gpt-3.5-turbo-instruct", "prompt": "Write a story about a dog."}, fn="complete"),
    )
    check(complete, True, requestType="complete")
    assert complete.transformed_request["prompt"] == "IMPORTANT: Write a story about a dog."
    listed = run("addPrefix", {"prefix": "P: "}, before({"prompt": ["a", "b"]}, fn="complete"))
    assert listed.transformed_request["prompt"] == ["P: a", "b"]
    hello = {"model": "gpt-4", "messages": [{"role": "user", "content": "Hello!"}]}
    for context in (
        HookContext(AFTER, "chatComplete", hello, {"choices": []}),
        before({"model": "ada", "input": "Hello world"}, fn="embed"),
    ):
        skipped = run("addPrefix", {"prefix": "PREFIX: "}, context)
        check(skipped, True, data=None)
        assert not skipped.transformed


@pytest.mark.parametrize(
    ("params", "request_json", "message"),
    [
        ({}, {"messages": [{"role": "user", "content": "Hi"}]}, "Prefix parameter is required and must be a string"),
        (
            {"prefix": 123},
            {"messages": [{"role": "user", "content": "Hello!"}]},
            "Prefix parameter is required and must be a string",
        ),
        ({"prefix": "PREFIX: "}, None, "Request JSON is empty or missing"),
    ],
)
def test_add_prefix_errors_keep_the_verdict(params, request_json, message):
    context = HookContext(BEFORE, "chatComplete", request_json, None)
    result = run("addPrefix", params, context)
    check(result, True, error=message, data=None)
    assert not result.transformed


# -- regexReplace ------------------------------------------------------------------------------------

PHONE_TEXT = "Call 555-1234 or 555-9876."


@pytest.mark.parametrize(
    ("rule", "redact", "expected"),
    [
        (r"\d{3}-\d{4}", None, "Call [REDACTED] or 555-9876."),
        (r"/\d{3}-\d{4}/g", None, "Call [REDACTED] or [REDACTED]."),
        (r"/(\d{3})-\d{4}/g", "$1-XXXX", "Call 555-XXXX or 555-XXXX."),
        (r"/CALL/i", "<$&>", "<Call> 555-1234 or 555-9876."),
        (r"/(?<area>\d{3})-\d{4}/g", "$<area>-****", "Call 555-**** or 555-****."),
    ],
)
def test_regex_replace_request(rule, redact, expected):
    params = {"rule": rule, **({"redactText": redact} if redact else {})}
    result = run("regexReplace", params, user(PHONE_TEXT))
    check(result, True, regexPattern=rule, verdict=True)
    assert result.transformed_request["messages"][-1]["content"] == expected
    assert result.data["explanation"].startswith(f"Pattern '{rule}' matched and was replaced with")


def test_regex_replace_parts_response_fail_on_detection_and_no_match():
    parts = [
        {"type": "text", "text": "mail a@b.co"},
        {"type": "image_url", "image_url": {"url": "u"}},
        {"type": "text", "text": "and c@d.co"},
    ]
    context = before({"messages": [{"role": "user", "content": parts}]})
    result = run("regexReplace", {"rule": r"/\S+@\S+/g", "redactText": "[EMAIL]"}, context)
    assert [p.get("text") for p in result.transformed_request["messages"][0]["content"]] == [
        "mail [EMAIL]",
        None,
        "and [EMAIL]",
    ]
    answer = run("regexReplace", {"rule": "secret", "failOnDetection": True}, after("the secret word"))
    check(answer, False, verdict=False)
    assert answer.transformed_response["choices"][0]["message"]["content"] == "the [REDACTED] word"
    untouched = run("regexReplace", {"rule": "zebra", "failOnDetection": True}, after("no match"))
    check(untouched, True, explanation="The regex pattern 'zebra' did not match any text.")
    assert not untouched.transformed
    prompt = run("regexReplace", {"rule": "/x/g"}, before({"prompt": ["axa", "b"]}, fn="complete"))
    assert prompt.transformed_request["prompt"] == ["a[REDACTED]a", "b"]


@pytest.mark.parametrize(
    ("params", "context", "message"),
    [
        ({"rule": "("}, user("text"), "Invalid regular expression"),
        ({"rule": "/a/gg"}, user("text"), "Invalid regex flags: gg"),
        ({"rule": ""}, user("text"), "Missing regex pattern"),
        ({"rule": "a"}, after(""), "Missing text to match"),
    ],
)
def test_regex_replace_errors_keep_the_verdict(params, context, message):
    result = run("regexReplace", params, context)
    check(result, True, error=message, regexPattern=params["rule"])
    assert result.data["explanation"].startswith("An error occurred while processing the regex: ")
