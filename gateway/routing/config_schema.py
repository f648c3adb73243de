"""Validate an ``x-portkey-config`` document and normalise its keys to snake_case.

Both spellings the reference accepts (``on_status_codes`` and ``onStatusCodes``) are turned
into snake_case before validation, so camelCase configs are checked too. Values under
preserved keys (``override_params``, guardrail parameters, conditional queries, ...) are
left exactly as sent. Failures raise ``InvalidConfig`` with the reference's
``"path: a,b, message: m"`` strings plus the dotted path of the first bad field.

Limits beyond the reference: a config may nest at most ``MAX_JSON_DEPTH`` containers deep,
strategies at most ``MAX_TARGET_DEPTH`` levels, and hold at most ``MAX_TARGETS`` targets in all
(checked without recursion, before anything recursive touches the document). Every string a
node sets for the provider call (``api_key``, ``openai_organization``, ``anthropic_version``, any
provider option) becomes an HTTP header or part of a URL, so control characters (CR, LF, NUL, ...)
and characters outside Latin-1 are refused there, naming the field.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from marshmallow import INCLUDE, Schema, ValidationError, fields, pre_load, validates_schema
from marshmallow.validate import Length, OneOf, Range

from gateway.core.errors import BadRequest, InvalidConfig, config_error, dotted

MODES = ("single", "fallback", "loadbalance", "conditional")

#: Keys whose value is kept verbatim (not recursed into by the snake_case conversion).
PRESERVED_VALUE_KEYS = frozenset(
    {
        "override_params",
        "params",
        "checks",
        "vertex_service_account_json",
        "conditions",
        "input_guardrails",
        "output_guardrails",
        "input_mutators",
        "output_mutators",
        "default_input_guardrails",
        "default_output_guardrails",
        "metadata",
    }
)

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")

#: Deepest container nesting of a config document (objects and arrays, override params included).
MAX_JSON_DEPTH = 64
#: Deepest nesting of strategies (``targets`` inside ``targets``).
MAX_TARGET_DEPTH = 10
#: Most targets (leaves and strategies) one config may hold.
MAX_TARGETS = 200
#: Node keys whose string values never become a header or a URL part (checked elsewhere or not sent).
_NOT_SENT_KEYS = frozenset({"name", "provider", "custom_host", "id"})
_BAD_HEADER_CHARS = re.compile(r"[\x00-\x1f\x7f]|[^\x00-\xff]")


def snake_case_keys(value: Any) -> Any:
    """Return ``value`` with camelCase object keys turned into snake_case, recursively."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            skey = _CAMEL.sub(r"_\1", key).lower() if isinstance(key, str) and not key.startswith("$") else key
            out[skey] = item if skey in PRESERVED_VALUE_KEYS else snake_case_keys(item)
        return out
    if isinstance(value, list):
        return [snake_case_keys(item) for item in value]
    return value


class _Strict(Schema):
    class Meta:
        unknown = INCLUDE


class StatusCodes(fields.List):
    """A list of HTTP status codes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Integer(strict=True, validate=Range(100, 599)), **kwargs)


class RetrySchema(_Strict):
    attempts = fields.Integer(strict=True, required=True, validate=Range(min=0))
    on_status_codes = StatusCodes()
    use_retry_after_header = fields.Boolean()


class ConditionSchema(_Strict):
    query = fields.Dict(required=True)
    then = fields.String(required=True, validate=Length(min=1))


class StrategySchema(_Strict):
    mode = fields.String(required=True, validate=OneOf(MODES))
    on_status_codes = StatusCodes()
    conditions = fields.List(fields.Nested(ConditionSchema))
    default = fields.String()


class EmbeddingSchema(_Strict):
    provider = fields.String(validate=Length(min=1))
    api_key = fields.String()
    model = fields.String(validate=Length(min=1))
    custom_host = fields.String()


class CacheSchema(_Strict):
    mode = fields.String(required=True, validate=OneOf(("simple", "semantic")))
    max_age = fields.Float(validate=Range(min=0))
    threshold = fields.Float(validate=Range(min=0, max=1))
    embedding = fields.Nested(lambda: EmbeddingSchema())

    @pre_load
    def _from_string(self, data: Any, **_: Any) -> Any:
        return {"mode": data} if isinstance(data, str) else data


class CircuitBreakerSchema(_Strict):
    failure_threshold = fields.Integer(strict=True, validate=Range(min=1))
    cooldown = fields.Float(validate=Range(min=0, min_inclusive=False))
    on_status_codes = StatusCodes()


class TargetSchema(_Strict):
    """One node of the config tree: a leaf (provider) or a strategy over targets."""

    provider = fields.String(validate=Length(min=1))
    api_key = fields.String()
    name = fields.String(validate=Length(min=1))
    weight = fields.Float(validate=Range(min=0))
    strategy = fields.Nested(StrategySchema)
    targets = fields.List(fields.Nested(lambda: TargetSchema()), validate=Length(min=1))
    retry = fields.Nested(RetrySchema)
    cache = fields.Nested(CacheSchema)
    circuit_breaker = fields.Nested(CircuitBreakerSchema)
    request_timeout = fields.Float(validate=Range(min=0, min_inclusive=False))
    custom_host = fields.String()
    forward_headers = fields.List(fields.String())
    override_params = fields.Dict()
    strict_open_ai_compliance = fields.Boolean()
    before_request_hooks = fields.List(fields.Dict())
    after_request_hooks = fields.List(fields.Dict())
    input_guardrails = fields.List(fields.Raw())
    output_guardrails = fields.List(fields.Raw())
    input_mutators = fields.List(fields.Raw())
    output_mutators = fields.List(fields.Raw())

    @validates_schema
    def _shape(self, data: dict[str, Any], **_: Any) -> None:
        if "options" in data:
            raise ValidationError(
                "This version of config is not supported in this route. Please migrate to the latest version",
                "options",
            )
        if "targets" in data and "strategy" not in data:
            raise ValidationError("targets need a strategy with a mode", "strategy")
        if "strategy" in data and "targets" not in data:
            raise ValidationError("a strategy needs targets", "targets")
        if "provider" in data and "targets" in data:
            raise ValidationError("a node is either a provider or a strategy over targets", "targets")
        if "x-portkey-forward-headers" in [h.lower() for h in data.get("forward_headers", [])]:
            raise ValidationError(
                "forward_headers must not contain the 'x-portkey-forward-headers' header", "forward_headers"
            )


_schema = TargetSchema()


def _too_deep(raw: Any) -> bool:
    """Return whether ``raw`` nests containers deeper than ``MAX_JSON_DEPTH`` (iteratively)."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values() if isinstance(item, (dict, list)))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))
    return False


