"""The jwt check of the default plugin: verify a JWT from a request header against a JWKS.

Facts from the reference (``plugins/default/jwt.ts``, jose ``jwtVerify``): the token is read
from ``headerKey`` (default ``Authorization``; a ``Bearer`` prefix is stripped); its header's
``kid`` picks the JWKS key (the JWKS is fetched again once when the kid is unknown), imported
with the key's ``alg``; the signature, ``exp`` and ``nbf`` are checked with ``clockTolerance``
seconds (default 5) and ``iat`` against ``maxTokenAge`` (default ``1d``; a token without
``iat`` fails). The JWKS is cached ``cacheMaxAge`` seconds (default 86400). A missing header,
an unknown kid or a failed verification fails the check; a JWKS that cannot be fetched and a
malformed token are errors. Here a JWK without ``alg`` takes the token's ``alg`` when it fits the
key type (jose refuses such keys), and refetches of an unknown kid are cached 60 seconds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from gateway.guardrails.contract import CheckIO, CheckResult, HookContext
from gateway.guardrails.default.common import is_number, js_str, truthy

JWKS_TIMEOUT = 5.0
JWKS_REFRESH_TTL = 60.0

_PERIOD = re.compile(
    r"^(\d+|\d+\.\d+) ?(sec|secs|second|seconds|s|minute|minutes|min|mins|m|hour|hours|hr|hrs|h"
    r"|day|days|d|week|weeks|w|year|years|yr|yrs|y)$",
    re.IGNORECASE,
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}
_FAMILIES = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA", "Ed25519", "Ed448")}


def seconds(period: Any) -> float:
    """Parse a jose time span (``30s``, ``15 minutes``, ``2h``, ``1d``, ``1w``, ``1y``) or a number of seconds."""
    if isinstance(period, (int, float)) and not isinstance(period, bool):
        return float(period)
    found = _PERIOD.match(str(period).strip())
    if not found:
        raise ValueError("Invalid time period format")
    return float(found.group(1)) * _UNITS[found.group(2)[0].lower()]


class _Refused(Exception):
    """A JWT check failure that is reported as an error."""


def _jwks(io: CheckIO, uri: str, ttl: float, key: str) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        answer = io.get(uri, {"accept": "application/json"}, JWKS_TIMEOUT)
        if not 200 <= answer.status < 300:
            raise _Refused(f"Failed to fetch JWKS from {uri}")
        try:
            document = json.loads(answer.body)
        except ValueError:
            raise _Refused(f"Failed to fetch JWKS from {uri}: not JSON") from None
        if not isinstance(document, dict):
            raise _Refused(f"Failed to fetch JWKS from {uri}: not a JWKS")
        return document

    try:
        return io.cached(key, ttl, fetch)
    except _Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - any network or SSRF refusal is a failed JWKS fetch
        raise _Refused(f"Failed to fetch JWKS from {uri}: {exc}") from None


def _matching_key(header: Mapping[str, Any], jwks: Mapping[str, Any]) -> tuple[Any, str] | None:
    import jwt

    kid = header.get("kid")
    if not kid:
        return None
    jwk = next((k for k in jwks.get("keys") or [] if isinstance(k, Mapping) and k.get("kid") == kid), None)
    if jwk is None:
        return None
    alg = jwk.get("alg") or header.get("alg")
    if not jwk.get("alg") and not str(alg).startswith(_FAMILIES.get(str(jwk.get("kty")), ("\0",))):
        raise ValueError('"alg" argument is required when "jwk.alg" is not present')
    return jwt.PyJWK(dict(jwk), algorithm=alg).key, alg


def _verify(token: str, key: Any, alg: str, tolerance: float, max_age: Any) -> None:
    import jwt

    claims = jwt.decode(
        token,
        key,
        algorithms=[alg],
        leeway=tolerance,
        options={"verify_aud": False, "verify_iat": False, "verify_sub": False, "verify_jti": False},
    )
    limit = seconds(max_age)
    if "iat" not in claims:
        raise jwt.InvalidTokenError('"iat" claim missing')
    iat = claims["iat"]
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise jwt.InvalidTokenError('"iat" claim must be a number')
    now = time.time()
    if iat - tolerance > now:
        raise jwt.InvalidTokenError('"iat" claim timestamp check failed (it should be in the past)')
    if now - iat - tolerance > limit:
        raise jwt.InvalidTokenError('"iat" claim timestamp check failed (too far in the past)')


def _positive(value: Any, default: float) -> float:
    """Read a number of seconds the way ``value || default`` does, ignoring values that are not numbers."""
    return float(value) if is_number(value) and value > 0 else default


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lname = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lname), None)


def jwt_check(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the request header carries a JWT verified against the JWKS."""
    import jwt  # PyJWT and cryptography load on first use: only configs with this check need them

    header_key = js_str(parameters.get("headerKey") or "Authorization")
    uri = parameters.get("jwksUri")

    def outcome(explanation: str, err: str | None = None, verdict: bool = False) -> CheckResult:
        return CheckResult(verdict=verdict, error=err, data={"verdict": verdict, "explanation": explanation})

    if not truthy(uri):
        return outcome("JWT validation error: Missing JWKS URI", "Missing JWKS URI")
    value = _header(context.request_headers or {}, header_key)
    if not value:
        return outcome("Missing authorization header")
    token = re.sub(r"^Bearer\s+", "", value, flags=re.IGNORECASE).strip()
    max_age = _positive(parameters.get("cacheMaxAge"), 86400.0)
    tolerance = _positive(parameters.get("clockTolerance"), 5.0)
    try:
        jwks = _jwks(io, str(uri), max_age, f"jwks:{uri}")
        try:
            header = jwt.get_unverified_header(token)
            found = _matching_key(header, jwks)
            if found is None:
                jwks = _jwks(io, str(uri), min(JWKS_REFRESH_TTL, max_age), f"jwks-refresh:{uri}")
                found = _matching_key(header, jwks)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            return outcome(f"JWT validation error: {exc}", str(exc))
        if found is None:
            return outcome("No matching key found for kid")
        try:
            _verify(token, found[0], found[1], tolerance, parameters.get("maxTokenAge") or "1d")
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            return outcome(f"JWT validation error: {exc}")
    except _Refused as exc:
        return outcome(f"JWT validation error: {exc}", str(exc))
    return outcome("JWT token validation succeeded", verdict=True)
