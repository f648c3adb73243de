"""Parse the ``x-portkey-*`` request headers and filter headers crossing the gateway.

``parse_request_headers`` turns the client's headers into ``RequestOptions``: the provider and
key, the raw config text, custom host, forwarded header names, timeout, metadata, trace id and
the provider-specific option group (Azure, AWS, Vertex, OpenAI, Anthropic, ...), keyed by the
config's snake_case names so header options and config options merge directly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.core.errors import BadRequest

PREFIX = "x-portkey-"

#: ``x-portkey-*`` headers that steer the gateway rather than carry provider options.
CONTROL_HEADERS = frozenset(
    {
        "provider",
        "config",
        "custom-host",
        "forward-headers",
        "request-timeout",
        "trace-id",
        "metadata",
        "cache-force-refresh",
        "cache-namespace",
        "strict-open-ai-compliance",
        "default-input-guardrails",
        "default-output-guardrails",
        "api-key",
        "virtual-key",
        "mode",
        "retry-count",
        "cache",
    }
)

#: Header suffixes whose config key is not simply the suffix with ``-`` turned into ``_``.
_OPTION_RENAMES = {
    "azure-resource-name": "resource_name",
    "azure-deployment-id": "deployment_id",
    "azure-api-version": "api_version",
    "azure-ad-token": "azure_ad_token",
    "azure-auth-mode": "azure_auth_mode",
    "azure-model-name": "azure_model_name",
    "provider-model": "provider_model",
}

#: Plain (unprefixed) headers that also carry provider options.
_PLAIN_OPTIONS = {
    "openai-beta": "openai_beta",
    "anthropic-beta": "anthropic_beta",
    "anthropic-version": "anthropic_version",
}

#: Headers never copied from client to upstream (besides hop-by-hop ones).
_NEVER_FORWARD = frozenset({"host", "content-length", "expect", "authorization", "cookie"})


@dataclass
class RequestOptions:
    """Hold what the client's headers asked of the gateway for one request."""

    provider: str | None = None
    api_key: str | None = None
    config_text: str | None = None
    custom_host: str | None = None
    forward_headers: list[str] | None = None
    request_timeout: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    trace_id: str = ""
    strict_compliance: bool | None = None
    cache_force_refresh: bool = False
    cache_namespace: str = ""
    provider_options: dict[str, Any] = field(default_factory=dict)
    default_input_guardrails: list[Any] = field(default_factory=list)
    default_output_guardrails: list[Any] = field(default_factory=list)
    gateway_key: str | None = None


def _json_header(name: str, value: str, kind: type) -> Any:
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{name} must be valid JSON: {exc}", param=name, code="invalid_header") from None
    if not isinstance(parsed, kind):
        raise BadRequest(f"{name} must be a JSON {kind.__name__}", param=name, code="invalid_header")
    return parsed


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def new_trace_id() -> str:
    """Return a fresh random trace id (32 hex characters).

    From ``random`` (reseeded in every forked worker), not ``os.urandom``: a trace id must be unique,
    not secret, and this costs no system call per request.
    """
    return f"{random.getrandbits(128):032x}"


def parse_request_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> RequestOptions:
    """Build ``RequestOptions`` from request headers; raise ``BadRequest`` on malformed values."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    opts = RequestOptions()
    raw: dict[str, str] = {}
    for name, value in items:
        lname = name.lower()
        if lname.startswith(PREFIX):
            suffix = lname[len(PREFIX) :]
            if suffix in CONTROL_HEADERS:
                raw[suffix] = value
            elif suffix == "vertex-service-account-json":
                try:
                    opts.provider_options["vertex_service_account_json"] = orjson.loads(value)
                except orjson.JSONDecodeError:
                    raise BadRequest("x-portkey-vertex-service-account-json must be valid JSON", param=lname) from None
            else:
                opts.provider_options[_OPTION_RENAMES.get(suffix, suffix.replace("-", "_"))] = value
        elif lname in _PLAIN_OPTIONS:
            opts.provider_options.setdefault(_PLAIN_OPTIONS[lname], value)
        elif lname == "authorization":
            opts.api_key = _bearer(value)
        elif lname == "x-api-key":
            raw["x-api-key"] = value

    if opts.api_key is None and raw.get("x-api-key"):
        opts.api_key = raw["x-api-key"].strip() or None
    opts.provider = (raw.get("provider") or "").strip().lower() or None
    opts.config_text = raw.get("config") or None
    opts.custom_host = (raw.get("custom-host") or "").strip() or None
    opts.gateway_key = raw.get("api-key")
    if "forward-headers" in raw:
        names = [h.strip().lower() for h in raw["forward-headers"].split(",") if h.strip()]
        if "x-portkey-forward-headers" in names:
            raise BadRequest(
                "forward_headers must not contain the 'x-portkey-forward-headers' header",
                param="x-portkey-forward-headers",
            )
        opts.forward_headers = names
    timeout = (raw.get("request-timeout") or "").strip()
    if timeout:
        try:
            opts.request_timeout = float(timeout)
        except ValueError:
            raise BadRequest(
                "x-portkey-request-timeout must be a number of milliseconds", param="x-portkey-request-timeout"
            ) from None
        if opts.request_timeout <= 0:
            raise BadRequest("x-portkey-request-timeout must be positive", param="x-portkey-request-timeout")
    if raw.get("metadata"):
        opts.metadata = _json_header("x-portkey-metadata", raw["metadata"], dict)
    opts.trace_id = (raw.get("trace-id") or "").strip() or new_trace_id()
    strict = (raw.get("strict-open-ai-compliance") or "").strip().lower()
    if strict == "false":
        opts.strict_compliance = False
    opts.cache_namespace = (raw.get("cache-namespace") or "").strip()
    refresh = raw.get("cache-force-refresh")
    opts.cache_force_refresh = refresh is not None and refresh.strip().lower() not in ("false", "0", "no", "off")
    for key, attr in (
        ("default-input-guardrails", "default_input_guardrails"),
        ("default-output-guardrails", "default_output_guardrails"),
    ):
        if raw.get(key):
            setattr(opts, attr, _json_header(f"x-portkey-{key}", raw[key], list))
    return opts


def upstream_response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return provider response headers fit to relay: no hop-by-hop, length or encoding headers."""
    return [
        (name, value)
        for name, value in headers
        if not _is_hop_by_hop(name)
        and name.lower() not in ("content-length", "content-encoding", "transfer-encoding", "set-cookie")
    ]


def forwardable_request_headers(headers: Iterable[tuple[str, str]]):
    """Yield client headers the generic proxy may copy upstream (no gateway or hop-by-hop headers)."""
    for name, value in headers:
        lname = name.lower()
        if lname.startswith(PREFIX) or lname in _NEVER_FORWARD or _is_hop_by_hop(lname) or lname == "accept-encoding":
            continue
        yield lname, value


#: Hop-by-hop headers (RFC 9110 section 7.6.1, plus the older ``keep-alive`` and ``proxy-*`` ones): never relayed.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
    }
)


def _is_hop_by_hop(name: str) -> bool:
    return name.lower() in _HOP_BY_HOP


def first_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """Return the first value of header ``name`` in ``(name, value)`` pairs (case-insensitive)."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None
