"""OpenAI format in, Anthropic Messages out: end to end through gunicorn with the openai SDK."""

from __future__ import annotations

import json
import uuid

import openai
import pytest
import requests

from tests.support import sdk_client

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]


def client(gateway, mockctl, **switches):
    sid = uuid.uuid4().hex[:10]
    headers = {"x-portkey-custom-host": mockctl.base(id=sid, **switches)}
    return sdk_client(gateway, "anthropic", key="sk-ant-live", **headers), sid


def test_text_and_the_native_request(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model="claude-sonnet-4-5",
        temperature=1.8,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Claude"}],
    )
    assert reply.choices[0].message.content == "echo: Hello Claude"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/v1/messages"
    assert received["headers"]["x-api-key"] == "sk-ant-live"
    assert received["headers"]["anthropic-version"] == "2023-06-01"
    assert "authorization" not in received["headers"]
    body = json.loads(received["body"])
    assert body["max_tokens"] == 4096 and body["temperature"] == 1.0
    assert body["system"] == [{"type": "text", "text": "Be brief."}]


def test_stream_with_usage(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, chunks=4)
    chunks = list(
        c.chat.completions.create(
            model="claude-sonnet-4-5",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "stream please"}],
        )
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "echo: stream please"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_two_parallel_tool_calls_streamed(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, tool_calls=2)
    calls: dict[int, dict] = {}
    finish = None
    for chunk in c.chat.completions.create(
        model="claude-sonnet-4-5", stream=True, tools=TOOLS, messages=[{"role": "user", "content": "weather and time"}]
    ):
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
            entry["id"] = delta.id or entry["id"]
            entry["name"] = (delta.function.name if delta.function else None) or entry["name"]
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["toolu_0", "toolu_1"]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "city-0"}, {"city": "city-1"}]


def test_tool_results_round_trip(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    c.chat.completions.create(
        model="m",
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_x",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    },
                    {"id": "toolu_y", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_x", "content": "5C"},
            {"role": "tool", "tool_call_id": "toolu_y", "content": "noon"},
        ],
    )
    sent = json.loads(mockctl.requests(sid)[0]["body"])["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ["toolu_x", "toolu_y"]


def test_image_input(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": PNG}},
                ],
            }
        ],
    )
    assert reply.choices[0].message.content.startswith("echo: What is this? [image: base64 image/png ")


def test_json_schema_output(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    reply = c.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Ann is 30"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    assert json.loads(reply.choices[0].message.content) == {"name": "value", "age": 1}
    assert json.loads(mockctl.requests(sid)[0]["body"])["output_config"]["format"]["schema"] == schema


def test_provider_errors_keep_status_and_message(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="anthropic error: mock failure 429"):
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def test_error_event_mid_stream_is_raised_not_swallowed(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, error_after=4)
    with pytest.raises(openai.APIError, match="Overloaded"):
        list(c.chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": "x"}]))


def test_error_event_first_fails_the_attempt_before_any_byte(gateway, mockctl) -> None:
    _, sid = client(gateway, mockctl)
    host = mockctl.base(id=sid, error_after=0)
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers={"x-portkey-provider": "anthropic", "Authorization": "Bearer k", "x-portkey-custom-host": host},
        json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 529
    assert resp.json()["error"]["type"] == "overloaded_error"


def test_unmapped_params_are_named_not_dropped_silently(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    raw = c.chat.completions.with_raw_response.create(
        model="m", seed=3, logit_bias={"1": 2}, messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["x-portkey-unmapped-params"] == "logit_bias,seed"
    assert raw.headers["x-portkey-provider"] == "anthropic"


def test_fallback_from_anthropic_to_openai(gateway, mockctl) -> None:
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "anthropic", "api_key": "a", "custom_host": mockctl.base(status=500)},
            {"provider": "openai", "api_key": "o"},
        ],
    }
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers={"x-portkey-config": json.dumps(config)},
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert resp.status_code == 200 and resp.headers["x-portkey-provider"] == "openai"
