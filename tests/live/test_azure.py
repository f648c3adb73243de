"""OpenAI format in, Azure OpenAI out: end to end through gunicorn with the openai SDK.

The custom host replaces ``https://{resource}.openai.azure.com``; the Entra and managed-identity
token endpoints of the gateway under test point at the mock (each under its own scenario id, so
the token requests can be counted).
"""

from __future__ import annotations

import json
import uuid

import openai
import pytest
import requests

from tests.chatdata import WEATHER_TOOL, stream_with_usage, streamed_text
from tests.support import mock_client, mock_host, scenario_id

API_VERSION = "2024-10-21"


@pytest.fixture(scope="module")
def token_ids() -> dict[str, str]:
    return {"entra": "azent-" + uuid.uuid4().hex[:8], "managed": "azmi-" + uuid.uuid4().hex[:8]}


@pytest.fixture(scope="module")
def azure_gateway(gateway_factory, mockctl, token_ids):
    """A gateway whose Entra authority and instance-metadata endpoint are the mock."""
    return gateway_factory(
        GATEWAY_AZURE_AUTHORITY_HOST=f"{mockctl.url}/s/id={token_ids['entra']}",
        GATEWAY_AZURE_IMDS_ENDPOINT=f"{mockctl.url}/s/id={token_ids['managed']}/metadata/identity/oauth2/token",
    )


def client(gateway, mockctl, *, version=API_VERSION, key="az-key", headers=None, **switches):
    azure = {
        "x-portkey-azure-resource-name": "contoso",
        "x-portkey-azure-deployment-id": "gpt4o-prod",
        "x-portkey-azure-api-version": version,
        **(headers or {}),
    }
    return mock_client(gateway, mockctl, "azure-openai", key=key, path="", headers=azure, **switches)


def test_text_with_api_key_and_the_body_forwarded_whole(azure_gateway, mockctl) -> None:
    c, sid = client(azure_gateway, mockctl)
    raw = c.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello Azure"}],
        tools=[WEATHER_TOOL],
        parallel_tool_calls=False,
        service_tier="default",
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == "echo: Hello Azure"
    assert raw.headers["x-portkey-provider"] == "azure-openai"
    assert "x-portkey-unmapped-params" not in raw.headers
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/openai/deployments/gpt4o-prod/chat/completions"
    assert received["query"] == f"api-version={API_VERSION}"
    assert received["headers"]["api-key"] == "az-key"
    assert "authorization" not in received["headers"]
    body = json.loads(received["body"])
    assert body["parallel_tool_calls"] is False and body["service_tier"] == "default"
    assert body["messages"][0]["role"] == "developer" and body["model"] == "gpt-4o"


def test_stream_with_include_usage(azure_gateway, mockctl) -> None:
    c, sid = client(azure_gateway, mockctl, chunks=4)
    chunks = stream_with_usage(c, "gpt-4o", "stream please")
    assert streamed_text(chunks) == "echo: stream please"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert json.loads(mockctl.requests(sid)[0]["body"])["stream_options"] == {"include_usage": True}


def test_entra_token_is_fetched_once_and_reused(azure_gateway, mockctl, token_ids) -> None:
    tenant = "tenant-" + uuid.uuid4().hex[:6]
    entra = {
        "x-portkey-azure-auth-mode": "entra",
        "x-portkey-azure-entra-tenant-id": tenant,
        "x-portkey-azure-entra-client-id": "app-123",
        "x-portkey-azure-entra-client-secret": "s3cret-value",
    }
    c, sid = client(azure_gateway, mockctl, key="unused", headers=entra)
    for word in ("one", "two"):
        reply = c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": word}])
        assert reply.choices[0].message.content == f"echo: {word}"
    fetched = [r for r in mockctl.requests(token_ids["entra"]) if r["path"] == f"/{tenant}/oauth2/v2.0/token"]
    assert len(fetched) == 1
    form = dict(pair.split("=", 1) for pair in fetched[0]["body"].split("&"))
    assert form["grant_type"] == "client_credentials" and form["client_id"] == "app-123"
    assert form["scope"] == "https%3A%2F%2Fcognitiveservices.azure.com%2F.default"
    sent = mockctl.requests(sid)
    tokens = {r["headers"]["authorization"] for r in sent}
    assert len(sent) == 2 and len(tokens) == 1 and tokens.pop().startswith(f"Bearer entra-{tenant}-")
    assert all("api-key" not in r["headers"] for r in sent)
    assert azure_gateway.wait_log('"route":"/v1/chat/completions"', count=2)  # both request lines are out
    assert "s3cret-value" not in azure_gateway.log()


