"""OpenAI format in, Anthropic Messages out: end to end through gunicorn with the openai SDK."""

from __future__ import annotations

import json

import openai
import pytest
import requests

from tests.chatdata import (
    PERSON_SCHEMA,
    PNG,
    TOOLS,
    stream_tool_calls,
    stream_with_usage,
    streamed_text,
    two_tool_results,
    with_images,
)
from tests.support import mock_client, mock_headers


def client(gateway, mockctl, **switches):
    return mock_client(gateway, mockctl, "anthropic", key="sk-ant-live", **switches)


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
    chunks = stream_with_usage(c, "claude-sonnet-4-5", "stream please")
    assert streamed_text(chunks) == "echo: stream please"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_two_parallel_tool_calls_streamed(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, tool_calls=2)
    calls, finish = stream_tool_calls(c, "claude-sonnet-4-5", TOOLS)
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["toolu_0", "toolu_1"]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "city-0"}, {"city": "city-1"}]


def test_tool_results_round_trip(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    c.chat.completions.create(model="m", tools=TOOLS, messages=two_tool_results("toolu_x", "toolu_y"))
    sent = json.loads(mockctl.requests(sid)[0]["body"])["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ["toolu_x", "toolu_y"]


def test_image_input(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    reply = c.chat.completions.create(model="m", messages=with_images("What is this?", PNG))
    assert reply.choices[0].message.content.startswith("echo: What is this? [image: base64 image/png ")


def test_json_schema_output(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    schema = {**PERSON_SCHEMA, "additionalProperties": False}
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
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers=mock_headers(mockctl, "anthropic", error_after=0),
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
