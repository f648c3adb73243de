"""Request checks of the default plugin: modelWhitelist, modelRules, allowedRequestTypes and
requiredMetadataKeys.

Facts from the reference (``plugins/default/*.ts``): modelWhitelist passes when the request's
``model`` is in ``models`` (``not`` blocks the list instead). modelRules resolves the allowed
models from ``rules.metadata[key][value]`` for every request-metadata value (arrays give several
values), falling back to ``rules.defaults``; ``not`` inverts. allowedRequestTypes takes
``allowedTypes`` / ``blockedTypes`` (lists or comma-separated strings), else the metadata's
``supported_endpoints`` / ``blocked_endpoints``; blocked wins; a type in both lists is an error;
with neither list everything passes. requiredMetadataKeys checks key presence with all/any/none
(its errors keep the verdict true, and it only works before the request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.guardrails.contract import BEFORE, CheckIO, CheckResult, HookContext
from gateway.guardrails.default.common import error, flag, js_str, truthy


def model_whitelist(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the requested model is in ``models`` (or not in it, with ``not``)."""
    models = parameters.get("models")
    inverted = flag(parameters, "not")
    model = (context.request_json or {}).get("model")
    failure = (
        "Missing or invalid model whitelist"
        if not isinstance(models, list)
        else None
        if truthy(model)
        else "Missing model in request"
    )
    if failure:
        return error(
            failure,
            {
                "explanation": f"An error occurred while checking model whitelist: {failure}",
                "requestedModel": model if truthy(model) else "No model specified",
                "not": inverted,
                "allowedModels": models if truthy(models) else [],
            },
        )
    listed = model in models
    verdict = listed != inverted
    if verdict:
        explanation = (
            f'Model "{model}" is not in the allowed list as expected.' if inverted else f'Model "{model}" is allowed.'
        )
    else:
        explanation = (
            f'Model "{model}" is in the allowed list when it should not be.'
            if inverted
            else f'Model "{model}" is not in the allowed list.'
        )
    return CheckResult(
        verdict=verdict,
        data={
            "verdict": verdict,
            "not": inverted,
            "explanation": explanation,
            "requestedModel": model,
            "allowedModels": models,
        },
    )


