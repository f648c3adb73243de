"""OpenAI format in, Vertex AI out (Gemini and Claude publisher models), service-account auth included."""

from __future__ import annotations

import json
import time

import jwt
import openai
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.chatdata import collect_tool_calls, stream_with_usage, streamed_text
from tests.support import mock_client, mock_host, scenario_id

REGION = "us-east5"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account(mockctl, rsa_key, sid: str, register: bool = True, **overrides) -> dict:
    """A service account whose token endpoint is the mock (its public key registered there)."""
    email = f"gateway-test-{sid}@sa-project.iam.gserviceaccount.com"
    if register:
        public = rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        registration = {"client_email": email, "private_key_id": f"kid-{sid}", "public_key": public.decode()}
        requests.post(mockctl.url + "/oauth2/keys", json=registration, timeout=5).raise_for_status()
    private = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "type": "service_account",
        "project_id": "sa-project",
        "private_key_id": f"kid-{sid}",
        "private_key": private.decode(),
        "client_email": email,
        "token_uri": f"{mockctl.url}/s/id={sid}/oauth2/token",
        **overrides,
    }


def client(gateway, mockctl, sid: str, account: dict | None = None, key: str = "unused", **switches):
    headers = {"x-portkey-vertex-region": REGION, "x-portkey-vertex-project-id": "option-project"}
    if account is not None:
        headers["x-portkey-vertex-service-account-json"] = json.dumps(account)
    c, _ = mock_client(gateway, mockctl, "vertex-ai", key=key, path="", headers=headers, sid=sid, **switches)
    return c


def account_client(gateway, mockctl, rsa_key, **switches):
    """A client authenticated by a registered service account, under a fresh scenario id; returns it and the id."""
    sid = scenario_id()
    return client(gateway, mockctl, sid, service_account(mockctl, rsa_key, sid), **switches), sid


def model_requests(mockctl, sid: str) -> list[dict]:
    return [r for r in mockctl.requests(sid) if "/publishers/" in r["path"]]


def token_requests(mockctl, sid: str) -> list[dict]:
    return [r for r in mockctl.requests(sid) if r["path"] == "/oauth2/token"]


def test_service_account_token_is_fetched_once_and_reused(gateway, mockctl, rsa_key) -> None:
    c, sid = account_client(gateway, mockctl, rsa_key)
    first = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "one"}])
    streamed = list(
        c.chat.completions.create(model="gemini-2.5-flash", stream=True, messages=[{"role": "user", "content": "two"}])
    )
    claude = c.chat.completions.create(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "three"}])
    assert first.choices[0].message.content == "echo: one"
    assert streamed_text(streamed) == "echo: two"
    assert claude.choices[0].message.content == "echo: three"
    tokens = token_requests(mockctl, sid)
    assert len(tokens) == 1
    form = dict(pair.split("=", 1) for pair in tokens[0]["body"].split("&"))
    assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    claims = jwt.decode(form["assertion"], options={"verify_signature": False})
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert claims["exp"] - claims["iat"] == 3600 and claims["aud"].endswith(f"/s/id={sid}/oauth2/token")
    calls = model_requests(mockctl, sid)
    assert len(calls) == 3
    assert len({r["headers"]["authorization"] for r in calls}) == 1
    assert calls[0]["headers"]["authorization"].startswith("Bearer ya29.mock-")
    # The service account's project wins over x-portkey-vertex-project-id.
    assert calls[0]["path"] == (
        f"/v1/projects/sa-project/locations/{REGION}/publishers/google/models/gemini-2.5-flash:generateContent"
    )


def test_claude_on_vertex_text_and_stream(gateway, mockctl, rsa_key) -> None:
    c, sid = account_client(gateway, mockctl, rsa_key)
    reply = c.chat.completions.create(
        model="anthropic.claude-sonnet-4-5@20250929",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Claude"}],
    )
    assert reply.choices[0].message.content == "echo: Hello Claude"
    assert reply.choices[0].finish_reason == "stop"
    chunks = stream_with_usage(c, "anthropic.claude-sonnet-4-5@20250929", "stream Claude")
    assert streamed_text(chunks) == "echo: stream Claude"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    plain, streamed = model_requests(mockctl, sid)
    base = f"/v1/projects/sa-project/locations/{REGION}/publishers/anthropic/models/claude-sonnet-4-5@20250929"
    assert plain["path"] == base + ":rawPredict"
    assert streamed["path"] == base + ":streamRawPredict"
    body = json.loads(plain["body"])
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    assert body["system"] == [{"type": "text", "text": "Be brief."}] and body["max_tokens"] == 4096
    assert json.loads(streamed["body"])["stream"] is True


def test_claude_on_vertex_parallel_tool_calls_streamed(gateway, mockctl, rsa_key) -> None:
    c, _ = account_client(gateway, mockctl, rsa_key, tool_calls=2)
    tools = [
        {"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
        for n in ("get_weather", "get_time")
    ]
    calls, _ = collect_tool_calls(
        c.chat.completions.create(
            model="claude-sonnet-4-5", stream=True, tools=tools, messages=[{"role": "user", "content": "both"}]
        )
    )
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["toolu_vrtx_0", "toolu_vrtx_1"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "city-0"}, {"city": "city-1"}]


