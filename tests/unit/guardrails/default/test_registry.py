"""The registry of default checks and config validation (``gateway.guardrails.default.registry``)."""

from __future__ import annotations

import pytest

from gateway.guardrails.contract import AFTER, BEFORE
from gateway.guardrails.default.registry import CHECKS, MUTATOR, validate_check

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
