"""Shape requests to OpenAI-compatible providers and map their errors; pure functions.

The request body is forwarded byte for byte unless something must change it (override
params, a ``developer`` role the upstream does not accept), so unknown fields always reach
the provider and the common path costs no JSON encoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from translators.output_limits import clamp_max_tokens
from translators.registry import ProviderSpec

#: Provider option keys sent as OpenAI headers.
_OPENAI_OPTION_HEADERS = {
    "openai_organization": "OpenAI-Organization",
    "openai_project": "OpenAI-Project",
    "openai_beta": "OpenAI-Beta",
}


def auth_headers(spec: ProviderSpec, api_key: str | None) -> dict[str, str]:
    """Return the headers that carry ``api_key`` the way ``spec`` expects."""
    if not api_key or spec.auth == "none":
        return {}
    if spec.auth == "bearer":
        return {"Authorization": f"Bearer {api_key}"}
    if spec.auth.startswith("header:"):
        return {spec.auth[len("header:") :]: api_key}
    raise ValueError(f"unknown auth style {spec.auth!r} for {spec.id}")


def request_headers(spec: ProviderSpec, api_key: str | None, options: Mapping[str, Any]) -> dict[str, str]:
    """Return auth, static and option-derived headers for a request to ``spec``."""
    headers = dict(spec.headers)
    headers.update(auth_headers(spec, api_key))
    if spec.id in ("openai", "azure-openai"):
        for key, name in _OPENAI_OPTION_HEADERS.items():
            value = options.get(key)
            if value:
                headers[name] = str(value)
    return headers


def _rewrite_developer(messages: Any) -> Any:
    if not isinstance(messages, list):
        return messages
    return [{**m, "role": "system"} if isinstance(m, dict) and m.get("role") == "developer" else m for m in messages]


def request_body(
    spec: ProviderSpec,
    body: Mapping[str, Any] | None,
    raw: bytes | None,
    override_params: Mapping[str, Any],
) -> bytes | None:
    """Return the bytes to send: ``raw`` unchanged when nothing needs rewriting."""
    if body is None:
        return raw
    if raw is None:  # a body translated from another client format
        raw_needed = True
        needs_role_fix = spec.developer_as_system
    else:
        raw_needed = False
        needs_role_fix = spec.developer_as_system and b'"developer"' in raw
    if not override_params and not needs_role_fix and not raw_needed:
        return raw
    merged = {**body, **override_params}
    if raw is None:  # written for another provider's limits (Claude Code asks for 32k-64k output tokens)
        clamp_max_tokens(spec.id, merged)
    if needs_role_fix:
        merged["messages"] = _rewrite_developer(merged.get("messages"))
    return orjson.dumps(merged)
