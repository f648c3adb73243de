"""The default guardrail checks: what each is, where it runs, what it needs, and the code.

``CHECKS`` maps the reference's check names (``plugins/default/manifest.json`` plus
``regexReplace``, which the reference registers without a manifest entry) to a ``Check``.
``modelwhitelist`` (the manifest's spelling) and ``modelWhitelist`` (the plugin index's) are
both accepted. ``validate_check`` turns a configured check into a config error message: an
unknown id (bare, or under ``default.``; other plugin namespaces are not available here) or a
missing required parameter. ``required`` follows the manifest, except jwt's ``headerKey``,
which the check defaults to ``Authorization``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.guardrails.contract import AFTER, BEFORE, CheckIO, CheckResult, HookContext
from gateway.guardrails.default import content as checks_content
from gateway.guardrails.default import json_checks as checks_json
from gateway.guardrails.default import jwt_verify as checks_jwt
from gateway.guardrails.default import mutators as checks_mutators
from gateway.guardrails.default import request as checks_request
from gateway.guardrails.default import text as checks_text
from gateway.guardrails.default import webhooks as checks_io

GUARDRAIL = "guardrail"
MUTATOR = "mutator"
NAMESPACE = "default"

_BOTH = frozenset({BEFORE, AFTER})
_BEFORE = frozenset({BEFORE})
_AFTER = frozenset({AFTER})


@dataclass(frozen=True)
class Check:
    """One default check."""

    id: str
    type: str
    hooks: frozenset[str]
    required: tuple[str, ...]
    run: Callable[[HookContext, dict[str, Any], CheckIO], CheckResult]


def _check(check_id: str, kind: str, hooks: frozenset[str], required: tuple[str, ...], run: Callable) -> Check:
    return Check(check_id, kind, hooks, required, run)


_ALL = [
    _check("regexMatch", GUARDRAIL, _BOTH, ("rule",), checks_text.regex_match),
    _check("sentenceCount", GUARDRAIL, _BOTH, (), checks_text.sentence_count),
    _check("wordCount", GUARDRAIL, _BOTH, (), checks_text.word_count),
    _check("characterCount", GUARDRAIL, _BOTH, (), checks_text.character_count),
    _check("jsonSchema", GUARDRAIL, _AFTER, ("schema",), checks_json.json_schema),
    _check("jsonKeys", GUARDRAIL, _AFTER, ("keys", "operator"), checks_json.json_keys),
    _check("contains", GUARDRAIL, _AFTER, ("words", "operator"), checks_content.contains),
    _check("validUrls", GUARDRAIL, _AFTER, (), checks_io.valid_urls),
    _check("containsCode", GUARDRAIL, _AFTER, ("format",), checks_content.contains_code),
    _check("alluppercase", GUARDRAIL, _BOTH, (), checks_text.all_uppercase),
    _check("alllowercase", GUARDRAIL, _BOTH, (), checks_text.all_lowercase),
    _check("endsWith", GUARDRAIL, _BOTH, ("suffix",), checks_text.ends_with),
    _check("modelWhitelist", GUARDRAIL, _BEFORE, ("models",), checks_request.model_whitelist),
    _check("modelRules", GUARDRAIL, _BEFORE, ("rules",), checks_request.model_rules),
    _check("allowedRequestTypes", GUARDRAIL, _BEFORE, (), checks_request.allowed_request_types),
    _check(
        "requiredMetadataKeys", GUARDRAIL, _BEFORE, ("metadataKeys", "operator"), checks_request.required_metadata_keys
    ),
    _check("jwt", GUARDRAIL, _BEFORE, ("jwksUri",), checks_jwt.jwt_check),
    _check("webhook", GUARDRAIL, _BOTH, ("webhookURL",), checks_io.webhook),
    _check("log", GUARDRAIL, _AFTER, ("logURL",), checks_io.log),
    _check("notNull", GUARDRAIL, _AFTER, (), checks_content.not_null),
    _check("addPrefix", MUTATOR, _BEFORE, ("prefix",), checks_mutators.add_prefix),
    _check("regexReplace", MUTATOR, _BOTH, ("rule",), checks_mutators.regex_replace),
]

CHECKS: dict[str, Check] = {check.id: check for check in _ALL}
CHECKS["modelwhitelist"] = CHECKS["modelWhitelist"]


def check_name(check_id: str) -> str | None:
    """Return the default check's name for ``default.<name>`` or ``<name>``; None for other namespaces."""
    namespace, dot, name = check_id.partition(".")
    if not dot:
        return check_id
    return name if namespace == NAMESPACE else None


def validate_check(check_id: str, parameters: Mapping[str, Any] | None) -> str | None:
    """Return a config error message for an unknown check or a missing required parameter, else None."""
    name = check_name(check_id)
    check = CHECKS.get(name) if name else None
    if check is None:
        return f"Unknown guardrail check '{check_id}'"
    params = parameters if isinstance(parameters, Mapping) else {}
    missing = [p for p in check.required if params.get(p) is None]
    if missing:
        return f"Check '{check_id}' is missing required parameter(s): {', '.join(missing)}"
    return None
