"""OpenAI format in, Mistral AI out: end to end through gunicorn with the openai SDK.

The mock rejects unknown fields with a 422 like the real API, so every test also proves the
gateway sent only what Mistral accepts.
"""

from __future__ import annotations

import json

import openai
import pytest

from tests.chatdata import TOOLS, stream_tool_calls, stream_with_usage, streamed_text
from tests.support import mock_client


def client(gateway, mockctl, headers=None, **switches):
    return mock_client(gateway, mockctl, "mistral-ai", key="ms-live", path="/mistral/v1", headers=headers, **switches)


def test_text_and_the_native_request(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model="mistral-small-latest",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Bonjour"}],
        max_completion_tokens=40,
        tool_choice="none",
        tools=TOOLS,
    )
    assert reply.choices[0].message.content == "echo: Bonjour"
    assert reply.choices[0].finish_reason == "stop" and reply.usage.total_tokens > 0
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/mistral/v1/chat/completions"
    assert received["headers"]["authorization"] == "Bearer ms-live"
    body = json.loads(received["body"])
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_tokens"] == 40 and "max_completion_tokens" not in body


def test_stream_usage_without_stream_options(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, chunks=3)
    chunks = stream_with_usage(c, "mistral-small-latest", "stream please")
    assert "stream_options" not in json.loads(mockctl.requests(sid)[0]["body"])
    assert streamed_text(chunks) == "echo: stream please"
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].usage is None
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert all(ch.usage is None for ch in chunks[:-1])


def test_stream_without_include_usage_has_no_usage(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    chunks = list(
        c.chat.completions.create(
            model="mistral-small-latest", stream=True, messages=[{"role": "user", "content": "hi"}]
        )
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(ch.usage is None for ch in chunks)


def test_seed_arrives_as_random_seed(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model="mistral-small-latest", seed=7, messages=[{"role": "user", "content": "dice"}]
    )
    assert reply.choices[0].message.content == "echo: dice (seed 7)"
    body = json.loads(mockctl.requests(sid)[0]["body"])
    assert body["random_seed"] == 7 and "seed" not in body


def test_unknown_fields_are_reported_not_sent(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    raw = c.chat.completions.with_raw_response.create(
        model="mistral-small-latest",
        user="u-1",
        logprobs=True,
        messages=[{"role": "user", "content": "x", "name": "ann"}],
    )
    assert raw.parse().choices[0].message.content == "echo: x"
    assert raw.headers["x-portkey-unmapped-params"] == "logprobs,messages[].name,user"
    body = json.loads(mockctl.requests(sid)[0]["body"])
    assert "user" not in body and "logprobs" not in body and body["messages"] == [{"role": "user", "content": "x"}]


def test_native_params_force_a_field_and_the_422_is_mapped(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    with pytest.raises(openai.UnprocessableEntityError, match="mistral-ai error: body.bogus: Extra inputs"):
        c.chat.completions.create(
            model="mistral-small-latest",
            messages=[{"role": "user", "content": "x"}],
            extra_body={"native_params": {"bogus": 1}},
        )


def test_two_parallel_tool_calls_streamed(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, tool_calls=2)
    calls, finish = stream_tool_calls(c, "mistral-large-latest", TOOLS, tool_choice="required")
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["call_0", "call_1"]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "city-0"}, {"city": "city-1"}]
    assert json.loads(mockctl.requests(sid)[0]["body"])["tool_choice"] == "any"


def test_embeddings(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    emb = c.embeddings.create(model="mistral-embed", input=["a", "b"], dimensions=4)
    assert [len(d.embedding) for d in emb.data] == [4, 4]
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/mistral/v1/embeddings"
    body = json.loads(received["body"])
    assert body["output_dimension"] == 4 and "dimensions" not in body


def test_fim_completion(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, headers={"x-portkey-mistral-fim-completion": "true"})
    done = c.completions.create(model="codestral-latest", prompt="def add(a, b):", suffix="return c", max_tokens=20)
    assert done.choices[0].text == "fim: def add(a, b):|return c"
    assert mockctl.requests(sid)[0]["path"] == "/mistral/v1/fim/completions"


def test_provider_errors_keep_status_and_message(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="mistral-ai error: mock failure 429"):
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def test_cut_stream_ends_with_an_error_event(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, chunks=6, cut_after=3)
    seen = []
    with pytest.raises(openai.APIError, match="mistral-ai error"):
        for chunk in c.chat.completions.create(
            model="m", stream=True, messages=[{"role": "user", "content": "a long answer"}]
        ):
            seen.append(chunk)
    assert seen
