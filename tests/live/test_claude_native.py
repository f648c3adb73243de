"""Messages-format clients reach Claude on Vertex AI and Bedrock natively (no chat-layer translation)."""

from __future__ import annotations

import json
import uuid

import anthropic
import pytest
import requests

from tests.conformance import check_anthropic_events
from tests.live.test_messages import parse_sse
from tests.live.test_vertex import REGION, rsa_key, service_account  # noqa: F401 - rsa_key is a fixture
from tests.mockprovider import bedrock as bedrock_mock

CLAUDE = "claude-sonnet-4-5@20250929"


def vertex_client(gateway, mockctl, rsa_key, sid: str, **switches) -> anthropic.Anthropic:  # noqa: F811
    account = service_account(mockctl, rsa_key, sid)
    headers = {
        "x-portkey-provider": "vertex-ai",
        "x-portkey-vertex-region": REGION,
        "x-portkey-custom-host": mockctl.base(id=sid, **switches).removesuffix("/v1"),
        "x-portkey-vertex-service-account-json": json.dumps(account),
    }
    return anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0, default_headers=headers)


def bedrock_client(gateway, mockctl, sid: str, **switches) -> anthropic.Anthropic:
    headers = {
        "x-portkey-provider": "bedrock",
        "x-portkey-aws-region": "us-west-2",
        "x-portkey-aws-access-key-id": bedrock_mock.ACCESS_KEY,
        "x-portkey-aws-secret-access-key": bedrock_mock.SECRET_KEY,
        "x-portkey-custom-host": mockctl.base(id=sid, **switches).removesuffix("/v1"),
    }
    return anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0, default_headers=headers)


def model_calls(mockctl, sid: str) -> list[dict]:
    return [r for r in mockctl.requests(sid) if "/oauth2/" not in r["path"]]


def test_claude_on_vertex_gets_the_messages_body(gateway, mockctl, rsa_key) -> None:  # noqa: F811
    sid = uuid.uuid4().hex[:10]
    c = vertex_client(gateway, mockctl, rsa_key, sid)
    message = c.messages.create(
        model=CLAUDE,
        max_tokens=64,
        system="Be brief.",
        extra_body={"top_k": 5},
        messages=[{"role": "user", "content": "Hello Vertex"}],
    )
    assert message.content[0].text == "echo: Hello Vertex" and message.id.startswith("msg_mock")
    (call,) = model_calls(mockctl, sid)
    assert call["path"].endswith(f"/publishers/anthropic/models/{CLAUDE}:rawPredict")
    sent = json.loads(call["body"])
    assert sent == {
        "max_tokens": 64,
        "system": "Be brief.",
        "top_k": 5,
        "anthropic_version": "vertex-2023-10-16",
        "messages": [{"role": "user", "content": "Hello Vertex"}],
    }


def test_claude_on_vertex_streams_anthropic_events(gateway, mockctl, rsa_key) -> None:  # noqa: F811
    sid = uuid.uuid4().hex[:10]
    c = vertex_client(gateway, mockctl, rsa_key, sid, chunks=3)
    with c.messages.stream(model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "stream"}]) as s:
        assert "".join(s.text_stream) == "echo: stream"
    assert model_calls(mockctl, sid)[0]["path"].endswith(":streamRawPredict")


def test_claude_on_bedrock_gets_the_messages_body(gateway, mockctl) -> None:
    sid = uuid.uuid4().hex[:10]
    c = bedrock_client(gateway, mockctl, sid)
    message = c.messages.create(
        model="anthropic.claude-sonnet-4-5-v1:0", max_tokens=64, messages=[{"role": "user", "content": "Hello Bedrock"}]
    )
    assert message.content[0].text == "echo: Hello Bedrock" and message.id.startswith("msg_mock")
    (call,) = mockctl.requests(sid)
    assert call["path"] == "/model/anthropic.claude-sonnet-4-5-v1:0/invoke"
    assert call["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ")
    sent = json.loads(call["body"])
    assert sent == {
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hello Bedrock"}],
        "anthropic_version": "bedrock-2023-05-31",
    }


def test_claude_on_bedrock_stream_is_reframed_as_anthropic_sse(gateway, mockctl) -> None:
    sid = uuid.uuid4().hex[:10]
    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    body = {
        "model": "anthropic.claude-sonnet-4-5-v1:0",
        "max_tokens": 64,
        "tools": tools,
        "stream": True,
        "messages": [{"role": "user", "content": "weather"}],
    }
    client = bedrock_client(gateway, mockctl, sid, tool_calls=2)
    raw = requests.post(
        gateway.url + "/v1/messages",
        json=body,
        timeout=10,
        headers={**client.default_headers, "anthropic-version": "2023-06-01"},
    )
    events = parse_sse(raw.content)
    check_anthropic_events(events)
    uses = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [u["id"] for u in uses] == ["toolu_0", "toolu_1"]
    assert mockctl.requests(sid)[0]["path"].endswith("/invoke-with-response-stream")
    with client.messages.stream(**{k: v for k, v in body.items() if k != "stream"}) as s:
        final = s.get_final_message()
    assert [b.input for b in final.content if b.type == "tool_use"] == [{"city": "city-0"}, {"city": "city-1"}]


def test_bedrock_errors_come_back_in_the_anthropic_envelope(gateway, mockctl) -> None:
    c = bedrock_client(gateway, mockctl, uuid.uuid4().hex[:10], status=429)
    with pytest.raises(anthropic.RateLimitError) as caught:
        c.messages.create(
            model="anthropic.claude-sonnet-4-5-v1:0", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["type"] == "error" and "bedrock error" in caught.value.body["error"]["message"]


def test_a_cut_bedrock_stream_ends_with_an_error_event(gateway, mockctl) -> None:
    c = bedrock_client(gateway, mockctl, uuid.uuid4().hex[:10], cut_after=3)
    with (
        pytest.raises(anthropic.APIStatusError, match="lost mid-stream|middle of a frame"),
        c.messages.stream(
            model="anthropic.claude-sonnet-4-5-v1:0", max_tokens=64, messages=[{"role": "user", "content": "x"}]
        ) as s,
    ):
        s.get_final_message()
