"""Validate a catalog file (TOML) with marshmallow, substituting ``${NAME}`` from the environment.

``parse(text, environ)`` returns ``CatalogData`` or raises ``CatalogError`` listing every problem with
its dotted path (``providers.openai-prod.limits.budget_period: Must be one of: ...``). Secrets are
never part of a message: an unset variable is named, its value is never shown.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from gateway.catalog.entries import BUDGET_PERIODS, CatalogData, KeyEntry, Limits, ProviderEntry
from gateway.routing.compiler import NODE_KEYS

SLUG = re.compile(r"^[a-z0-9-]+$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

#: Keys of a config target that route or shape requests: not provider options, so not allowed here
#: (a catalog entry names its provider, key, host, timeout and compliance mode; everything else routes).
_NOT_OPTIONS = (NODE_KEYS - {"provider", "api_key", "custom_host", "request_timeout", "strict_open_ai_compliance"}) | {
    "virtual_key"
}


class CatalogError(ValueError):
    """A catalog file that cannot be used; ``errors`` holds one ``path: message`` line per problem."""

    def __init__(self, path: str, errors: list[str]) -> None:
        self.path = path
        self.errors = errors
        super().__init__(f"invalid catalog file {path}:\n  " + "\n  ".join(errors))


class LimitsSchema(Schema):
    class Meta:
        unknown = RAISE

    requests_per_minute = fields.Integer(strict=True, validate=Range(min=0))
    requests_per_hour = fields.Integer(strict=True, validate=Range(min=0))
    requests_per_day = fields.Integer(strict=True, validate=Range(min=0))
    tokens_per_minute = fields.Integer(strict=True, validate=Range(min=0))
    tokens_per_hour = fields.Integer(strict=True, validate=Range(min=0))
    tokens_per_day = fields.Integer(strict=True, validate=Range(min=0))
    budget_usd = fields.Float(validate=Range(min=0))
    budget_tokens = fields.Integer(strict=True, validate=Range(min=0))
    budget_period = fields.String(validate=OneOf(BUDGET_PERIODS))


class ProviderSchema(Schema):
    class Meta:
        unknown = INCLUDE  # provider options (resource_name, aws_region, ...), checked below

    provider = fields.String(required=True, validate=Length(min=1))
    api_key = fields.String()
    custom_host = fields.Url(require_tld=False, schemes={"http", "https"})
    models = fields.List(fields.String(validate=Length(min=1)))
    aliases = fields.Dict(keys=fields.String(validate=Length(min=1)), values=fields.String(validate=Length(min=1)))
    limits = fields.Nested(LimitsSchema)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _options(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        declared = set(self.fields)
        for key in original if isinstance(original, dict) else ():
            if key in declared:
                continue
            if key in _NOT_OPTIONS:
                raise ValidationError(f"{key} is a routing setting, not a provider option", key)


class KeySchema(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(validate=Length(min=8))
    key_sha256 = fields.String(validate=Regexp(_SHA256, error="Must be 64 hex digits."))
    providers = fields.List(fields.String(validate=Regexp(SLUG)))
    limits = fields.Nested(LimitsSchema)

    @validates_schema
    def _one_secret(self, data: dict[str, Any], **_: Any) -> None:
        if ("key" in data) == ("key_sha256" in data):
            raise ValidationError("Exactly one of key and key_sha256 is required.", "key")


class CatalogSchema(Schema):
    class Meta:
        unknown = RAISE

    providers = fields.Dict(
        keys=fields.String(validate=Regexp(SLUG, error="A slug is made of a-z, 0-9 and -.")),
        values=fields.Nested(ProviderSchema),
    )
    keys = fields.Dict(keys=fields.String(validate=Length(min=1)), values=fields.Nested(KeySchema))


def substitute(value: Any, environ: Mapping[str, str], path: tuple, missing: list[str]) -> Any:
    """Replace ``${NAME}`` in every string of ``value``; note unset names (with their path) in ``missing``."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                missing.append(f"{'.'.join(path)}: environment variable {name} is not set")
                return ""
            return environ[name]

        return _VARIABLE.sub(one, value)
    if isinstance(value, dict):
        return {k: substitute(v, environ, (*path, str(k)), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, environ, (*path, str(i)), missing) for i, v in enumerate(value)]
    return value