def test_gemini_on_vertex_stream_with_usage(gateway, mockctl, rsa_key) -> None:
    c, sid = account_client(gateway, mockctl, rsa_key, chunks=3)
    chunks = stream_with_usage(c, "google.gemini-2.5-pro", "stream Gemini", extra_body={"labels": {"team": "search"}})
    assert streamed_text(chunks) == "echo: stream Gemini"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens > 0
    (received,) = model_requests(mockctl, sid)
    assert received["path"].endswith("/publishers/google/models/gemini-2.5-pro:streamGenerateContent")
    assert received["query"] == "alt=sse"
    assert json.loads(received["body"])["labels"] == {"team": "search"}


def test_gemini_on_vertex_incomplete_stream_ends_with_an_error_event(gateway, mockctl, rsa_key) -> None:
    c, _ = account_client(gateway, mockctl, rsa_key, error_after=2)
    with pytest.raises(openai.APIError, match="overloaded"):
        list(
            c.chat.completions.create(
                model="gemini-2.5-flash", stream=True, messages=[{"role": "user", "content": "x"}]
            )
        )


def test_embeddings_on_predict(gateway, mockctl, rsa_key) -> None:
    c, sid = account_client(gateway, mockctl, rsa_key)
    result = c.embeddings.create(model="text-embedding-005", input=["alpha", "beta gamma"], dimensions=12)
    assert [len(d.embedding) for d in result.data] == [12, 12]
    assert result.usage.prompt_tokens > 0
    (received,) = model_requests(mockctl, sid)
    assert received["path"].endswith("/publishers/google/models/text-embedding-005:predict")
    body = json.loads(received["body"])
    assert body == {
        "instances": [{"content": "alpha"}, {"content": "beta gamma"}],
        "parameters": {"outputDimensionality": 12},
    }


def test_an_access_token_as_the_api_key(gateway, mockctl, rsa_key) -> None:
    sid = scenario_id()
    account = service_account(mockctl, rsa_key, sid)
    issued = int(time.time())
    assertion = jwt.encode(
        {
            "iss": account["client_email"],
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "aud": account["token_uri"],
            "iat": issued,
            "exp": issued + 600,
        },
        account["private_key"],
        algorithm="RS256",
        headers={"kid": account["private_key_id"]},
    )
    minted = requests.post(
        account["token_uri"],
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        timeout=5,
    ).json()["access_token"]
    c = client(gateway, mockctl, sid, key=minted)
    reply = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "token"}])
    assert reply.choices[0].message.content == "echo: token"
    (received,) = model_requests(mockctl, sid)
    assert received["headers"]["authorization"] == f"Bearer {minted}"
    assert "/projects/option-project/" in received["path"]


def test_options_from_a_config(gateway, mockctl, rsa_key) -> None:
    sid = scenario_id()
    config = {
        "provider": "vertex-ai",
        "custom_host": mock_host(mockctl, "", id=sid),
        "vertex_region": "global",
        "vertex_project_id": "cfg-project",
        "vertex_service_account_json": service_account(mockctl, rsa_key, sid, project_id=""),
    }
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers={"x-portkey-config": json.dumps(config)},
        json={"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "configured"}]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == "echo: configured"
    (received,) = model_requests(mockctl, sid)
    assert received["path"].startswith("/v1/projects/cfg-project/locations/global/publishers/google/")


def test_token_endpoint_refusal_is_an_authentication_error(gateway, mockctl, rsa_key) -> None:
    sid = scenario_id()
    unknown = service_account(mockctl, rsa_key, sid, register=False)
    c = client(gateway, mockctl, sid, unknown)
    with pytest.raises(
        openai.AuthenticationError, match="vertex-ai error: could not obtain an access token: .*not found"
    ):
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert model_requests(mockctl, sid) == []


def test_token_endpoint_outage_is_a_502(gateway, mockctl, rsa_key) -> None:
    sid = scenario_id()
    account = service_account(mockctl, rsa_key, sid, token_uri=f"{mockctl.url}/s/id={sid},status=500/oauth2/token")
    c = client(gateway, mockctl, sid, account)
    with pytest.raises(openai.InternalServerError, match="could not obtain an access token") as caught:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 502


def test_a_private_token_uri_is_refused(gateway, mockctl, rsa_key) -> None:
    sid = scenario_id()
    account = service_account(mockctl, rsa_key, sid, token_uri="http://169.254.169.254/token")
    c = client(gateway, mockctl, sid, account)
    with pytest.raises(openai.AuthenticationError, match="token_uri is not allowed"):
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])


def test_vertex_errors_keep_status_and_message(gateway, mockctl, rsa_key) -> None:
    c, _ = account_client(gateway, mockctl, rsa_key, status=429)
    with pytest.raises(openai.RateLimitError, match="vertex-ai error: mock failure 429"):
        c.chat.completions.create(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}])


def test_a_foreign_token_is_rejected_by_the_mock(gateway, mockctl) -> None:
    sid = scenario_id()
    c = client(gateway, mockctl, sid, key="ya29.not-issued")
    with pytest.raises(openai.AuthenticationError, match="vertex-ai error: Request had invalid authentication"):
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
