"""Fetch Azure Entra ID tokens for Azure OpenAI (client credentials or managed identity), cached.

``azure_auth_mode: "entra"`` posts the client-credentials grant to
``{GATEWAY_AZURE_AUTHORITY_HOST}/{tenant}/oauth2/v2.0/token`` (form fields ``client_id``,
``client_secret``, ``scope`` default ``https://cognitiveservices.azure.com/.default``,
``grant_type=client_credentials``). ``"managed"`` asks the instance metadata service:
``GET {GATEWAY_AZURE_IMDS_ENDPOINT}?api-version=2018-02-01&resource=https://cognitiveservices.azure.com/``
with ``Metadata: true`` (and ``client_id`` for a user-assigned identity). Both answer
``access_token`` and ``expires_in`` (IMDS as a string). Tokens are cached per credential
(tenant, client id, scope and a hash of the secret) until shortly before they expire. A static
``azure_ad_token`` needs no fetch. Secrets and tokens are never logged.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from gateway.auth.token_cache import cache_key
from gateway.core.errors import ProviderError
from gateway.transport.client import Timeout, UpstreamFailure

if TYPE_CHECKING:
    from gateway.auth.token_cache import TokenCache
    from gateway.core.plan import Leaf
    from gateway.transport.outbound import Outbound

log = logging.getLogger("gateway.auth.azure")

PROVIDER = "azure-openai"
DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"
MANAGED_RESOURCE = "https://cognitiveservices.azure.com/"
IMDS_API_VERSION = "2018-02-01"
#: Used when a token answer omits ``expires_in`` (Entra tokens live 60-90 minutes).
DEFAULT_LIFETIME = 3600.0


def _failure(status: int, detail: str) -> ProviderError:
    return ProviderError(
        PROVIDER, status, f"{PROVIDER} error: could not obtain a token: {detail}", error_type="authentication_error"
    )


def _timeout(outbound: "Outbound") -> Timeout:
    settings = outbound.settings
    return Timeout(settings.connect_timeout, min(settings.read_timeout, 30.0), 30.0)


def _token_of(status: int, content: bytes) -> tuple[str, float]:
    """Return ``(access_token, expires_at)`` from a token endpoint's answer, or raise."""
    try:
        parsed: Any = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        parsed = {}
    if status >= 400:
        detail = parsed.get("error_description") or parsed.get("error") or f"HTTP {status}"
        if isinstance(detail, str):
            detail = detail.splitlines()[0][:300]
        raise _failure(401 if status < 500 else 502, f"the token endpoint answered {status}: {detail}")
    token = parsed.get("access_token")
    if not isinstance(token, str) or not token:
        raise _failure(502, "the token endpoint answered without an access_token")
    try:
        lifetime = float(parsed.get("expires_in") or DEFAULT_LIFETIME)
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    return token, time.time() + lifetime


def _send(outbound: "Outbound", method: str, url: str, headers: dict[str, str], body: bytes | None) -> Any:
    try:
        response = outbound.client.send(method, url, headers=headers, body=body, timeout=_timeout(outbound))
    except UpstreamFailure as failure:
        raise _failure(502, f"the token endpoint is unreachable ({failure.kind})") from None
    return _token_of(response.status_code, response.content)


def _entra(outbound: "Outbound", options: dict[str, Any], cache: "TokenCache") -> str:
    tenant = options.get("azure_entra_tenant_id")
    client_id = options.get("azure_entra_client_id")
    secret = options.get("azure_entra_client_secret")
    if not (tenant and client_id and secret):
        raise _failure(
            401, "entra auth needs azure_entra_tenant_id, azure_entra_client_id and azure_entra_client_secret"
        )
    scope = str(options.get("azure_entra_scope") or DEFAULT_SCOPE)
    host = outbound.settings.azure_authority_host
    url = f"{host}/{tenant}/oauth2/v2.0/token"
    secret_hash = hashlib.sha256(str(secret).encode()).hexdigest()
    form = urlencode(
        {"client_id": client_id, "client_secret": secret, "scope": scope, "grant_type": "client_credentials"}
    ).encode()
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}

    def fetch() -> tuple[str, float]:
        log.info("fetching an Entra token (tenant %s, client %s)", tenant, client_id)
        return _send(outbound, "POST", url, headers, form)

    return cache.get_or_fetch(cache_key("azure-entra", host, tenant, client_id, scope, secret_hash), fetch)


def _managed(outbound: "Outbound", options: dict[str, Any], cache: "TokenCache") -> str:
    client_id = options.get("azure_managed_client_id") or ""
    query = {"api-version": IMDS_API_VERSION, "resource": MANAGED_RESOURCE}
    if client_id:
        query["client_id"] = str(client_id)
    endpoint = outbound.settings.azure_imds_endpoint
    url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    def fetch() -> tuple[str, float]:
        log.info("fetching a managed-identity token (client %s)", client_id or "system-assigned")
        return _send(outbound, "GET", url, {"Metadata": "true", "accept": "application/json"}, None)

    return cache.get_or_fetch(cache_key("azure-managed", endpoint, client_id, MANAGED_RESOURCE), fetch)


def resolve(outbound: "Outbound", leaf: "Leaf", cache: "TokenCache") -> dict[str, Any]:
    """Return ``{"access_token": ...}`` for Entra or managed-identity auth, else ``{}``."""
    options = leaf.options
    if options.get("azure_ad_token"):
        return {}
    mode = str(options.get("azure_auth_mode") or "").lower()
    if mode == "entra":
        return {"access_token": _entra(outbound, options, cache)}
    if mode == "managed":
        return {"access_token": _managed(outbound, options, cache)}
    if mode not in ("", "apikey", "api_key", "api-key"):
        raise _failure(401, f"azure_auth_mode {mode!r} is not supported here (use entra, managed or an api key)")
    return {}