def _flatten(messages: Any, path: tuple = ()) -> list[str]:
    """``path: message`` lines from marshmallow's nested messages (Dict fields nest ``key`` / ``value``)."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            where = (*path, str(key))
            if len(path) == 1 and path[0] in ("providers", "keys") and isinstance(value, dict):
                for part, inner in value.items():  # one table: errors of its name, then of its value
                    if part == "key":
                        out += [f"{'.'.join(where)}: invalid name: {m}" for m in inner]
                    else:
                        out += _flatten(inner, where)
            else:
                out += _flatten(value, where)
        return out
    if isinstance(messages, list):
        return [f"{'.'.join(path) or '(file)'}: {m}" for m in messages if isinstance(m, str)] + [
            line for m in messages if not isinstance(m, str) for line in _flatten(m, path)
        ]
    return [f"{'.'.join(path)}: {messages}"]


def _limits(raw: Mapping[str, Any] | None) -> Limits:
    return Limits(**dict(raw or {}))


def _literal(raw_text_value: Any) -> bool:
    return isinstance(raw_text_value, str) and raw_text_value and not _VARIABLE.search(raw_text_value)


def parse(text: str, environ: Mapping[str, str], path: str = "<catalog>") -> CatalogData:
    """Parse and validate one catalog file; raise ``CatalogError`` naming every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, [f"(file): not valid TOML: {exc}"]) from None
    missing: list[str] = []
    data = substitute(raw, environ, (), missing)
    try:
        loaded = CatalogSchema().load(data)
    except ValidationError as exc:
        raise CatalogError(path, sorted(set(_flatten(exc.messages))) + missing) from None
    if missing:
        raise CatalogError(path, missing)
    warnings = []
    providers: dict[str, ProviderEntry] = {}
    declared = set(ProviderSchema().fields)
    for slug, entry in loaded.get("providers", {}).items():
        if _literal(raw["providers"][slug].get("api_key")):
            warnings.append(f"catalog provider {slug} has a literal api_key in the file; prefer ${{NAME}}")
        options = {k: v for k, v in entry.items() if k not in declared}
        models = entry.get("models")
        providers[slug] = ProviderEntry(
            slug=slug,
            provider=entry["provider"].lower(),
            api_key=entry.get("api_key") or None,
            custom_host=entry.get("custom_host"),
            options=options,
            models=tuple(models) if models is not None else None,
            aliases=dict(entry.get("aliases", {})),
            limits=_limits(entry.get("limits")),
        )
    keys: dict[str, KeyEntry] = {}
    for name, entry in loaded.get("keys", {}).items():
        if _literal(raw["keys"][name].get("key")):
            warnings.append(f"catalog key {name} has a literal key in the file; prefer key_sha256 or ${{NAME}}")
        allowed = entry.get("providers")
        keys[name] = KeyEntry(
            name=name,
            key=entry.get("key"),
            key_sha256=(entry.get("key_sha256") or "").lower() or None,
            providers=tuple(allowed) if allowed is not None else None,
            limits=_limits(entry.get("limits")),
        )
    problems = [
        f"keys.{key.name}.providers: unknown provider slug {slug}"
        for key in keys.values()
        for slug in key.providers or ()
        if slug not in providers
    ]
    if problems:
        raise CatalogError(path, problems)
    return CatalogData(providers=providers, keys=keys, warnings=tuple(warnings))


def check_registry(data: CatalogData, known: Any, path: str) -> None:
    """Raise ``CatalogError`` when a slug names a provider id the registry does not have."""
    problems = [
        f"providers.{entry.slug}.provider: unknown provider {entry.provider}"
        for entry in data.providers.values()
        if entry.provider not in known
    ]
    if problems:
        raise CatalogError(path, problems)
