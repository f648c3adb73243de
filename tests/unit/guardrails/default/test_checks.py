"""The default guardrail checks (``gateway.guardrails.default.registry``), table-driven after the reference's
``plugins/default/default.test.ts``: same inputs, same verdicts, same explanations, plus the
``not`` inversions, the errors, the registry and config validation. Network checks run against
a fake ``CheckIO``; one test drives webhook and log through the gateway's own ``CheckIO`` to a
local HTTP server.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.guardrails.contract import AFTER, BEFORE, CheckResult, HookContext
from gateway.guardrails.default.jsregex import JSRegex, parse_literal, translate
from gateway.guardrails.default.registry import CHECKS, MUTATOR, validate_check

# -- fixtures ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"


def json_answer(value: Any, status: int = 200) -> Answer:
    return Answer(status, {"content-type": "application/json"}, json.dumps(value).encode())


class FakeIO:
    """A ``CheckIO`` answering from a table: url -> Answer, exception, or callable(url, payload)."""

    def __init__(self, routes: dict[str, Any] | None = None) -> None:
        self.routes = routes or {}
        self.calls: list[tuple[str, str, Any, dict, float]] = []
        self.store: dict[str, Any] = {}

    def _answer(self, method: str, url: str, payload: Any, headers: Any, timeout: float) -> Answer:
        self.calls.append((method, url, payload, dict(headers or {}), timeout))
        route = self.routes.get(url)
        if route is None:
            raise OSError(f"{method} {url} failed: connection refused")
        if isinstance(route, Exception):
            raise route
        return route(url, payload) if callable(route) else route

    def post_json(self, url, payload, headers, timeout):
        return self._answer("POST", url, payload, headers, timeout)

    def get(self, url, headers, timeout):
        return self._answer("GET", url, None, headers, timeout)

    def head(self, url, timeout):
        return self._answer("HEAD", url, None, {}, timeout)

    def cached(self, key, ttl, fetch):
        if key not in self.store:
            self.store[key] = fetch()
        return self.store[key]


CHAT_REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


def after(text: Any, fn: str = "chatComplete", **kw: Any) -> HookContext:
    """An after-request context whose answer is ``text``."""
    choice = {"text": text} if fn == "complete" else {"message": {"role": "assistant", "content": text}}
    return HookContext(AFTER, fn, kw.pop("request", CHAT_REQUEST), {"choices": [choice]}, **kw)


def before(request: dict[str, Any] | None = None, fn: str = "chatComplete", **kw: Any) -> HookContext:
    return HookContext(BEFORE, fn, request if request is not None else CHAT_REQUEST, None, **kw)


def user(text: str) -> HookContext:
    return before({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})


def run(name: str, parameters: dict[str, Any], context: HookContext, io: Any = None) -> CheckResult:
    return CHECKS[name].run(context, parameters, io or FakeIO())


def check(result: CheckResult, expected: bool, /, error: str | None = None, data: dict | None = None, **subset: Any):
    assert result.verdict is expected, result
    if error is None:
        assert result.error is None, result.error
    else:
        assert result.error is not None and error in result.error, result.error
    if data is not None:
        assert result.data == data
    for key, value in subset.items():
        assert result.data[key] == value, (key, result.data)


FOX = "The quick brown fox jumps over the lazy dog."

# -- regexMatch -------------------------------------------------------------------------------------


def test_regex_match_simple():
    result = run("regexMatch", {"rule": "quick.*fox", "not": False}, after(FOX))
    check(result, True, textExcerpt=FOX)
    assert "successfully matched" in result.data["explanation"]
    assert result.data["matchDetails"]["matchedText"] == "quick brown fox"
    assert result.data["matchDetails"]["index"] == 4


@pytest.mark.parametrize(
    ("rule", "inverted", "verdict", "phrase"),
    [
        ("zebra", False, False, "did not match the text."),
        ("zebra", True, True, "did not match the text as expected."),
        ("quick", True, False, "matched the text when it should not have."),
    ],
)
def test_regex_match_verdicts(rule, inverted, verdict, phrase):
    result = run("regexMatch", {"rule": rule, "not": inverted}, after(FOX))
    check(result, verdict, **{"not": inverted})
    assert result.data["explanation"].endswith(phrase)
    if rule == "zebra":
        assert result.data["matchDetails"] is None


def test_regex_match_groups():
    plain = run("regexMatch", {"rule": "(quick) (brown) (fox)"}, after(FOX)).data["matchDetails"]
    assert plain["captures"] == ["quick", "brown", "fox"] and plain["groups"] == {}
    named = run("regexMatch", {"rule": "(?<adjective1>quick) (?<adjective2>brown) (?<animal>fox)"}, after(FOX))
    assert named.data["matchDetails"]["groups"] == {"adjective1": "quick", "adjective2": "brown", "animal": "fox"}


def test_regex_match_excerpt_and_errors():
    assert run("regexMatch", {"rule": "a"}, after("a" * 200)).data["textExcerpt"] == "a" * 100 + "..."
    bad = run("regexMatch", {"rule": "(", "not": False}, after(FOX))
    check(bad, False, error="Invalid regular expression")
    assert bad.data["explanation"].startswith("An error occurred")
    check(run("regexMatch", {"rule": ""}, after(FOX)), False, error="Missing regex pattern")
    empty = run("regexMatch", {"rule": "test"}, after(""))
    check(empty, False, error="Missing text to match", textExcerpt="No text available")
    assert "Missing text to match" in empty.data["explanation"]


def test_regex_match_request_text_is_last_message():
    context = before({"messages": [{"role": "user", "content": "secret"}, {"role": "user", "content": "fine"}]})
    check(run("regexMatch", {"rule": "secret"}, context), False)


# -- jsonSchema ---------------------------------------------------------------------------------------

KEY_SCHEMA = {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}
PROFILE_SCHEMA = {
    "type": "object",
    "properties": {
        "user": {
            "type": "object",
            "required": ["name", "contact", "preferences"],
            "properties": {
                "name": {"type": "string"},
                "contact": {
                    "type": "object",
                    "required": ["email", "phone"],
                    "properties": {
                        "email": {"type": "string", "format": "email"},
                        "phone": {
                            "type": "object",
                            "required": ["country", "number"],
                            "properties": {"country": {"type": "string"}, "number": {"type": "string"}},
                        },
                    },
                },
                "preferences": {
                    "type": "object",
                    "required": ["theme", "notifications"],
                    "properties": {
                        "theme": {"type": "string", "enum": ["light", "dark"]},
                        "notifications": {"type": "boolean"},
                    },
                },
            },
        }
    },
    "required": ["user"],
}
INTRO = (
    '{\n  "title": "The Rise of AI Agents: Transforming the Future",\n  "short_intro": "Artificial Intelligence'
    ' (AI) agents are revolutionizing various sectors."\n}'
)
TITLE_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "short_intro": {"type": "string"}},
    "required": ["title", "short_intro"],
}


@pytest.mark.parametrize(
    ("text", "schema", "inverted", "verdict", "explanation"),
    [
        (
            'adding some text before this ```json\n{"key": "value"}\n```\n and adding some text after {"key":"value"}',
            KEY_SCHEMA,
            False,
            True,
            "Successfully validated JSON against the provided schema.",
        ),
        ('{"key": "value"}', {"type": "object", "required": ["key2"]}, False, False, "Failed to validate"),
        ("```json\n" + INTRO + "\n```", TITLE_SCHEMA, False, True, "Successfully validated"),
        (INTRO, TITLE_SCHEMA, False, True, "Successfully validated"),
        (
            'before ```json\n{"key1": "value"}\n```\n and after {"key":"value',
            KEY_SCHEMA,
            False,
            False,
            "Failed to validate JSON against the provided schema.",
        ),
        ("This is just plain text with no JSON", KEY_SCHEMA, False, False, "No valid JSON found in the response."),
        ('{"key": 1}', KEY_SCHEMA, True, True, "Successfully validated JSON does not match the schema as expected."),
        ('{"key": "v"}', KEY_SCHEMA, True, False, "JSON matches the schema when it should not."),
    ],
)
def test_json_schema(text, schema, inverted, verdict, explanation):
    result = run("jsonSchema", {"schema": schema, "not": inverted}, after(text))
    check(result, verdict)
    assert explanation in result.data["explanation"]
    if "validated" in explanation or "Failed" in explanation:
        assert isinstance(result.data["validationErrors"], list)
    if "```json" in text and verdict:
        assert result.data["matchedJson"] in ({"key": "value"}, json.loads(INTRO))


def test_json_schema_nested_errors():
    good = (
        '```json\n{"user": {"name": "John Doe", "contact": {"email": "john@example.com", "phone": {"country": "+1",'
        ' "number": "555-0123"}}, "preferences": {"theme": "dark", "notifications": true}}}\n```\nThat is all.'
    )
    result = run("jsonSchema", {"schema": PROFILE_SCHEMA}, after("Here's a profile:\n" + good))
    check(result, True)
    assert result.data["matchedJson"]["user"]["contact"]["phone"] == {"country": "+1", "number": "555-0123"}
    bad = good.replace("john@example.com", "invalid-email").replace(', "number": "555-0123"', "")
    bad = bad.replace('"dark"', '"invalid-theme"').replace("true", '"not-a-boolean"')
    result = run("jsonSchema", {"schema": PROFILE_SCHEMA}, after(bad))
    check(result, False)
    errors = {e["path"]: e["message"] for e in result.data["validationErrors"]}
    assert "email" in errors["/user/contact/email"]
    assert "'number' is a required property" in errors["/user/contact/phone"]
    assert "['light', 'dark']" in errors["/user/preferences/theme"]
    assert "boolean" in errors["/user/preferences/notifications"]


def test_json_schema_errors_and_no_remote_refs():
    check(run("jsonSchema", {"schema": "nope"}, after("{}")), False, error="Missing or invalid JSON schema")
    check(run("jsonSchema", {"schema": {"type": 12}}, after('{"a": 1}')), False, error="Invalid JSON schema")
    io = FakeIO()
    remote = run("jsonSchema", {"schema": {"$ref": "http://127.0.0.1:9/x.json"}}, after('{"a": 1}'), io)
    check(remote, False, error="Unresolvable")
    assert io.calls == []


# -- jsonKeys ---------------------------------------------------------------------------------------

TWO_KEYS = '{"key1": "value1", "key2": "value2"}'


@pytest.mark.parametrize(
    ("keys", "operator", "verdict", "explanation", "present", "missing"),
    [
        (
            ["key1", "key3"],
            "any",
            True,
            "Successfully found at least one required key. Found keys: [key1].",
            ["key1"],
            ["key3"],
        ),
        (
            ["key1", "key2"],
            "all",
            True,
            "Successfully found all required keys. Found keys: [key1, key2].",
            ["key1", "key2"],
            [],
        ),
        (
            ["key3", "key4"],
            "none",
            True,
            "Successfully verified no required keys are present. Missing keys: [key3, key4].",
            [],
            ["key3", "key4"],
        ),
        (["key3"], "any", False, "Failed to find any required keys. Missing keys: [key3].", [], ["key3"]),
        (["key1"], "none", False, "Found some keys that should not be present. Found keys: [key1].", ["key1"], []),
    ],
)
def test_json_keys(keys, operator, verdict, explanation, present, missing):
    result = run("jsonKeys", {"keys": keys, "operator": operator, "not": False}, after(TWO_KEYS))
    check(
        result,
        verdict,
        data={
            "matchedJson": {"key1": "value1", "key2": "value2"} if verdict or present else None,
            "verdict": verdict,
            "explanation": explanation,
            "presentKeys": present,
            "missingKeys": missing,
            "operator": operator,
            "textExcerpt": TWO_KEYS,
        },
    )


def test_json_keys_blocks_best_match_and_errors():
    block = run("jsonKeys", {"keys": ["key1"], "operator": "any"}, after("```json\n" + TWO_KEYS + "\n```"))
    check(block, True, matchedJson={"key1": "value1", "key2": "value2"}, presentKeys=["key1"])
    text = '{"key1": "value1"} {"key2": "value2", "key3": "value3"}'
    best = run("jsonKeys", {"keys": ["key2", "key3"], "operator": "all"}, after(text))
    check(best, True, matchedJson={"key2": "value2", "key3": "value3"}, presentKeys=["key2", "key3"])
    check(
        run("jsonKeys", {"keys": ["key1"], "operator": "any"}, after("")),
        False,
        error="Missing text to analyze",
        data={
            "explanation": "An error occurred while processing JSON: Missing text to analyze",
            "operator": "any",
            "requiredKeys": ["key1"],
            "textExcerpt": "No text available",
        },
    )
    check(run("jsonKeys", {"operator": "any"}, after(TWO_KEYS)), False, error="Missing or invalid keys array")
    invalid = run("jsonKeys", {"keys": ["key1"], "operator": "invalid"}, after(TWO_KEYS))
    check(invalid, False, error='Invalid or missing operator (must be "any", "all", or "none")')
    plain = "This is just plain text with no JSON"
    check(
        run("jsonKeys", {"keys": ["key1"], "operator": "any"}, after(plain)),
        False,
        data={
            "explanation": "No valid JSON found in the text.",
            "requiredKeys": ["key1"],
            "operator": "any",
            "textExcerpt": plain,
        },
    )


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


# -- validUrls --------------------------------------------------------------------------------------


@pytest.fixture
def dns(monkeypatch):
    """Resolve example.com and google.com only."""

    def fake(host, *args, **kwargs):
        if host in ("example.com", "google.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    ("text", "verdict", "valid", "invalid", "explanation"),
    [
        (
            "Check out https://example.com and https://google.com",
            True,
            ["https://example.com", "https://google.com"],
            [],
            "All URLs are valid (2 found).",
        ),
        (
            "Check out https://invalid-domain-123456.com",
            False,
            [],
            ["https://invalid-domain-123456.com"],
            "Some URLs are invalid (1 of 1 failed).",
        ),
        (
            "Check out https://malformed.123 and http://this-is-definitely-invalid-12345.com/path?invalid=true#bad",
            False,
            [],
            ["https://malformed.123", "http://this-is-definitely-invalid-12345.com/path?invalid=true#bad"],
            "Some URLs are invalid (2 of 2 failed).",
        ),
        (
            "Check out https://example.com/path?param=1#section",
            True,
            ["https://example.com/path?param=1#section"],
            [],
            "All URLs are valid (1 found).",
        ),
        (
            "Valid: https://example.com Invalid: https://invalid-domain-123456.com",
            False,
            ["https://example.com"],
            ["https://invalid-domain-123456.com"],
            "Some URLs are invalid (1 of 2 failed).",
        ),
    ],
)
def test_valid_urls_dns(dns, text, verdict, valid, invalid, explanation):
    result = run("validUrls", {"onlyDNS": True, "not": False}, after(text))
    check(result, verdict, validationMethod="DNS lookup", validUrls=valid, invalidUrls=invalid, explanation=explanation)


def test_valid_urls_no_urls_empty_text_and_long_text(dns):
    check(
        run("validUrls", {"onlyDNS": False}, after("This text contains no URLs")),
        False,
        explanation="No URLs found in the text.",
        urls=[],
        validationMethod="HTTP request",
    )
    check(
        run("validUrls", {}, after("")),
        False,
        error="Missing text to analyze",
        textExcerpt="No text available",
        explanation="An error occurred while validating URLs: Missing text to analyze",
    )
    long_text = f"Here's a very long text {'-' * 200} with a URL https://example.com in the middle {'-' * 200}"
    result = run("validUrls", {"onlyDNS": True}, after(long_text))
    assert len(result.data["textExcerpt"]) == 103 and result.data["textExcerpt"].endswith("...")
    assert result.data["validUrls"] == ["https://example.com"]


def test_valid_urls_http_mode_redirects_refusals_and_not():
    io = FakeIO(
        {
            "https://example.com": Answer(200),
            "https://moved.example": Answer(301, {"Location": "/new"}),
            "https://moved.example/new": Answer(204),
            "https://gone.example": Answer(404),
            "https://10.0.0.1/x": ValueError("refused by the custom-host rules"),
        }
    )
    ok = run("validUrls", {}, after("See https://example.com, or https://moved.example."), io)
    check(ok, False, invalidUrls=["https://moved.example."], validationMethod="HTTP request")
    ok = run("validUrls", {}, after("See https://example.com and https://moved.example"), io)
    check(ok, True, validUrls=["https://example.com", "https://moved.example"], invalidUrls=[])
    assert ("HEAD", "https://moved.example/new") in [(c[0], c[1]) for c in io.calls]
    bad = run("validUrls", {"not": True}, after("https://gone.example https://10.0.0.1/x"), io)
    check(bad, True, explanation="All URLs are invalid as expected (2 of 2).")
    # as in the reference, ``not`` passes as soon as one URL is invalid
    mixed = run("validUrls", {"not": True}, after("https://gone.example https://example.com"), io)
    check(mixed, True, explanation="All URLs are invalid as expected (1 of 2).")
    fine = run("validUrls", {"not": True}, after("https://example.com"), io)
    check(fine, False, explanation="Some URLs are valid when they should all be invalid (1 of 1).")
    assert all(c[4] == 3.0 for c in io.calls)


# -- sentenceCount ----------------------------------------------------------------------------------

TWO_SENTENCES = "This is a sentence. This is another sentence."


@pytest.mark.parametrize(
    ("text", "low", "high", "inverted", "verdict", "count", "explanation"),
    [
        (TWO_SENTENCES, 1, 3, False, True, 2, "The sentence count (2) is within the specified range of 1 to 3."),
        (TWO_SENTENCES, 3, 4, False, False, 2, "The sentence count (2) is outside the specified range of 3 to 4."),
        ("", 1, 3, False, False, 0, "The sentence count (0) is outside the specified range of 1 to 3."),
        (
            TWO_SENTENCES,
            3,
            4,
            True,
            True,
            2,
            "The sentence count (2) is outside the specified range of 3 to 4 as expected.",
        ),
        (
            TWO_SENTENCES,
            1,
            3.0,
            True,
            False,
            2,
            "The sentence count (2) is within the specified range of 1 to 3 when it should not be.",
        ),
        ("Wait! Really? Yes.", 3, 3, False, True, 3, "The sentence count (3) is within the specified range of 3 to 3."),
    ],
)
def test_sentence_count(text, low, high, inverted, verdict, count, explanation):
    result = run("sentenceCount", {"minSentences": low, "maxSentences": high, "not": inverted}, after(text))
    check(
        result,
        verdict,
        data={
            "sentenceCount": count,
            "minCount": low,
            "maxCount": int(high),
            "not": inverted,
            "verdict": verdict,
            "explanation": explanation,
            "textExcerpt": text,
        },
    )


def test_sentence_count_long_text_and_missing_range():
    result = run("sentenceCount", {"minSentences": 1, "maxSentences": 30}, after("This is a sentence. " * 20))
    check(result, True)
    assert len(result.data["textExcerpt"]) == 103 and result.data["textExcerpt"].endswith("...")
    check(
        run("sentenceCount", {}, after("This is a sentence.")),
        False,
        error="Missing sentence count range",
        data={
            "explanation": "An error occurred: Missing sentence count range",
            "minCount": None,
            "maxCount": None,
            "not": False,
            "textExcerpt": "This is a sentence.",
        },
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


# -- wordCount / characterCount ---------------------------------------------------------------------

SEVEN = "This is a sentence with 7 words."


@pytest.mark.parametrize(
    ("low", "high", "inverted", "verdict", "phrase"),
    [
        (5, 8, False, True, "within the specified range of 5-8 words."),
        (10, 15, False, False, "outside the specified range of 10-15 words."),
        (10, 15, True, True, "outside the specified range of 10-15 words as expected."),
        (5.0, 8, True, False, "within the specified range of 5-8 words when it should not be."),
    ],
)
def test_word_count(low, high, inverted, verdict, phrase):
    result = run("wordCount", {"minWords": low, "maxWords": high, "not": inverted}, after(SEVEN))
    check(
        result,
        verdict,
        data={
            "wordCount": 7,
            "minWords": int(low),
            "maxWords": high,
            "not": inverted,
            "verdict": verdict,
            "explanation": f"The text contains 7 words, which is {phrase}",
            "textExcerpt": SEVEN,
        },
    )


@pytest.mark.parametrize(("text", "count"), [("a\ufeffb", 2), ("a\x85b", 1), ("  one\u3000two \n three\t", 3)])
def test_word_count_uses_javascript_whitespace(text, count):
    check(run("wordCount", {"minWords": 0, "maxWords": 9}, after(text)), True, wordCount=count)


def test_word_count_errors_and_long_text():
    result = run("wordCount", {"minWords": 40, "maxWords": 60}, after("word " * 50))
    check(result, True, wordCount=50)
    assert result.data["textExcerpt"].endswith("...")
    msg = "An error occurred while processing word count: "
    check(
        run("wordCount", {"minWords": 1, "maxWords": 5, "not": False}, after("")),
        False,
        error="Missing text to analyze",
        data={
            "explanation": msg + "Missing text to analyze",
            "minWords": 1,
            "maxWords": 5,
            "not": False,
            "textExcerpt": "No text available",
        },
    )
    check(
        run("wordCount", {"minWords": "invalid", "maxWords": 5}, after("This is a test.")),
        False,
        error="Invalid or missing word count range",
        data={
            "explanation": msg + "Invalid or missing word count range",
            "minWords": "invalid",
            "maxWords": 5,
            "not": False,
            "textExcerpt": "This is a test.",
        },
    )
    check(
        run("wordCount", {}, after("This is a test.")),
        False,
        error="Invalid or missing word count range",
        minWords=None,
        maxWords=None,
    )
    check(run("wordCount", {"minWords": 1.5, "maxWords": 5}, after("a b")), False, error="Invalid or missing")
    check(
        run("wordCount", {"minWords": 1, "maxWords": 10}, after("   \n\t   ")),
        False,
        error="Missing text to analyze",
        textExcerpt="   \n\t   ",
    )


@pytest.mark.parametrize(
    ("text", "low", "high", "inverted", "verdict", "count", "phrase"),
    [
        ("This is a test.", 10, 20, False, True, 15, "within the specified range of 10-20 characters."),
        (
            "This is a very long test that exceeds the limit.",
            10,
            20,
            False,
            False,
            48,
            "outside the specified range of 10-20 characters.",
        ),
        ("   \n\t   ", 1, 10, False, True, 8, "within the specified range of 1-10 characters."),
        (
            "This is a test.",
            10,
            20,
            True,
            False,
            15,
            "within the specified range of 10-20 characters when it should not be.",
        ),
        ("tiny", 10, 20, True, True, 4, "outside the specified range of 10-20 characters as expected."),
        ("😀😀", 4, 4, False, True, 4, "within the specified range of 4-4 characters."),
    ],
)
def test_character_count(text, low, high, inverted, verdict, count, phrase):
    result = run("characterCount", {"minCharacters": low, "maxCharacters": high, "not": inverted}, after(text))
    check(
        result,
        verdict,
        data={
            "characterCount": count,
            "minCharacters": low,
            "maxCharacters": high,
            "not": inverted,
            "verdict": verdict,
            "explanation": f"The text contains {count} characters, which is {phrase}",
            "textExcerpt": text,
        },
    )


def test_character_count_errors_and_long_text():
    result = run("characterCount", {"minCharacters": 100, "maxCharacters": 200}, after("a" * 150))
    check(result, True, characterCount=150)
    assert result.data["textExcerpt"] == "a" * 100 + "..."
    msg = "An error occurred while counting characters: "
    check(
        run("characterCount", {"minCharacters": 1, "maxCharacters": 10}, after("")),
        False,
        error="Missing text to analyze",
        data={
            "explanation": msg + "Missing text to analyze",
            "minCharacters": 1,
            "maxCharacters": 10,
            "not": False,
            "textExcerpt": "No text available",
        },
    )
    check(
        run("characterCount", {}, after("This is a test.")),
        False,
        error="Invalid or missing character count range",
        data={
            "explanation": msg + "Invalid or missing character count range",
            "minCharacters": None,
            "maxCharacters": None,
            "not": False,
            "textExcerpt": "This is a test.",
        },
    )


# -- alluppercase / alllowercase ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "inverted", "verdict", "explanation"),
    [
        (
            "alluppercase",
            "THIS IS ALL UPPERCASE TEXT!",
            False,
            True,
            "All alphabetic characters in the text are uppercase.",
        ),
        ("alluppercase", "This Has Mixed Case.", False, False, "The text contains lowercase characters."),
        ("alluppercase", "123 !@#$%", False, True, "All alphabetic characters in the text are uppercase."),
        ("alluppercase", "This Has Mixed Case.", True, True, "The text contains lowercase characters as expected."),
        (
            "alluppercase",
            "LOUD",
            True,
            False,
            "All alphabetic characters in the text are uppercase when they should not be.",
        ),
        ("alluppercase", "ÉCOLE é", False, True, "All alphabetic characters in the text are uppercase."),
        (
            "alllowercase",
            "this is all lowercase text!",
            False,
            True,
            "All alphabetic characters in the text are lowercase.",
        ),
        ("alllowercase", "This Has Mixed Case.", False, False, "The text contains uppercase characters."),
        ("alllowercase", "123 !@#$%", False, True, "All alphabetic characters in the text are lowercase."),
        ("alllowercase", "Mixed", True, True, "The text contains uppercase characters as expected."),
        (
            "alllowercase",
            "quiet",
            True,
            False,
            "All alphabetic characters in the text are lowercase when they should not be.",
        ),
    ],
)
def test_case_checks(name, text, inverted, verdict, explanation):
    result = run(name, {"not": inverted}, after(text))
    check(result, verdict, data={"verdict": verdict, "not": inverted, "explanation": explanation, "textExcerpt": text})


@pytest.mark.parametrize(("name", "word"), [("alluppercase", "uppercase"), ("alllowercase", "lowercase")])
def test_case_checks_errors_and_long_text(name, word):
    letter = "A" if name == "alluppercase" else "a"
    assert run(name, {"not": False}, after(letter * 150)).data["textExcerpt"] == letter * 100 + "..."
    check(
        run(name, {"not": False}, after("")),
        False,
        error="Missing text to analyze",
        data={
            "explanation": f"An error occurred while checking {word}: Missing text to analyze",
            "not": False,
            "textExcerpt": "No text available",
        },
    )


# -- endsWith ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "inverted", "verdict", "explanation"),
    [
        ("This is a test ending with HarryPortkey", False, True, 'The text ends with "HarryPortkey".'),
        (
            "This is a test ending with HarryPortkey.",
            False,
            True,
            'The text ends with "HarryPortkey" (including trailing period).',
        ),
        ("This is a test ending with something else", False, False, 'The text does not end with "HarryPortkey".'),
        (
            "This is a test ending with something else",
            True,
            True,
            'The text does not end with "HarryPortkey" as expected.',
        ),
        ("Signed, HarryPortkey", True, False, 'The text ends with "HarryPortkey" when it should not.'),
    ],
)
def test_ends_with(text, inverted, verdict, explanation):
    result = run("endsWith", {"suffix": "HarryPortkey", "not": inverted}, after(text))
    check(
        result,
        verdict,
        data={
            "suffix": "HarryPortkey",
            "not": inverted,
            "verdict": verdict,
            "explanation": explanation,
            "textExcerpt": text,
        },
    )


@pytest.mark.parametrize(
    ("text", "params", "message", "excerpt"),
    [
        ("", {"suffix": "test", "not": False}, "Missing text to analyze", "No text available"),
        ("This is a test.", {}, "Missing or empty suffix", "This is a test."),
        ("This is a test.", {"suffix": "", "not": False}, "Missing or empty suffix", "This is a test."),
    ],
)
def test_ends_with_errors(text, params, message, excerpt):
    check(
        run("endsWith", params, after(text)),
        False,
        error=message,
        data={
            "explanation": f"An error occurred while checking suffix: {message}",
            "suffix": params.get("suffix"),
            "not": False,
            "textExcerpt": excerpt,
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


# -- webhook and log --------------------------------------------------------------------------------

HOOK = "https://hooks.example/guardrail"


def webhook_context(event: str = AFTER) -> HookContext:
    response = {"choices": [{"message": {"role": "assistant", "content": "test response"}}]} if event == AFTER else None
    return HookContext(
        event,
        "chatComplete",
        {"model": "m", "messages": [{"role": "user", "content": "test request"}]},
        response,
        {"team": "a"},
        "openai",
        {"Authorization": "Bearer sk-secret", "x-trace": "t1"},
    )


def test_webhook_verdicts_and_payload():
    io = FakeIO(
        {
            HOOK + "/true": json_answer({"verdict": True, "data": {"score": 1}}),
            HOOK + "/false": json_answer({"verdict": False}),
        }
    )
    params = {"webhookURL": HOOK + "/true", "headers": '{"Authorization": "Bearer test-token"}', "not": False}
    result = run("webhook", params, webhook_context(), io)
    check(
        result,
        True,
        data={
            "verdict": True,
            "explanation": "Webhook request succeeded",
            "webhookUrl": HOOK + "/true",
            "responseData": {"score": 1},
            "requestContext": {"timeout": 3000},
        },
    )
    method, url, payload, headers, timeout = io.calls[0]
    assert (method, url, headers, timeout) == ("POST", HOOK + "/true", {"Authorization": "Bearer test-token"}, 3.0)
    assert payload["eventType"] == AFTER and "headers" not in payload["request"]
    assert payload["request"]["text"] == "test request" and payload["response"]["text"] == "test response"
    assert payload["response"]["statusCode"] == 200 and payload["metadata"] == {"team": "a"}
    assert payload["provider"] == "openai" and payload["requestType"] == "chatComplete"
    result = run(
        "webhook", {"webhookURL": HOOK + "/false", "headers": {"X-A": 1}, "timeout": 500}, webhook_context(), io
    )
    check(result, False, explanation="Webhook request failed", requestContext={"timeout": 500})
    assert io.calls[1][3] == {"X-A": "1"} and io.calls[1][4] == 0.5


@pytest.mark.parametrize(
    ("params", "message", "url"),
    [
        ({"headers": '{"Authorization": "Bearer test-token"}'}, "Missing webhook URL", "No URL provided"),
        ({"webhookURL": "not-a-url"}, "Invalid webhook URL format", "not-a-url"),
        (
            {"webhookURL": HOOK + "/true", "headers": "{invalid json}"},
            "Failed to parse headers: Invalid headers format",
            HOOK + "/true",
        ),
        ({"webhookURL": HOOK + "/down"}, "connection refused", HOOK + "/down"),
    ],
)
def test_webhook_errors(params, message, url):
    result = run("webhook", params, webhook_context(), FakeIO())
    check(result, False, error=message, webhookUrl=url, requestContext={"timeout": 3000})
    assert result.data["explanation"].startswith("Webhook error: ") and message in result.data["explanation"]


def test_webhook_http_error_keeps_json_body():
    io = FakeIO({HOOK: json_answer({"reason": "boom"}, status=500)})
    result = run("webhook", {"webhookURL": HOOK}, webhook_context(), io)
    check(
        result,
        False,
        error="HTTP error! status: 500",
        data={
            "explanation": "Webhook error: HTTP error! status: 500",
            "webhookUrl": HOOK,
            "requestContext": {"timeout": 3000},
            "responseData": {"reason": "boom"},
        },
    )


def test_webhook_transforms_the_payload_of_its_event():
    new_request = {"model": "m", "messages": [{"role": "user", "content": "rewritten"}]}
    new_response = {"choices": [{"message": {"role": "assistant", "content": "redacted"}}]}
    io = FakeIO(
        {
            HOOK: json_answer(
                {
                    "verdict": True,
                    "transformedData": {"request": {"json": new_request}, "response": {"json": new_response}},
                }
            )
        }
    )
    result = run("webhook", {"webhookURL": HOOK}, webhook_context(BEFORE), io)
    assert result.transformed_request == new_request and result.transformed_response is None
    assert io.calls[0][2]["eventType"] == BEFORE and io.calls[0][2]["response"] == {
        "json": {},
        "text": "",
        "statusCode": None,
        "isTransformed": False,
    }
    result = run("webhook", {"webhookURL": HOOK}, webhook_context(AFTER), io)
    assert result.transformed_response == new_response and result.transformed_request is None


def test_log_posts_the_context_with_credentials_redacted():
    io = FakeIO({"https://logs.example/collector": Answer(200, {}, b'{"ok": true}')})
    params = {"logURL": "https://logs.example/collector", "headers": '{"Authorization": "this is some secret"}'}
    result = run("log", params, webhook_context(), io)
    check(result, True, data={"message": "Logged the request to https://logs.example/collector"})
    _, _, payload, headers, _ = io.calls[0]
    assert headers == {"Authorization": "this is some secret"} and "eventType" not in payload
    assert payload["request"]["headers"] == {"Authorization": "[REDACTED]", "x-trace": "t1"}
    failed = run("log", {"logURL": "https://logs.example/down"}, webhook_context(), io)
    assert failed.verdict is False and failed.data is None and "connection refused" in failed.error
    io.routes["https://logs.example/500"] = Answer(500, {}, b"nope")
    check(run("log", {"logURL": "https://logs.example/500"}, webhook_context(), io), False, error="status: 500")


class _Collector(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _Collector.received.append({"path": self.path, "body": body, "auth": self.headers.get("authorization")})
        reply = json.dumps({"verdict": self.path == "/pass", "data": {"seen": body.get("eventType", "log")}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def test_webhook_and_log_through_the_gateway_check_io():
    state_module = pytest.importorskip("gateway.web.state")
    settings_module = pytest.importorskip("gateway.core.settings")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state = state_module.GatewayState(settings_module.Settings())
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        passed = run(
            "webhook",
            {"webhookURL": base + "/pass", "headers": {"Authorization": "Bearer hook"}},
            webhook_context(),
            state.check_io,
        )
        check(passed, True, responseData={"seen": AFTER})
        check(
            run("webhook", {"webhookURL": base + "/fail"}, webhook_context(), state.check_io),
            False,
            explanation="Webhook request failed",
        )
        check(run("log", {"logURL": base + "/log"}, webhook_context(), state.check_io), True)
    finally:
        server.shutdown()
        state.close()
    assert [r["path"] for r in _Collector.received[-3:]] == ["/pass", "/fail", "/log"]
    assert _Collector.received[-3]["auth"] == "Bearer hook"
    assert _Collector.received[-1]["body"]["request"]["headers"]["Authorization"] == "[REDACTED]"


# -- modelWhitelist / modelRules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model", "inverted", "verdict", "explanation"),
    [
        ("modelWhitelist", "gemini-1.5-flash-001", False, True, 'Model "gemini-1.5-flash-001" is allowed.'),
        (
            "modelWhitelist",
            "gemini-1.5-pro-001",
            False,
            False,
            'Model "gemini-1.5-pro-001" is not in the allowed list.',
        ),
        (
            "modelwhitelist",
            "gemini-1.5-pro-001",
            True,
            True,
            'Model "gemini-1.5-pro-001" is not in the allowed list as expected.',
        ),
        (
            "modelwhitelist",
            "gemini-1.5-flash-001",
            True,
            False,
            'Model "gemini-1.5-flash-001" is in the allowed list when it should not be.',
        ),
    ],
)
def test_model_whitelist(name, model, inverted, verdict, explanation):
    result = run(name, {"models": ["gemini-1.5-flash-001"], "not": inverted}, before({"model": model}))
    check(
        result,
        verdict,
        data={
            "verdict": verdict,
            "not": inverted,
            "explanation": explanation,
            "requestedModel": model,
            "allowedModels": ["gemini-1.5-flash-001"],
        },
    )


def test_model_whitelist_errors():
    msg = "An error occurred while checking model whitelist: "
    check(
        run("modelWhitelist", {}, before({"model": "gemini-1.5-pro-001"})),
        False,
        error="Missing or invalid model whitelist",
        data={
            "explanation": msg + "Missing or invalid model whitelist",
            "requestedModel": "gemini-1.5-pro-001",
            "not": False,
            "allowedModels": [],
        },
    )
    check(
        run("modelWhitelist", {"models": ["gemini-1.5-flash-001"], "not": False}, before({})),
        False,
        error="Missing model in request",
        data={
            "explanation": msg + "Missing model in request",
            "requestedModel": "No model specified",
            "not": False,
            "allowedModels": ["gemini-1.5-flash-001"],
        },
    )


RULES = {
    "defaults": ["gpt-4o-mini"],
    "metadata": {"tier": {"pro": ["gpt-4o", "o3"], "free": ["gpt-4o-mini"]}, "team": {"ml": ["o3"]}},
}


@pytest.mark.parametrize(
    ("model", "metadata", "inverted", "verdict", "explanation"),
    [
        ("gpt-4o", {"tier": "pro"}, False, True, 'Model "gpt-4o" is allowed by rules. (matched rules: tier:pro)'),
        (
            "o3",
            {"tier": "free", "team": ["ml", "x"]},
            False,
            True,
            'Model "o3" is allowed by rules. (matched rules: tier:free, team:ml)',
        ),
        ("gpt-4o", {"tier": "free"}, False, False, 'Model "gpt-4o" is not allowed by rules.'),
        (
            "gpt-4o-mini",
            {"tier": "unknown"},
            False,
            True,
            'Model "gpt-4o-mini" is allowed by rules. (using default models)',
        ),
        ("gpt-4o", {}, True, True, 'Model "gpt-4o" is not permitted by rules (blocked list). (using default models)'),
        ("o3", {"tier": "pro"}, True, False, 'Model "o3" is permitted by rules (in blocked list).'),
    ],
)
def test_model_rules(model, metadata, inverted, verdict, explanation):
    result = run("modelRules", {"rules": RULES, "not": inverted}, before({"model": model}, metadata=metadata))
    check(result, verdict, data={"explanation": explanation})


def test_model_rules_errors():
    msg = "An error occurred while checking model rules: "
    check(run("modelRules", {"rules": RULES}, before({})), False, error="Missing model in request")
    check(run("modelRules", {"rules": "x"}, before({"model": "a"})), False, error="Missing rules configuration")
    check(
        run("modelRules", {"rules": {"metadata": {}}}, before({"model": "a"})),
        False,
        error="No allowed models resolved from rules",
        data={"explanation": msg + "No allowed models resolved from rules"},
    )


# -- allowedRequestTypes ------------------------------------------------------------------------------


def types_context(fn: str, metadata: dict | None = None) -> HookContext:
    return HookContext(BEFORE, fn, CHAT_REQUEST, None, metadata or {})


@pytest.mark.parametrize(
    ("fn", "params", "metadata", "verdict", "expect"),
    [
        (
            "chatComplete",
            {"allowedTypes": ["chatComplete", "complete", "embed"]},
            None,
            True,
            {"explanation": 'Request type "chatComplete" is allowed.', "source": "parameters", "mode": "allowlist"},
        ),
        (
            "imageGenerate",
            {"allowedTypes": ["chatComplete", "complete", "embed"]},
            None,
            False,
            {
                "explanation": 'Request type "imageGenerate" is not allowed. Allowed types are: '
                "chatComplete, complete, embed"
            },
        ),
        (
            "embed",
            {"allowedTypes": "chatComplete, complete, embed"},
            None,
            True,
            {"allowedTypes": ["chatComplete", "complete", "embed"]},
        ),
        ("stream-chatComplete", {"allowedTypes": ["stream-chatComplete", "stream-complete"]}, None, True, {}),
        (
            "complete",
            {},
            {"supported_endpoints": "complete, chatComplete"},
            True,
            {"source": "metadata", "allowedTypes": ["complete", "chatComplete"]},
        ),
        (
            "embed",
            {"allowedTypes": ["embed", "rerank"]},
            {"supported_endpoints": "complete, chatComplete"},
            True,
            {"source": "parameters", "allowedTypes": ["embed", "rerank"]},
        ),
        (
            "messages",
            {},
            None,
            True,
            {
                "allowedTypes": ["all"],
                "source": "default",
                "mode": "unrestricted",
                "explanation": 'Request type "messages" is allowed (no restrictions configured).',
            },
        ),
        (
            "deleteFile",
            {"allowedTypes": ["uploadFile", "listFiles", "retrieveFile", "retrieveFileContent"]},
            None,
            False,
            {"mode": "allowlist"},
        ),
        (
            "imageGenerate",
            {"blockedTypes": ["imageGenerate", "createSpeech", "deleteFile"]},
            None,
            False,
            {
                "explanation": 'Request type "imageGenerate" is blocked.',
                "mode": "blocklist",
                "blockedTypes": ["imageGenerate", "createSpeech", "deleteFile"],
            },
        ),
        (
            "chatComplete",
            {"blockedTypes": ["imageGenerate"]},
            None,
            True,
            {"explanation": 'Request type "chatComplete" is allowed (not in blocklist).', "mode": "blocklist"},
        ),
        (
            "embed",
            {"blockedTypes": "imageGenerate, createSpeech, deleteFile"},
            None,
            True,
            {"blockedTypes": ["imageGenerate", "createSpeech", "deleteFile"]},
        ),
        (
            "complete",
            {},
            {"blocked_endpoints": ["complete", "embed"]},
            False,
            {"source": "metadata", "mode": "blocklist", "blockedTypes": ["complete", "embed"]},
        ),
        (
            "chatComplete",
            {"blockedTypes": ["embed", "messages"]},
            {"blocked_endpoints": ["chatComplete"]},
            True,
            {"source": "parameters", "blockedTypes": ["embed", "messages"]},
        ),
        (
            "chatComplete",
            {"allowedTypes": ["chatComplete", "complete"], "blockedTypes": ["imageGenerate"]},
            None,
            True,
            {
                "mode": "combined",
                "explanation": 'Request type "chatComplete" is allowed (in allowlist and not blocked).',
            },
        ),
        (
            "imageGenerate",
            {"allowedTypes": ["chatComplete"], "blockedTypes": ["imageGenerate"]},
            None,
            False,
            {"mode": "combined", "explanation": 'Request type "imageGenerate" is explicitly blocked.'},
        ),
        (
            "embed",
            {"allowedTypes": ["chatComplete", "complete"], "blockedTypes": ["imageGenerate"]},
            None,
            False,
            {
                "explanation": 'Request type "embed" is not in the allowed list. Allowed types (excluding blocked): '
                "chatComplete, complete"
            },
        ),
    ],
)
def test_allowed_request_types(fn, params, metadata, verdict, expect):
    result = run("allowedRequestTypes", params, types_context(fn, metadata))
    check(result, verdict, currentRequestType=fn, verdict=verdict, **expect)


def test_allowed_request_types_errors():
    params = {"allowedTypes": ["chatComplete", "complete", "embed"], "blockedTypes": ["complete", "embed", "x"]}
    result = run("allowedRequestTypes", params, types_context("chatComplete"))
    check(
        result,
        False,
        error="Conflict detected: The following types appear in both allowedTypes and blockedTypes:"
        " complete, embed. Please remove them from one list.",
    )
    check(
        run("allowedRequestTypes", {"allowedTypes": ["chatComplete"]}, types_context("")),
        False,
        error="Request type not found in context",
        currentRequestType="unknown",
    )


# -- requiredMetadataKeys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "metadata", "verdict", "found", "missing", "tail"),
    [
        (
            "all",
            {"user": "u", "team": "t"},
            True,
            ["user", "team"],
            [],
            "passed for 'all' metadata keys. All metadata keys were found.",
        ),
        (
            "all",
            {"user": "u"},
            False,
            ["user"],
            ["team"],
            "failed for 'all' metadata keys. Some metadata keys were missing.",
        ),
        (
            "any",
            {"team": "t"},
            True,
            ["team"],
            ["user"],
            "passed for 'any' metadata keys. At least one metadata key was found.",
        ),
        ("any", {}, False, [], ["user", "team"], "failed for 'any' metadata keys. No metadata keys were found."),
        (
            "none",
            {"other": 1},
            True,
            [],
            ["user", "team"],
            "passed for 'none' metadata keys. No metadata keys were found.",
        ),
        (
            "none",
            {"user": None},
            False,
            ["user"],
            ["team"],
            "failed for 'none' metadata keys. Some metadata keys were found.",
        ),
    ],
)
def test_required_metadata_keys(operator, metadata, verdict, found, missing, tail):
    params = {"metadataKeys": ["user", "team"], "operator": operator}
    result = run("requiredMetadataKeys", params, before(metadata=metadata))
    check(
        result,
        verdict,
        data={
            "explanation": "Check " + tail,
            "missing_metadata_keys": missing,
            "found_metadata_keys": found,
            "operator": operator,
        },
    )


@pytest.mark.parametrize(
    ("params", "context", "message"),
    [
        ({"metadataKeys": ["a"], "operator": "all"}, after("x"), "This plugin only works for before_request_hooks"),
        ({"metadataKeys": [], "operator": "all"}, before(), "metadataKeys must be an array and not empty"),
        ({"metadataKeys": ["a", 1], "operator": "all"}, before(), "metadataKeys must be an array of strings"),
        ({"metadataKeys": ["a"], "operator": "most"}, before(), "operator must be one of: all, any, none"),
    ],
)
def test_required_metadata_keys_errors_keep_the_verdict(params, context, message):
    check(run("requiredMetadataKeys", params, context), True, error=message, data=None)


# -- jwt ---------------------------------------------------------------------------------------------

JWKS_URI = "https://issuer.example/.well-known/jwks.json"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_for(key, kid: str = "k1", alg: str | None = "RS256") -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig")
    if alg:
        jwk["alg"] = alg
    return {"keys": [jwk]}


def token(key, kid: str | None = "k1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "1234567890", "iat": now, "exp": now + 600, "aud": "someone", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid} if kid else {})


def jwt_context(value: str | None, header: str = "Authorization") -> HookContext:
    return before(request_headers={header: value} if value is not None else {})


def test_jwt_valid_token_and_jwks_cache(rsa_key):
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    params = {"jwksUri": JWKS_URI, "headerKey": "Authorization"}
    for _ in range(2):
        result = run("jwt", params, jwt_context(f"Bearer {token(rsa_key)}"), io)
        check(result, True, data={"verdict": True, "explanation": "JWT token validation succeeded"})
    assert [c[1] for c in io.calls] == [JWKS_URI]
    custom = run(
        "jwt", {"jwksUri": JWKS_URI, "headerKey": "X-Custom-Auth"}, jwt_context(token(rsa_key), "x-custom-auth"), io
    )
    check(custom, True)


@pytest.mark.parametrize(
    ("claims", "params", "explanation"),
    [
        ({"exp": int(time.time()) - 60}, {}, "JWT validation error: Signature has expired"),
        ({"iat": None}, {}, 'JWT validation error: "iat" claim missing'),
        (
            {"iat": int(time.time()) - 7200},
            {"maxTokenAge": "1h"},
            'JWT validation error: "iat" claim timestamp check failed (too far in the past)',
        ),
        ({"iat": int(time.time()) + 3600}, {}, 'JWT validation error: "iat" claim timestamp check failed (it should'),
        ({"nbf": int(time.time()) + 3600}, {}, "JWT validation error: The token is not yet valid (nbf)"),
        ({}, {"maxTokenAge": "soon"}, "JWT validation error: Invalid time period format"),
    ],
)
def test_jwt_claims_fail_without_error(rsa_key, claims, params, explanation):
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    result = run(
        "jwt",
        {"jwksUri": JWKS_URI, "headerKey": "Authorization", **params},
        jwt_context("Bearer " + token(rsa_key, **claims)),
        io,
    )
    check(result, False)
    assert result.data["verdict"] is False and result.data["explanation"].startswith(explanation)


def test_jwt_clock_tolerance_and_max_age(rsa_key):
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    expired = token(rsa_key, exp=int(time.time()) - 30, iat=int(time.time()) - 90)
    params = {"jwksUri": JWKS_URI, "headerKey": "Authorization", "clockTolerance": 60, "maxTokenAge": "2 minutes"}
    check(run("jwt", params, jwt_context(expired), io), True)
    check(run("jwt", {**params, "maxTokenAge": 10}, jwt_context(expired), io), False)


def test_jwt_key_selection(rsa_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    params = {"jwksUri": JWKS_URI, "headerKey": "Authorization"}
    check(
        run("jwt", params, jwt_context(token(rsa_key, kid="unknown")), io),
        False,
        data={"verdict": False, "explanation": "No matching key found for kid"},
    )
    assert len(io.calls) == 2  # the unknown kid refetched the JWKS once
    check(
        run("jwt", params, jwt_context(token(rsa_key, kid=None)), io),
        False,
        explanation="No matching key found for kid",
    )
    forged = run("jwt", params, jwt_context(token(other)), io)
    check(forged, False, explanation="JWT validation error: Signature verification failed")
    no_alg = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key, alg=None))})
    check(run("jwt", params, jwt_context(token(rsa_key)), no_alg), True)


@pytest.mark.parametrize(
    ("params", "value", "routes", "verdict_error", "explanation"),
    [
        ({"jwksUri": JWKS_URI}, None, {}, None, "Missing authorization header"),
        ({}, "Bearer valid.token.here", {}, "Missing JWKS URI", "JWT validation error: Missing JWKS URI"),
        (
            {"jwksUri": JWKS_URI},
            "Bearer valid.token.here",
            {},
            "Failed to fetch JWKS",
            "JWT validation error: Failed to fetch JWKS from " + JWKS_URI,
        ),
        (
            {"jwksUri": JWKS_URI},
            "Bearer valid.token.here",
            {JWKS_URI: Answer(404)},
            "Failed to fetch JWKS",
            "JWT validation error: Failed to fetch JWKS",
        ),
        (
            {"jwksUri": JWKS_URI},
            "InvalidFormat",
            {JWKS_URI: json_answer({"keys": []})},
            "Not enough segments",
            "JWT validation error: Not enough segments",
        ),
    ],
)
def test_jwt_errors(params, value, routes, verdict_error, explanation):
    result = run("jwt", params, jwt_context(value), FakeIO(routes))
    check(result, False, error=verdict_error)
    assert result.data["verdict"] is False and result.data["explanation"].startswith(explanation)


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


# -- registry and config validation --------------------------------------------------------------------

REFERENCE_IDS = {
    "regexMatch",
    "sentenceCount",
    "wordCount",
    "characterCount",
    "jsonSchema",
    "jsonKeys",
    "contains",
    "validUrls",
    "containsCode",
    "alluppercase",
    "alllowercase",
    "endsWith",
    "modelWhitelist",
    "modelwhitelist",
    "modelRules",
    "allowedRequestTypes",
    "requiredMetadataKeys",
    "jwt",
    "webhook",
    "log",
    "notNull",
    "addPrefix",
    "regexReplace",
}


def test_registry():
    assert set(CHECKS) == REFERENCE_IDS
    assert {name for name, c in CHECKS.items() if c.type == MUTATOR} == {"addPrefix", "regexReplace"}
    assert CHECKS["jsonSchema"].hooks == {AFTER} and CHECKS["addPrefix"].hooks == {BEFORE}
    assert CHECKS["webhook"].hooks == {BEFORE, AFTER} and CHECKS["log"].hooks == {AFTER}
    assert CHECKS["modelwhitelist"] is CHECKS["modelWhitelist"]


@pytest.mark.parametrize(
    ("check_id", "params", "problem"),
    [
        ("default.contains", {"words": ["a"], "operator": "any"}, None),
        ("contains", {"words": ["a"], "operator": "any"}, None),
        ("default.modelwhitelist", {"models": ["a"]}, None),
        ("default.jwt", {"jwksUri": "https://x"}, None),
        ("default.wordCount", {}, None),
        ("default.nope", {}, "Unknown guardrail check 'default.nope'"),
        ("portkey.pii", {}, "Unknown guardrail check 'portkey.pii'"),
        ("default.contains", {"words": ["a"]}, "Check 'default.contains' is missing required parameter(s): operator"),
        ("regexMatch", {"rule": None}, "missing required parameter(s): rule"),
        ("default.webhook", {}, "missing required parameter(s): webhookURL"),
    ],
)
def test_validate_check(check_id, params, problem):
    result = validate_check(check_id, params)
    assert result == problem if problem is None or problem.startswith("Unknown") else problem in result
