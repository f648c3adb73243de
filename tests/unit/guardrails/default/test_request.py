"""The request checks (``gateway.guardrails.default.request``): modelWhitelist, modelRules,
allowedRequestTypes and requiredMetadataKeys, table-driven after the reference's
``plugins/default/default.test.ts``.
"""

from __future__ import annotations

import pytest

from gateway.guardrails.contract import BEFORE, HookContext
from tests.unit.guardrails.default.harness import CHAT_REQUEST, after, before, check, run

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