def test_entra_failure_is_a_401_naming_the_token(azure_gateway, mockctl) -> None:
    entra = {
        "x-portkey-azure-auth-mode": "entra",
        "x-portkey-azure-entra-tenant-id": "t-bad",
        "x-portkey-azure-entra-client-id": "app-123",
        "x-portkey-azure-entra-client-secret": "bad-secret",
    }
    c, sid = client(azure_gateway, mockctl, headers=entra)
    expected = "azure-openai error: could not obtain a token: .*AADSTS7000215"
    with pytest.raises(openai.AuthenticationError, match=expected):
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert mockctl.requests(sid) == []


def test_managed_identity_token(azure_gateway, mockctl, token_ids) -> None:
    client_id = "mi-" + uuid.uuid4().hex[:6]
    managed = {"x-portkey-azure-auth-mode": "managed", "x-portkey-azure-managed-client-id": client_id}
    c, sid = client(azure_gateway, mockctl, headers=managed)
    c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "y"}])
    fetched = [r for r in mockctl.requests(token_ids["managed"]) if f"client_id={client_id}" in r["query"]]
    assert len(fetched) == 1
    assert fetched[0]["headers"]["metadata"] == "true"
    assert "api-version=2018-02-01" in fetched[0]["query"]
    assert "resource=https%3A%2F%2Fcognitiveservices.azure.com%2F" in fetched[0]["query"]
    assert all(r["headers"]["authorization"].startswith("Bearer managed-") for r in mockctl.requests(sid))


def test_static_ad_token_with_bearer_prefix(azure_gateway, mockctl) -> None:
    token = requests.post(
        f"{mockctl.url}/some-tenant/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": "c", "client_secret": "s", "scope": "x"},
        timeout=5,
    ).json()["access_token"]
    c, sid = client(azure_gateway, mockctl, headers={"x-portkey-azure-ad-token": f"Bearer {token}"})
    c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert mockctl.requests(sid)[0]["headers"]["authorization"] == f"Bearer {token}"


def test_v1_api_uses_the_deployment_as_model(azure_gateway, mockctl) -> None:
    c, sid = client(azure_gateway, mockctl, version="v1")
    c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/openai/v1/chat/completions" and received["query"] == ""
    assert json.loads(received["body"])["model"] == "gpt4o-prod"


def test_embeddings_and_completions(azure_gateway, mockctl) -> None:
    c, sid = client(azure_gateway, mockctl)
    emb = c.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=4)
    assert [len(d.embedding) for d in emb.data] == [4, 4]
    done = c.completions.create(model="gpt-35-turbo-instruct", prompt="Say hi")
    assert done.choices[0].text == "echo: Say hi"
    paths = [r["path"] for r in mockctl.requests(sid)]
    assert paths == ["/openai/deployments/gpt4o-prod/embeddings", "/openai/deployments/gpt4o-prod/completions"]


def test_provider_errors_keep_status_and_message(azure_gateway, mockctl) -> None:
    c, _ = client(azure_gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="azure-openai error: mock failure 429"):
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_missing_key_is_azures_401(azure_gateway, mockctl) -> None:
    resp = requests.post(
        azure_gateway.url + "/v1/chat/completions",
        timeout=10,
        headers={
            "x-portkey-provider": "azure-openai",
            "x-portkey-custom-host": mock_host(mockctl, "", id=scenario_id()),
            "x-portkey-azure-deployment-id": "d",
            "x-portkey-azure-api-version": API_VERSION,
        },
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 401
    assert resp.json()["error"]["message"].startswith("azure-openai error: Access denied")


def test_cut_stream_ends_with_an_error_event(azure_gateway, mockctl) -> None:
    c, sid = client(azure_gateway, mockctl, chunks=6, cut_after=3)
    seen = []
    with pytest.raises(openai.APIError, match="azure-openai error"):
        for chunk in c.chat.completions.create(
            model="gpt-4o", stream=True, messages=[{"role": "user", "content": "a long answer"}]
        ):
            seen.append(chunk)
    assert seen and mockctl.events(sid)[-1]["event"] in ("cut", "closed")


def test_unsupported_auth_mode_is_refused_not_ignored(azure_gateway, mockctl) -> None:
    c, sid = client(azure_gateway, mockctl, headers={"x-portkey-azure-auth-mode": "workload"})
    with pytest.raises(openai.AuthenticationError, match="azure_auth_mode 'workload' is not supported"):
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert mockctl.requests(sid) == []
