"""OpenAI format in, Cohere v2 out: end to end through gunicorn with the openai SDK."""

from __future__ import annotations

import json

import openai
import pytest
import requests

from tests.chatdata import (
    PERSON_SCHEMA,
    PNG,
    TOOLS,
    collect_tool_calls,
    stream_with_usage,
    streamed_text,
    two_tool_results,
    with_images,
)
from tests.support import mock_client, mock_headers


def client(gateway, mockctl, **switches):
    return mock_client(gateway, mockctl, "cohere", key="co-live", **switches)


def test_text_and_the_native_request(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model="command-a-03-2025",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello Cohere"}],
        max_completion_tokens=50,
        top_p=0.5,
        stop="END",
        seed=3,
    )
    assert reply.choices[0].message.content == "echo: Hello Cohere"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "command-a-03-2025"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/v2/chat"
    assert received["headers"]["authorization"] == "Bearer co-live"
    body = json.loads(received["body"])
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (body["max_tokens"], body["p"], body["stop_sequences"], body["seed"]) == (50, 0.5, ["END"], 3)
    assert body["stream"] is False


def test_stream_with_usage(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, chunks=4, cache_read=2)
    chunks = stream_with_usage(c, "command-a-03-2025", "stream please")
    assert {ch.choices[0].index for ch in chunks if ch.choices} == {0}
    assert streamed_text(chunks) == "echo: stream please"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 2


def test_two_parallel_tool_calls_streamed(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, tool_calls=2)
    chunks = list(
        c.chat.completions.create(
            model="command-a-03-2025",
            stream=True,
            tools=TOOLS,
            tool_choice="required",
            messages=[{"role": "user", "content": "weather and time"}],
        )
    )
    plan = "".join((ch.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for ch in chunks)
    calls, finish = collect_tool_calls(chunks)
    assert finish == "tool_calls"
    assert plan == "I will call the tools."
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["cohere_call_0", "cohere_call_1"]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "city-0"}, {"city": "city-1"}]
    assert json.loads(mockctl.requests(sid)[0]["body"])["tool_choice"] == "REQUIRED"


def test_tool_calls_answered_whole(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, tool_calls=2)
    reply = c.chat.completions.create(model="m", tools=TOOLS, messages=[{"role": "user", "content": "x"}])
    message = reply.choices[0].message
    assert reply.choices[0].finish_reason == "tool_calls"
    assert [(t.id, t.function.name) for t in message.tool_calls] == [
        ("cohere_call_0", "get_weather"),
        ("cohere_call_1", "get_time"),
    ]


def test_tool_results_round_trip(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(model="m", tools=TOOLS, messages=two_tool_results("call_x", "call_y"))
    assert reply.choices[0].message.content == "echo: weather?"
    sent = json.loads(mockctl.requests(sid)[0]["body"])["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in sent[1]["tool_calls"]] == ["call_x", "call_y"]
    assert [(m["tool_call_id"], m["content"]) for m in sent[2:]] == [("call_x", "5C"), ("call_y", "noon")]


def test_image_input(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(model="command-a-vision-07-2025", messages=with_images("What is this?", PNG))
    assert reply.choices[0].message.content == f"echo: What is this? [image_url: data image/png {len(PNG)} chars]"
    part = json.loads(mockctl.requests(sid)[0]["body"])["messages"][0]["content"][1]
    assert part == {"type": "image_url", "image_url": {"url": PNG}}


def test_json_schema_output(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    schema = PERSON_SCHEMA
    reply = c.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Ann is 30"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    assert json.loads(reply.choices[0].message.content) == {"name": "value", "age": 1}
    sent = json.loads(mockctl.requests(sid)[0]["body"])["response_format"]
    assert sent == {"type": "json_object", "json_schema": schema}


def test_embeddings(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    emb = c.embeddings.create(model="embed-v4.0", input=["hello", "world"], dimensions=4)
    assert [len(d.embedding) for d in emb.data] == [4, 4] and emb.usage.prompt_tokens > 0
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/v2/embed"
    body = json.loads(received["body"])
    assert body["texts"] == ["hello", "world"] and body["input_type"] == "search_document"
    assert body["embedding_types"] == ["float"] and body["output_dimension"] == 4


def test_provider_errors_keep_status_and_message(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="cohere error: mock failure 429"):
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def test_error_mid_stream_is_raised_not_swallowed(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, error_after=3)
    with pytest.raises(openai.APIError, match="cohere error: internal server error"):
        list(c.chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": "x"}]))


def test_error_first_fails_the_attempt_before_any_byte(gateway, mockctl) -> None:
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers=mock_headers(mockctl, "cohere", error_after=0),
        json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 502
    assert resp.json()["error"]["message"] == "cohere error: internal server error"


def test_unmapped_params_are_named(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    raw = c.chat.completions.with_raw_response.create(
        model="m", user="u-1", logprobs=True, parallel_tool_calls=True, messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["x-portkey-unmapped-params"] == "logprobs,user"
    assert "user" not in json.loads(mockctl.requests(sid)[0]["body"])