def model_rules(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the requested model is allowed by the metadata rules (or their defaults)."""
    rules = parameters.get("rules")
    inverted = flag(parameters, "not")
    model = (context.request_json or {}).get("model")
    failure = None
    if not truthy(model):
        failure = "Missing model in request"
    elif not isinstance(rules, Mapping):
        failure = "Missing rules configuration"
    allowed: list[str] = []
    matched_rules: list[str] = []
    if failure is None:
        mapping = rules.get("metadata")
        for key, values in mapping.items() if isinstance(mapping, Mapping) else ():
            given = context.metadata.get(key)
            if given is None:
                continue
            for value in given if isinstance(given, list) else [given]:
                models = values.get(js_str(value)) if isinstance(values, Mapping) else None
                if isinstance(models, list):
                    matched_rules.append(f"{key}:{js_str(value)}")
                    allowed.extend(m for m in models if isinstance(m, str) and m and m not in allowed)
        if not allowed:
            defaults = rules.get("defaults")
            allowed = [js_str(m) for m in defaults] if isinstance(defaults, list) else []
            if not allowed:
                failure = "No allowed models resolved from rules"
    if failure:
        return error(failure, {"explanation": f"An error occurred while checking model rules: {failure}"})
    listed = model in allowed
    verdict = listed != inverted
    if verdict:
        explanation = (
            f'Model "{model}" is not permitted by rules (blocked list).'
            if inverted
            else f'Model "{model}" is allowed by rules.'
        )
        if matched_rules:
            explanation += f" (matched rules: {', '.join(matched_rules)})"
        else:
            explanation += " (using default models)"
    else:
        explanation = (
            f'Model "{model}" is permitted by rules (in blocked list).'
            if inverted
            else f'Model "{model}" is not allowed by rules.'
        )
    return CheckResult(verdict=verdict, data={"explanation": explanation})


def _type_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value:
        return [t.strip() for t in value.split(",")]
    return []


def allowed_request_types(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the endpoint is allowed by the allow and block lists (or their metadata fallbacks)."""
    allowed = _type_list(parameters.get("allowedTypes")) if truthy(parameters.get("allowedTypes")) else []
    blocked = _type_list(parameters.get("blockedTypes")) if truthy(parameters.get("blockedTypes")) else []
    metadata = context.metadata or {}
    if not allowed and truthy(metadata.get("supported_endpoints")):
        allowed = _type_list(metadata.get("supported_endpoints"))
    if not blocked and truthy(metadata.get("blocked_endpoints")):
        blocked = _type_list(metadata.get("blocked_endpoints"))
    current = context.fn
    failure = None
    if not current:
        failure = "Request type not found in context"
    elif allowed and blocked and (conflicts := [t for t in allowed if t in blocked]):
        failure = (
            f"Conflict detected: The following types appear in both allowedTypes and blockedTypes: "
            f"{', '.join(map(js_str, conflicts))}. Please remove them from one list."
        )
    if failure:
        return error(
            failure,
            {
                "explanation": f"An error occurred while checking allowed request types: {failure}",
                "currentRequestType": current or "unknown",
                "allowedTypes": parameters.get("allowedTypes") or metadata.get("supported_endpoints") or [],
                "blockedTypes": parameters.get("blockedTypes") or metadata.get("blocked_endpoints") or [],
            },
        )
    if not allowed and not blocked:
        mode, verdict = "unrestricted", True
        explanation = f'Request type "{current}" is allowed (no restrictions configured).'
    elif not allowed:
        mode, verdict = "blocklist", current not in blocked
        explanation = (
            f'Request type "{current}" is allowed (not in blocklist).'
            if verdict
            else f'Request type "{current}" is blocked.'
        )
    elif not blocked:
        mode, verdict = "allowlist", current in allowed
        explanation = (
            f'Request type "{current}" is allowed.'
            if verdict
            else f'Request type "{current}" is not allowed. Allowed types are: {", ".join(map(js_str, allowed))}'
        )
    else:
        mode, verdict = "combined", current not in blocked and current in allowed
        if verdict:
            explanation = f'Request type "{current}" is allowed (in allowlist and not blocked).'
        elif current in blocked:
            explanation = f'Request type "{current}" is explicitly blocked.'
        else:
            remaining = ", ".join(js_str(t) for t in allowed if t not in blocked)
            explanation = (
                f'Request type "{current}" is not in the allowed list. Allowed types (excluding blocked): {remaining}'
            )
    data: dict[str, Any] = {"currentRequestType": current}
    if allowed:
        data["allowedTypes"] = allowed
    elif mode == "unrestricted":
        data["allowedTypes"] = ["all"]
    if blocked:
        data["blockedTypes"] = blocked
    if truthy(parameters.get("allowedTypes")) or truthy(parameters.get("blockedTypes")):
        source = "parameters"
    elif truthy(metadata.get("supported_endpoints")) or truthy(metadata.get("blocked_endpoints")):
        source = "metadata"
    else:
        source = "default"
    data.update(verdict=verdict, explanation=explanation, source=source, mode=mode)
    return CheckResult(verdict=verdict, data=data)


_METADATA_PASSED = {
    "any": " At least one metadata key was found.",
    "all": " All metadata keys were found.",
    "none": " No metadata keys were found.",
}
_METADATA_FAILED = {
    "any": " No metadata keys were found.",
    "all": " Some metadata keys were missing.",
    "none": " Some metadata keys were found.",
}


def required_metadata_keys(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when all, any or none of the metadata keys are present."""
    keys = parameters.get("metadataKeys")
    operator = parameters.get("operator")
    failure = None
    if context.event != BEFORE:
        failure = "This plugin only works for before_request_hooks"
    elif not isinstance(keys, list) or not keys:
        failure = "metadataKeys must be an array and not empty"
    elif any(not isinstance(k, str) for k in keys):
        failure = "metadataKeys must be an array of strings"
    elif operator not in ("all", "any", "none"):
        failure = "operator must be one of: all, any, none"
    if failure:
        return error(failure, None, verdict=True)
    metadata = context.metadata or {}
    found = [k for k in keys if k in metadata]
    missing = [k for k in keys if k not in metadata]
    verdict = {"any": bool(found), "all": not missing, "none": not found}[operator]
    explanation = f"Check {'passed' if verdict else 'failed'} for '{operator}' metadata keys."
    explanation += (_METADATA_PASSED if verdict else _METADATA_FAILED)[operator]
    return CheckResult(
        verdict=verdict,
        data={
            "explanation": explanation,
            "missing_metadata_keys": missing,
            "found_metadata_keys": found,
            "operator": operator,
        },
    )
