"""The jwt check (``gateway.guardrails.default.jwt_verify``): RS256 tokens signed with a key made
per module, verified against a JWKS served by the fake ``CheckIO``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.guardrails.contract import HookContext
from tests.unit.guardrails.default.harness import Answer, FakeIO, before, check, json_answer, run

# -- jwt ---------------------------------------------------------------------------------------------

JWKS_URI = "https://issuer.example/.well-known/jwks.json"


def jwks_for(key, kid: str = "k1", alg: str | None = "RS256") -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig")
    if alg:
        jwk["alg"] = alg
    return {"keys": [jwk]}


def token(key, kid: str | None = "k1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "1234567890", "iat": now, "exp": now + 600, "aud": "someone", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid} if kid else {})


def jwt_context(value: str | None, header: str = "Authorization") -> HookContext:
    return before(request_headers={header: value} if value is not None else {})


def test_jwt_valid_token_and_jwks_cache(rsa_key):
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    params = {"jwksUri": JWKS_URI, "headerKey": "Authorization"}
    for _ in range(2):
        result = run("jwt", params, jwt_context(f"Bearer {token(rsa_key)}"), io)
        check(result, True, data={"verdict": True, "explanation": "JWT token validation succeeded"})
    assert [c[1] for c in io.calls] == [JWKS_URI]
    custom = run(
        "jwt", {"jwksUri": JWKS_URI, "headerKey": "X-Custom-Auth"}, jwt_context(token(rsa_key), "x-custom-auth"), io
    )
    check(custom, True)


@pytest.mark.parametrize(
    ("claims", "params", "explanation"),
    [
        ({"exp": int(time.time()) - 60}, {}, "JWT validation error: Signature has expired"),
        ({"iat": None}, {}, 'JWT validation error: "iat" claim missing'),
        (
            {"iat": int(time.time()) - 7200},
            {"maxTokenAge": "1h"},
            'JWT validation error: "iat" claim timestamp check failed (too far in the past)',
        ),
        ({"iat": int(time.time()) + 3600}, {}, 'JWT validation error: "iat" claim timestamp check failed (it should'),
        ({"nbf": int(time.time()) + 3600}, {}, "JWT validation error: The token is not yet valid (nbf)"),
        ({}, {"maxTokenAge": "soon"}, "JWT validation error: Invalid time period format"),
    ],
)
def test_jwt_claims_fail_without_error(rsa_key, claims, params, explanation):
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    result = run(
        "jwt",
        {"jwksUri": JWKS_URI, "headerKey": "Authorization", **params},
        jwt_context("Bearer " + token(rsa_key, **claims)),
        io,
    )
    check(result, False)
    assert result.data["verdict"] is False and result.data["explanation"].startswith(explanation)


def test_jwt_clock_tolerance_and_max_age(rsa_key):
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    expired = token(rsa_key, exp=int(time.time()) - 30, iat=int(time.time()) - 90)
    params = {"jwksUri": JWKS_URI, "headerKey": "Authorization", "clockTolerance": 60, "maxTokenAge": "2 minutes"}
    check(run("jwt", params, jwt_context(expired), io), True)
    check(run("jwt", {**params, "maxTokenAge": 10}, jwt_context(expired), io), False)


def test_jwt_key_selection(rsa_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    io = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key))})
    params = {"jwksUri": JWKS_URI, "headerKey": "Authorization"}
    check(
        run("jwt", params, jwt_context(token(rsa_key, kid="unknown")), io),
        False,
        data={"verdict": False, "explanation": "No matching key found for kid"},
    )
    assert len(io.calls) == 2  # the unknown kid refetched the JWKS once
    check(
        run("jwt", params, jwt_context(token(rsa_key, kid=None)), io),
        False,
        explanation="No matching key found for kid",
    )
    forged = run("jwt", params, jwt_context(token(other)), io)
    check(forged, False, explanation="JWT validation error: Signature verification failed")
    no_alg = FakeIO({JWKS_URI: json_answer(jwks_for(rsa_key, alg=None))})
    check(run("jwt", params, jwt_context(token(rsa_key)), no_alg), True)


@pytest.mark.parametrize(
    ("params", "value", "routes", "verdict_error", "explanation"),
    [
        ({"jwksUri": JWKS_URI}, None, {}, None, "Missing authorization header"),
        ({}, "Bearer valid.token.here", {}, "Missing JWKS URI", "JWT validation error: Missing JWKS URI"),
        (
            {"jwksUri": JWKS_URI},
            "Bearer valid.token.here",
            {},
            "Failed to fetch JWKS",
            "JWT validation error: Failed to fetch JWKS from " + JWKS_URI,
        ),
        (
            {"jwksUri": JWKS_URI},
            "Bearer valid.token.here",
            {JWKS_URI: Answer(404)},
            "Failed to fetch JWKS",
            "JWT validation error: Failed to fetch JWKS",
        ),
        (
            {"jwksUri": JWKS_URI},
            "InvalidFormat",
            {JWKS_URI: json_answer({"keys": []})},
            "Not enough segments",
            "JWT validation error: Not enough segments",
        ),
    ],
)
def test_jwt_errors(params, value, routes, verdict_error, explanation):
    result = run("jwt", params, jwt_context(value), FakeIO(routes))
    check(result, False, error=verdict_error)
    assert result.data["verdict"] is False and result.data["explanation"].startswith(explanation)
