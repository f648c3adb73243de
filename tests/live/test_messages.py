"""The Anthropic Messages format in front of any provider, with the official anthropic SDK."""

from __future__ import annotations

import json

import anthropic
import pytest
import requests

from tests.chatdata import PNG_B64
from tests.conformance import check_anthropic_events
from tests.mockprovider import bedrock as bedrock_mock
from tests.support import scenario_id

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
]


def backend_headers(provider: str, mockctl, sid: str, **switches) -> dict[str, str]:
    """Headers that point ``provider`` at the mock (with its own URL shape and credentials)."""
    base = mockctl.base(id=sid, **switches)
    headers = {"x-portkey-provider": provider}
    if provider == "google":
        headers["x-portkey-custom-host"] = base.removesuffix("/v1") + "/v1beta"
    elif provider == "bedrock":
        headers["x-portkey-custom-host"] = base.removesuffix("/v1")
        headers["x-portkey-aws-region"] = "us-west-2"
        headers["x-portkey-aws-access-key-id"] = bedrock_mock.ACCESS_KEY
        headers["x-portkey-aws-secret-access-key"] = bedrock_mock.SECRET_KEY
    else:
        headers["x-portkey-custom-host"] = base
    return headers


MODELS = {"google": "gemini-2.5-flash", "bedrock": "amazon.nova-pro-v1:0"}
BACKENDS = ["openai", "anthropic", "google", "bedrock"]


def client(gateway, mockctl, provider: str, **switches) -> tuple[anthropic.Anthropic, str]:
    sid = scenario_id()
    headers = backend_headers(provider, mockctl, sid, **switches)
    return anthropic.Anthropic(base_url=gateway.url, api_key="sk-any", max_retries=0, default_headers=headers), sid


def received_image(provider: str, sent: dict) -> bool:
    """Whether the provider's request carried the PNG, in the provider's own shape."""
    text = json.dumps(sent)
    if provider == "openai":
        return f"data:image/png;base64,{PNG_B64}" in text
    return PNG_B64 in text or (provider == "bedrock" and '"format": "png"' in text)


@pytest.mark.parametrize("provider", BACKENDS)
def test_create_with_system_and_image(gateway, mockctl, provider) -> None:
    c, sid = client(gateway, mockctl, provider)
    message = c.messages.create(
        model=MODELS.get(provider, "claude-or-not"),
        max_tokens=256,
        system="Be brief.",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                ],
            }
        ],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text.startswith("echo: Describe")
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    sent = json.loads(mockctl.requests(sid)[0]["body"])
    assert received_image(provider, sent)
    if provider == "openai":  # translated through the chat layer
        assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
        assert sent["max_tokens"] == 256
    elif provider == "anthropic":  # the body arrives as the client sent it
        assert sent["system"] == "Be brief." and sent["messages"][0]["content"][1]["type"] == "image"
    elif provider == "google":
        assert sent["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    else:
        assert sent["system"] == [{"text": "Be brief."}] and sent["inferenceConfig"]["maxTokens"] == 256


@pytest.mark.parametrize("provider", BACKENDS)
def test_stream_text_in_documented_order(gateway, mockctl, provider) -> None:
    model = MODELS.get(provider, "m")
    c, _ = client(gateway, mockctl, provider, chunks=4)
    with c.messages.stream(model=model, max_tokens=100, messages=[{"role": "user", "content": "stream it"}]) as s:
        assert "".join(s.text_stream) == "echo: stream it"
        assert s.get_final_message().stop_reason == "end_turn"
    headers = {
        "x-api-key": "k",
        "anthropic-version": "2023-06-01",
        **backend_headers(provider, mockctl, scenario_id(), chunks=4),
    }
    raw = requests.post(
        gateway.url + "/v1/messages",
        timeout=10,
        stream=True,
        headers=headers,
        json={"model": model, "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "raw"}]},
    )
    parsed = parse_sse(raw.content)
    check_anthropic_events(parsed)
    text = "".join(
        d["delta"]["text"] for n, d in parsed if n == "content_block_delta" and d["delta"]["type"] == "text_delta"
    )
    assert text == "echo: raw"


@pytest.mark.parametrize("provider", BACKENDS)
def test_stream_with_two_tool_calls(gateway, mockctl, provider) -> None:
    c, _ = client(gateway, mockctl, provider, tool_calls=2)
    with c.messages.stream(
        model=MODELS.get(provider, "m"),
        max_tokens=100,
        tools=TOOLS,
        messages=[{"role": "user", "content": "weather and time"}],
    ) as s:
        final = s.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert [u.input for u in uses] == [{"city": "city-0"}, {"city": "city-1"}]
    assert len({u.id for u in uses}) == 2 and final.stop_reason == "tool_use"


def test_tool_results_reach_an_openai_backend_as_tool_messages(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, "openai")
    c.messages.create(
        model="m",
        max_tokens=50,
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "5C"},
                    {"type": "text", "text": "and tomorrow?"},
                ],
            },
        ],
    )
    sent = json.loads(mockctl.requests(sid)[0]["body"])["messages"]
    assert sent[1]["tool_calls"][0] == {
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "5C"}
    assert sent[3] == {"role": "user", "content": "and tomorrow?"}


def test_errors_use_the_anthropic_envelope(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, "openai", status=429)
    with pytest.raises(anthropic.RateLimitError) as info:
        c.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert info.value.body["type"] == "error"
    assert info.value.body["error"]["type"] == "rate_limit_error"
    resp = requests.post(
        gateway.url + "/v1/messages",
        headers={"x-portkey-provider": "openai"},
        json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 400
    assert resp.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Missing data for required field."},
    }


def test_cut_stream_ends_with_an_error_event(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, "openai", cut_after=3)
    with (
        pytest.raises(anthropic.APIStatusError, match="lost mid-stream"),
        c.messages.stream(model="m", max_tokens=50, messages=[{"role": "user", "content": "x y z"}]) as s,
    ):
        s.get_final_message()


def test_count_tokens_native_and_estimated(gateway, mockctl) -> None:
    native, sid = client(gateway, mockctl, "anthropic")
    counted = native.messages.count_tokens(model="m", messages=[{"role": "user", "content": "Hello there"}])
    assert counted.input_tokens > 0 and mockctl.requests(sid)[0]["path"] == "/v1/messages/count_tokens"
    other, sid = client(gateway, mockctl, "openai")
    raw = other.messages.with_raw_response.count_tokens(
        model="m", messages=[{"role": "user", "content": "Hello world, how are you?"}]
    )
    assert raw.parse().input_tokens == 7 + 3 + 3  # text + per-message + per-request overhead
    assert raw.headers["x-portkey-token-count"] == "estimate"
    assert mockctl.requests(sid) == []


def test_fallback_from_anthropic_to_openai_in_messages_format(gateway, mockctl) -> None:
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "anthropic", "api_key": "a", "custom_host": mockctl.base(status=529)},
            {"provider": "openai", "api_key": "o"},
        ],
    }
    c = anthropic.Anthropic(
        base_url=gateway.url, api_key="x", max_retries=0, default_headers={"x-portkey-config": json.dumps(config)}
    )
    raw = c.messages.with_raw_response.create(
        model="m", max_tokens=20, messages=[{"role": "user", "content": "fall back"}]
    )
    assert raw.headers["x-portkey-provider"] == "openai"
    assert raw.parse().content[0].text == "echo: fall back"


def parse_sse(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().strip().split("\n\n"):
        name = data = None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        events.append((name, data))
    return events
