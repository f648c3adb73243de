"""JSON checks of the default plugin: jsonSchema and jsonKeys.

Facts from the reference (``plugins/default/jsonSchema.ts``, ``jsonKeys.ts``): candidate JSON
texts are the contents of fenced code blocks (```` ``` ```` or ```` ```json ````) and the
non-greedy ``{...}`` runs of the text (jsonSchema looks at the ``{...}`` runs only when there is
no code block; jsonKeys looks at both); candidates that do not parse are skipped. jsonSchema
validates with JSON Schema draft 2020-12 (all errors, formats asserted) and keeps the first
valid candidate, else the first parsed one; ``not`` inverts. jsonKeys checks top-level keys
with any/all/none and keeps the first candidate that passes, else the one with most keys found.
Remote ``$ref`` documents are never fetched.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from gateway.guardrails.contract import CheckIO, CheckResult, HookContext
from gateway.guardrails.default.common import error, error_excerpt, excerpt, flag, truthy

_CODE_BLOCK = re.compile(r"```+(?:json)?\s*([\s\S]*?)```+")
_OBJECT = re.compile(r"\{[\s\S]*?\}")
_MAX_ERRORS = 100


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse(candidate: str) -> tuple[bool, Any]:
    """Parse like ``JSON.parse`` (no NaN or Infinity); return (ok, value)."""
    try:
        return True, json.loads(candidate, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return False, None


def extract_json(text: str, objects_when_no_block: bool) -> list[str]:
    """Return the candidate JSON texts: code blocks, then ``{...}`` runs (always, or only without blocks)."""
    found = [block.strip() for block in _CODE_BLOCK.findall(text)]
    if not objects_when_no_block or not found:
        found.extend(_OBJECT.findall(text))
    return found


@lru_cache(maxsize=128)
def _validator(canonical: str) -> Any:
    from jsonschema import Draft202012Validator  # loaded on first use: the jsonSchema check only
    from jsonschema_specifications import REGISTRY

    schema = json.loads(canonical)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def json_schema(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when a JSON value in the text validates against the schema."""
    schema = parameters.get("schema")
    inverted = flag(parameters, "not")

    def failed(message: str) -> CheckResult:
        return error(
            message, {"explanation": "An error occurred while processing the JSON.", "error": message, "not": inverted}
        )

    if not truthy(schema) or not isinstance(schema, (dict, list)):
        return failed("Missing or invalid JSON schema")
    from jsonschema.exceptions import SchemaError
    from referencing.exceptions import Unresolvable

    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
    except SchemaError as exc:
        return failed(f"Invalid JSON schema: {exc.message}")
    except (TypeError, ValueError) as exc:
        return failed(f"Invalid JSON schema: {exc}")
    best: tuple[Any, list[Any], bool] | None = None
    try:
        for candidate in extract_json(context.text, objects_when_no_block=True):
            ok, value = _parse(candidate)
            if not ok:
                continue
            errors = []
            for err in validator.iter_errors(value):
                errors.append(err)
                if len(errors) >= _MAX_ERRORS:
                    break
            if not errors or best is None:
                best = (value, errors, not errors)
            if not errors:
                break
    except Unresolvable as exc:
        return failed(f"Unresolvable schema reference: {exc}")
    if best is None or not truthy(best[0]):
        return CheckResult(verdict=False, data={"explanation": "No valid JSON found in the response.", "not": inverted})
    value, errors, valid = best
    verdict = valid != inverted
    if verdict:
        explanation = (
            "Successfully validated JSON does not match the schema as expected."
            if inverted
            else "Successfully validated JSON against the provided schema."
        )
    else:
        explanation = (
            "JSON matches the schema when it should not."
            if inverted
            else "Failed to validate JSON against the provided schema."
        )
    return CheckResult(
        verdict=verdict,
        data={
            "matchedJson": value,
            "not": inverted,
            "explanation": explanation,
            "validationErrors": [{"path": _pointer(e.absolute_path), "message": e.message} for e in errors],
        },
    )


def _has_key(value: Any, key: Any) -> bool:
    return isinstance(value, dict) and isinstance(key, str) and key in value


def _keys_explanation(operator: str, present: list[Any], missing: list[Any], verdict: bool) -> str:
    found = f"Found keys: [{', '.join(map(str, present))}]" if present else "No matching keys found"
    absent = f"Missing keys: [{', '.join(map(str, missing))}]" if missing else "No missing keys"
    if operator == "any":
        return (
            f"Successfully found at least one required key. {found}."
            if verdict
            else f"Failed to find any required keys. {absent}."
        )
    if operator == "all":
        return (
            f"Successfully found all required keys. {found}."
            if verdict
            else f"Failed to find all required keys. {absent}."
        )
    return (
        f"Successfully verified no required keys are present. {absent}."
        if verdict
        else f"Found some keys that should not be present. {found}."
    )


def json_keys(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when a JSON object in the text has any, all or none of the keys."""
    keys = parameters.get("keys")
    operator = parameters.get("operator")
    text = context.text
    failure = None
    if not text:
        failure = "Missing text to analyze"
    elif not isinstance(keys, list) or not keys:
        failure = "Missing or invalid keys array"
    elif operator not in ("any", "all", "none"):
        failure = 'Invalid or missing operator (must be "any", "all", or "none")'
    if failure:
        return error(
            failure,
            {
                "explanation": f"An error occurred while processing JSON: {failure}",
                "operator": operator,
                "requiredKeys": keys,
                "textExcerpt": error_excerpt(text),
            },
        )
    candidates = extract_json(text, objects_when_no_block=False)
    if not candidates:
        return CheckResult(
            verdict=False,
            data={
                "explanation": "No valid JSON found in the text.",
                "requiredKeys": keys,
                "operator": operator,
                "textExcerpt": excerpt(text),
            },
        )
    best: dict[str, Any] = {"json": None, "present": [], "missing": list(keys), "verdict": False}
    for candidate in candidates:
        ok, value = _parse(candidate)
        if not ok:
            continue
        present = [k for k in keys if _has_key(value, k)]
        missing = [k for k in keys if not _has_key(value, k)]
        verdict = {"any": bool(present), "all": not missing, "none": not present}[operator]
        if verdict or len(present) > len(best["present"]):
            best = {"json": value, "present": present, "missing": missing, "verdict": verdict}
        if verdict:
            break
    return CheckResult(
        verdict=best["verdict"],
        data={
            "matchedJson": best["json"],
            "verdict": best["verdict"],
            "explanation": _keys_explanation(operator, best["present"], best["missing"], best["verdict"]),
            "presentKeys": best["present"],
            "missingKeys": best["missing"],
            "operator": operator,
            "textExcerpt": excerpt(text),
        },
    )
