"""Resolve Vertex AI credentials: a service account's OAuth access token, cached until it expires.

Facts (developers.google.com/identity/protocols/oauth2/service-account, "HTTP/REST"): sign a JWT
with the service account's RSA key (RS256, ``kid`` = ``private_key_id``) whose claims are
``iss`` = ``client_email``, ``scope`` = ``https://www.googleapis.com/auth/cloud-platform``,
``aud`` = ``token_uri``, ``iat`` and ``exp`` (at most one hour later); POST it form-encoded as
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`` to ``token_uri``;
the answer holds ``access_token`` and ``expires_in`` (seconds). Tokens are cached per credential
(a hash of the client email, key id, key and token URI), so a worker asks about once an hour.
``token_uri`` comes from the client, so it must be Google's or pass the custom-host SSRF rules.
Without a service account the leaf's API key is the access token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from gateway.auth.token_cache import cache_key
from gateway.core.errors import BadRequest, ProviderError
from gateway.transport.client import Timeout, UpstreamFailure
from gateway.transport.ssrf import check_custom_host

if TYPE_CHECKING:
    from gateway.auth.token_cache import TokenCache
    from gateway.core.plan import Leaf
    from gateway.transport.outbound import Outbound

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LIFETIME = 3600
TOKEN_TIMEOUT = 15.0


def _fail(provider: str, status: int, detail: str) -> ProviderError:
    return ProviderError(
        provider,
        status,
        f"{provider} error: could not obtain an access token: {detail}",
        error_type="authentication_error" if status == 401 else "token_endpoint_error",
    )


def _account(leaf: "Leaf") -> Mapping[str, Any] | None:
    account = leaf.options.get("vertex_service_account_json")
    if isinstance(account, str) and account.strip():
        try:
            account = orjson.loads(account)
        except orjson.JSONDecodeError:
            raise _fail(leaf.provider, 401, "vertex_service_account_json is not valid JSON") from None
    if not account:
        return None
    if not isinstance(account, Mapping) or not account.get("client_email") or not account.get("private_key"):
        raise _fail(leaf.provider, 401, "the service account needs client_email and private_key")
    return account


def _token_uri(outbound: "Outbound", account: Mapping[str, Any], provider: str) -> tuple[str, bool]:
    """Return the token endpoint and whether it must go through the SSRF-guarded adapter."""
    uri = str(account.get("token_uri") or GOOGLE_TOKEN_URI)
    if uri == GOOGLE_TOKEN_URI:
        return uri, False
    try:
        return check_custom_host(uri, outbound.trusted), True
    except BadRequest:
        raise _fail(provider, 401, "the service account's token_uri is not allowed") from None


def _assertion(account: Mapping[str, Any], token_uri: str, provider: str) -> str:
    import jwt  # PyJWT and cryptography load on first use: only Vertex service accounts need them

    issued = int(time.time())
    claims = {"iss": account["client_email"], "scope": SCOPE, "aud": token_uri, "iat": issued, "exp": issued + LIFETIME}
    key_id = account.get("private_key_id")
    header = {"kid": key_id} if key_id else None
    try:
        return jwt.encode(claims, account["private_key"], algorithm="RS256", headers=header)
    except (ValueError, TypeError, jwt.PyJWTError):
        raise _fail(provider, 401, "the service account's private_key is not a valid RSA key") from None


def _fetch(outbound: "Outbound", account: Mapping[str, Any], provider: str) -> tuple[str, float]:
    """Exchange a signed assertion for an access token; return ``(token, expires_at)``."""
    token_uri, guard = _token_uri(outbound, account, provider)
    form = urlencode({"grant_type": GRANT_TYPE, "assertion": _assertion(account, token_uri, provider)}).encode()
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    timeout = Timeout(outbound.settings.connect_timeout, TOKEN_TIMEOUT, TOKEN_TIMEOUT)
    try:
        response = outbound.client.send("POST", token_uri, headers=headers, body=form, timeout=timeout, guard=guard)
    except UpstreamFailure as failure:
        raise _fail(provider, 502, f"the token endpoint failed: {failure.detail}") from None
    answer = _json(response.content)
    if response.status_code >= 400:
        detail = answer.get("error_description") or answer.get("error") or f"HTTP {response.status_code}"
        if isinstance(detail, Mapping):  # a Google API error object
            detail = detail.get("message") or f"HTTP {response.status_code}"
        status = 401 if response.status_code in (400, 401, 403) else 502
        raise _fail(provider, status, f"the token endpoint answered {response.status_code}: {str(detail)[:300]}")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise _fail(provider, 502, "the token endpoint answered without an access_token")
    expires_in = answer.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else LIFETIME
    return token, time.time() + lifetime


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def resolve(outbound: "Outbound", leaf: "Leaf", cache: "TokenCache") -> dict[str, Any]:
    """Return ``{"access_token", "project_id"}`` for a Vertex AI leaf."""
    account = _account(leaf)
    if account is None:
        if not leaf.api_key:
            raise _fail(leaf.provider, 401, "send a service account (vertex_service_account_json) or an access token")
        return {"access_token": leaf.api_key, "project_id": None}
    key = cache_key(
        "vertex-service-account",
        account["client_email"],
        account.get("private_key_id"),
        account["private_key"],
        account.get("token_uri") or GOOGLE_TOKEN_URI,
    )
    token = cache.get_or_fetch(key, lambda: _fetch(outbound, account, leaf.provider))
    return {"access_token": token, "project_id": account.get("project_id") or None}
