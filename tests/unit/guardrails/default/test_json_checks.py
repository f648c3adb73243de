"""The JSON checks (``gateway.guardrails.default.json_checks``): jsonSchema and jsonKeys, table-driven
after the reference's ``plugins/default/default.test.ts``.
"""

from __future__ import annotations

import json

import pytest

from tests.unit.guardrails.default.harness import FakeIO, after, check, run

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
