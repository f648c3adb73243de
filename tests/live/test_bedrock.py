"""OpenAI format in, AWS Bedrock (Converse, ConverseStream, InvokeModel) out: through gunicorn with the openai SDK.

The mock verifies every SigV4 signature with botocore against the known test secrets (or the
credentials its STS route issued), so a passing request proves the gateway signed what it sent.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs

import openai
import pytest
import requests

from tests.chatdata import (
    PERSON_SCHEMA,
    PNG,
    TIME_TOOL,
    WEATHER_TOOL,
    stream_tool_calls,
    stream_with_usage,
    streamed_text,
    two_tool_results,
    with_images,
)
from tests.mockprovider import bedrock as mock
from tests.support import mock_client, mock_host, scenario_id

SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
#: The shared tools, ``get_weather`` with a description (Bedrock's ``toolSpec`` carries one).
TOOLS = [
    {"type": "function", "function": {**WEATHER_TOOL["function"], "description": "Weather for a city"}},
    TIME_TOOL,
]


def aws_headers(
    key: str | None = mock.ACCESS_KEY, secret: str | None = mock.SECRET_KEY, **extra: str
) -> dict[str, str]:
    headers = {"x-portkey-aws-region": "us-west-2"}
    if key:
        headers["x-portkey-aws-access-key-id"] = key
    if secret:
        headers["x-portkey-aws-secret-access-key"] = secret
    headers.update({f"x-portkey-{name.replace('_', '-')}": value for name, value in extra.items()})
    return headers


def client(gateway, mockctl, headers: dict[str, str] | None = None, key: str = "sk-unused", **switches):
    """Bedrock paths start at ``/model``: the custom host is the mock without ``/v1``."""
    return mock_client(gateway, mockctl, "bedrock", key=key, path="", headers=headers or aws_headers(), **switches)


# -- chat ----------------------------------------------------------------------------------------


def test_text_with_a_verified_signature_and_the_native_request(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model=SONNET,
        max_tokens=300,
        stop=["END"],
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Bedrock"}],
    )
    assert reply.choices[0].message.content == "echo: Hello Bedrock"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    received = mockctl.requests(sid)[0]
    assert received["path"] == f"/model/{SONNET}/converse"
    auth = received["headers"]["authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={mock.ACCESS_KEY}/")
    assert "/us-west-2/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" in auth
    assert "x-amz-security-token" not in received["headers"]
    body = json.loads(received["body"])
    assert "model" not in body
    assert body["system"] == [{"text": "Be brief."}]
    assert body["inferenceConfig"] == {"maxTokens": 300, "stopSequences": ["END"]}


def test_a_wrong_secret_is_rejected_by_the_signature_check(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, aws_headers(secret="not-the-secret"))
    with pytest.raises(openai.PermissionDeniedError, match="bedrock error: The request signature we calculated"):
        c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "x"}])


def test_options_from_a_config_header(gateway, mockctl) -> None:
    sid = scenario_id()
    config = {
        "provider": "bedrock",
        "aws_access_key_id": mock.ACCESS_KEY,
        "aws_secret_access_key": mock.SECRET_KEY,
        "aws_region": "eu-central-1",
        "custom_host": mock_host(mockctl, "", id=sid),
    }
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers={"x-portkey-config": json.dumps(config)},
        json={"model": SONNET, "messages": [{"role": "user", "content": "configured"}]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == "echo: configured"
    assert "/eu-central-1/bedrock/aws4_request" in mockctl.requests(sid)[0]["headers"]["authorization"]


def test_stream_with_usage_over_event_stream_frames(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, chunks=4, cache_read=7)
    chunks = stream_with_usage(c, SONNET, "stream please")
    assert streamed_text(chunks) == "echo: stream please"
    assert chunks[-2].choices[0].finish_reason == "stop"
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.prompt_tokens_details.cached_tokens == 7
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert mockctl.requests(sid)[0]["path"] == f"/model/{SONNET}/converse-stream"


def test_stream_survives_frames_split_across_writes(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, split=1, chunks=3)
    chunks = list(c.chat.completions.create(model=SONNET, stream=True, messages=[{"role": "user", "content": "hi"}]))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == "echo: hi"


def test_two_parallel_tool_calls_streamed(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, tool_calls=2)
    calls, finish = stream_tool_calls(c, SONNET, TOOLS)
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["tooluse_0", "tooluse_1"]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "city-0"}, {"city": "city-1"}]


def test_tool_calls_and_results_round_trip(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, tool_calls=1)
    reply = c.chat.completions.create(
        model=SONNET,
        tools=TOOLS,
        tool_choice="required",
        messages=two_tool_results("tu_x", "tu_y"),
    )
    assert reply.choices[0].finish_reason == "tool_calls"
    assert reply.choices[0].message.tool_calls[0].id == "tooluse_0"
    sent = json.loads(mockctl.requests(sid)[0]["body"])
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert [b["toolResult"]["toolUseId"] for b in sent["messages"][2]["content"]] == ["tu_x", "tu_y"]
    assert sent["toolConfig"]["toolChoice"] == {"any": {}}
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"] == ["city"]


def test_image_inputs_data_url_and_downloaded_http_url(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    image_url = f"{mockctl.url}/s/id={sid}/bedrock-mock/pixel.png"
    reply = c.chat.completions.create(model=SONNET, messages=with_images("What are these?", PNG, image_url))
    size = len(mock.PIXEL)
    assert (
        reply.choices[0].message.content == f"echo: What are these? [image: png {size} bytes] [image: png {size} bytes]"
    )
    received = mockctl.requests(sid)
    assert [r["path"] for r in received] == ["/bedrock-mock/pixel.png", f"/model/{SONNET}/converse"]


def test_json_schema_output_through_a_forced_tool(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    schema = PERSON_SCHEMA
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    reply = c.chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": "Ann is 30"}], response_format=fmt
    )
    assert json.loads(reply.choices[0].message.content) == {"name": "value", "age": 1}
    assert reply.choices[0].finish_reason == "stop" and not reply.choices[0].message.tool_calls
    config = json.loads(mockctl.requests(sid)[0]["body"])["toolConfig"]
    assert config["toolChoice"] == {"tool": {"name": "person"}}
    assert config["tools"][0]["toolSpec"]["inputSchema"]["json"] == schema
    streamed = c.chat.completions.create(
        model=SONNET, stream=True, messages=[{"role": "user", "content": "Ann is 30"}], response_format=fmt
    )
    chunks = list(streamed)
    assert json.loads("".join(ch.choices[0].delta.content or "" for ch in chunks)) == {"name": "value", "age": 1}
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_reasoning_effort_becomes_thinking_and_reasoning_content(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model="us." + SONNET, reasoning_effort="low", messages=[{"role": "user", "content": "think"}]
    )
    assert reply.choices[0].message.model_extra["reasoning_content"] == "Let me think about this."
    body = json.loads(mockctl.requests(sid)[0]["body"])
    assert body["additionalModelRequestFields"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["inferenceConfig"]["maxTokens"] == 4096 + 1024


def test_provider_errors_keep_status_and_message(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="bedrock error: mock failure 429"):
        c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "x"}])


def test_a_throttling_exception_mid_stream_ends_in_an_error_event(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, error_after=3)
    seen = []
    with pytest.raises(openai.APIError, match="Too many requests"):
        for chunk in c.chat.completions.create(model=SONNET, stream=True, messages=[{"role": "user", "content": "x"}]):
            seen.append(chunk)
    assert seen and all(ch.choices[0].finish_reason is None for ch in seen)


def test_a_stream_cut_mid_frame_ends_in_an_error_event(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, cut_after=2)
    with pytest.raises(openai.APIError, match="bedrock error: the connection to the provider was lost mid-stream"):
        list(c.chat.completions.create(model=SONNET, stream=True, messages=[{"role": "user", "content": "x"}]))
    assert [e["event"] for e in mockctl.events(sid)][:1] == ["cut"]


def test_an_exception_frame_first_fails_the_attempt_with_its_status(gateway, mockctl) -> None:
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers={
            "x-portkey-provider": "bedrock",
            "x-portkey-custom-host": mock_host(mockctl, "", id=scenario_id(), error_after=0),
            **aws_headers(),
        },
        json={"model": SONNET, "stream": True, "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 429
    assert resp.json()["error"]["type"] == "throttlingException"


def test_unmapped_params_are_named(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    raw = c.chat.completions.with_raw_response.create(
        model=SONNET, seed=3, logit_bias={"1": 2}, messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["x-portkey-unmapped-params"] == "logit_bias,seed"


# -- credentials ---------------------------------------------------------------------------------


def test_session_token_credentials(gateway, mockctl) -> None:
    headers = aws_headers(mock.SESSION_ACCESS_KEY, mock.SESSION_SECRET, aws_session_token=mock.SESSION_TOKEN)
    c, sid = client(gateway, mockctl, headers)
    assert c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "hi"}]).choices
    received = mockctl.requests(sid)[0]["headers"]
    assert received["x-amz-security-token"] == mock.SESSION_TOKEN
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token," in received["authorization"]
    wrong = aws_headers(mock.SESSION_ACCESS_KEY, mock.SESSION_SECRET, aws_session_token="stale-token")
    c, _ = client(gateway, mockctl, wrong)
    with pytest.raises(openai.PermissionDeniedError, match="security token included in the request is invalid"):
        c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "hi"}])


def test_bearer_api_key(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, aws_headers(None, None, aws_auth_type="apiKey"), key=mock.API_KEY)
    reply = c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "keyed"}])
    assert reply.choices[0].message.content == "echo: keyed"
    received = mockctl.requests(sid)[0]["headers"]
    assert received["authorization"] == f"Bearer {mock.API_KEY}"
    assert "x-amz-date" not in received


@pytest.fixture(scope="module")
def sts_gateway(gateway_factory, mockctl):
    """A gateway whose STS endpoint is the mock; assume-role source keys also in its environment."""
    sts_id = "sts-" + uuid.uuid4().hex[:8]
    server = gateway_factory(
        GATEWAY_AWS_STS_ENDPOINT=f"{mockctl.url}/s/id={sts_id}/sts",
        AWS_ASSUME_ROLE_ACCESS_KEY_ID=mock.STS_SOURCE_KEY,
        AWS_ASSUME_ROLE_SECRET_ACCESS_KEY=mock.STS_SOURCE_SECRET,
    )
    return server, sts_id


def test_assumed_role_fetches_credentials_once(sts_gateway, mockctl) -> None:
    server, sts_id = sts_gateway
    role = f"arn:aws:iam::123456789012:role/bedrock-{uuid.uuid4().hex[:6]}"
    headers = aws_headers(
        mock.STS_SOURCE_KEY,
        mock.STS_SOURCE_SECRET,
        aws_auth_type="assumedRole",
        aws_role_arn=role,
        aws_external_id="ext-1",
    )
    c, sid = client(server, mockctl, headers)
    for i in range(3):
        reply = c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": f"role {i}"}])
        assert reply.choices[0].message.content == f"echo: role {i}"
    calls = [r for r in mockctl.requests(sts_id) if role in parse_qs(r["query"]).get("RoleArn", [])]
    assert len(calls) == 1
    query = parse_qs(calls[0]["query"])
    assert query["Action"] == ["AssumeRole"] and query["Version"] == ["2011-06-15"] and query["ExternalId"] == ["ext-1"]
    assert f"Credential={mock.STS_SOURCE_KEY}/" in calls[0]["headers"]["authorization"]
    assert "/sts/aws4_request" in calls[0]["headers"]["authorization"]
    received = mockctl.requests(sid)
    assert len(received) == 3
    assert all(r["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=ASIAMOCKROLE") for r in received)
    assert len({r["headers"]["x-amz-security-token"] for r in received}) == 1


def test_assumed_role_with_source_keys_from_the_environment(sts_gateway, mockctl) -> None:
    server, sts_id = sts_gateway
    role = f"arn:aws:iam::123456789012:role/env-{uuid.uuid4().hex[:6]}"
    c, _ = client(server, mockctl, aws_headers(None, None, aws_auth_type="assumedRole", aws_role_arn=role))
    reply = c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "env"}])
    assert reply.choices[0].message.content == "echo: env"
    calls = [r for r in mockctl.requests(sts_id) if role in parse_qs(r["query"]).get("RoleArn", [])]
    assert len(calls) == 1 and "ExternalId" not in parse_qs(calls[0]["query"])


def test_a_denied_role_is_a_401_naming_the_sts_error(sts_gateway, mockctl) -> None:
    server, _ = sts_gateway
    role = "arn:aws:iam::123456789012:role/denied"
    c, sid = client(server, mockctl, aws_headers(None, None, aws_auth_type="assumedRole", aws_role_arn=role))
    with pytest.raises(openai.AuthenticationError, match="bedrock error: could not assume role: AccessDenied: "):
        c.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "x"}])
    assert mockctl.requests(sid) == []


# -- embeddings ----------------------------------------------------------------------------------


def test_titan_embeddings_via_the_sdk(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    result = c.embeddings.create(model="amazon.titan-embed-text-v2:0", input="hello embedding world", dimensions=256)
    assert len(result.data) == 1 and len(result.data[0].embedding) == 256
    assert result.data[0].embedding[:4] == pytest.approx(mock.vector("hello embedding world", 4), abs=1e-6)
    assert result.usage.prompt_tokens == 3 and result.usage.total_tokens == 3
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/model/amazon.titan-embed-text-v2:0/invoke"
    assert json.loads(received["body"]) == {"inputText": "hello embedding world", "dimensions": 256}
    with pytest.raises(openai.BadRequestError, match="embeds one input per request"):
        c.embeddings.create(model="amazon.titan-embed-text-v2:0", input=["a", "b"])


def test_cohere_embeddings_via_the_sdk(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    result = c.embeddings.create(model="cohere.embed-english-v3", input=["first", "second word"])
    assert [d.index for d in result.data] == [0, 1]
    # Cohere's answer has no token count: usage comes from the X-Amzn-Bedrock-Input-Token-Count header.
    assert result.usage.prompt_tokens == 3 and result.usage.total_tokens == 3
    assert result.data[1].embedding[:3] == pytest.approx(mock.vector("second word", 3), abs=1e-6)
    body = json.loads(mockctl.requests(sid)[0]["body"])
    assert body == {"texts": ["first", "second word"], "input_type": "search_document", "embedding_types": ["float"]}
    c.embeddings.create(model="cohere.embed-english-v3", input="query", extra_body={"input_type": "search_query"})
    assert json.loads(mockctl.requests(sid)[1]["body"])["input_type"] == "search_query"


def test_sts_failures_map_to_401_or_502() -> None:
    from gateway.auth.aws import parse_assume_role
    from gateway.core.errors import ProviderError

    denied = (
        b"<ErrorResponse><Error><Code>ExpiredToken</Code><Message>The token expired</Message></Error></ErrorResponse>"
    )
    with pytest.raises(ProviderError) as caught:
        parse_assume_role(403, denied)
    assert (caught.value.status_code, caught.value.message) == (
        401,
        "bedrock error: could not assume role: ExpiredToken: The token expired",
    )
    for status, body in (
        (500, b"<ErrorResponse><Error><Code>InternalFailure</Code></Error></ErrorResponse>"),
        (200, b"<html>not xml"),
        (200, b"<AssumeRoleResponse/>"),
    ):
        with pytest.raises(ProviderError) as caught:
            parse_assume_role(status, body)
        assert caught.value.status_code == 502