def _check_tree(config: dict[str, Any]) -> None:
    """Enforce the target depth and count caps and the header-safe strings of every node."""
    count = 0
    stack: list[tuple[Any, tuple, int]] = [(config, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        _check_header_values(node, path)
        targets = node.get("targets")
        if not isinstance(targets, list):
            continue
        if depth + 1 > MAX_TARGET_DEPTH:
            raise config_error(path + ("targets",), f"Strategies may nest at most {MAX_TARGET_DEPTH} levels deep.")
        count += len(targets)
        if count > MAX_TARGETS:
            raise config_error(path + ("targets",), f"A config may hold at most {MAX_TARGETS} targets.")
        stack.extend((child, path + ("targets", i), depth + 1) for i, child in enumerate(targets))


def _check_header_values(node: dict[str, Any], path: tuple) -> None:
    cache = node.get("cache")
    if isinstance(cache, dict) and isinstance(cache.get("embedding"), dict):  # its api_key is a header too
        _check_header_values(cache["embedding"], path + ("cache", "embedding"))
    for key, value in node.items():
        if not isinstance(value, str) or key in _NOT_SENT_KEYS or key in PRESERVED_VALUE_KEYS:
            continue
        if _BAD_HEADER_CHARS.search(value):
            raise config_error(
                path + (key,),
                "Must not contain control characters (CR, LF, ...) or characters outside Latin-1: "
                "the value is sent as an HTTP header or URL part.",
            )


def _flatten(messages: Any, path: tuple) -> list[tuple[tuple, str]]:
    """Flatten marshmallow's nested error dict into ``(path, message)`` pairs."""
    if isinstance(messages, dict):
        out: list[tuple[tuple, str]] = []
        for key, sub in messages.items():
            sub_path = path if key == "_schema" else path + (key,)
            out.extend(_flatten(sub, sub_path))
        return out
    if isinstance(messages, list):
        out = []
        for item in messages:
            out.extend(_flatten(item, path) if isinstance(item, (dict, list)) else [(path, str(item))])
        return out
    return [(path, str(messages))]


def parse_config(text: str) -> dict[str, Any]:
    """Parse, normalise and validate config text; return the snake_case dict."""
    if text.lstrip().startswith("pc-") or not text.lstrip().startswith("{"):
        raise BadRequest("Invalid config passed. You need to pass a valid json", param="x-portkey-config")
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest("Invalid config passed. You need to pass a valid json", param="x-portkey-config") from None
    if not isinstance(raw, dict):
        raise BadRequest("Invalid config passed. You need to pass a valid json", param="x-portkey-config")
    if _too_deep(raw):
        raise BadRequest(
            f"Invalid config passed: it nests deeper than {MAX_JSON_DEPTH} levels",
            param="x-portkey-config",
            code="invalid_config",
        )
    config = snake_case_keys(raw)
    _check_tree(config)
    try:
        _schema.load(config)
    except ValidationError as exc:
        problems = _flatten(exc.messages, ())
        errors = [f"path: {','.join(str(p) for p in path)}, message: {msg}" for path, msg in problems]
        raise InvalidConfig(errors, param=dotted(problems[0][0]) or None) from None
    return config
