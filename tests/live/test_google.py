"""OpenAI format in, Gemini API out: end to end through gunicorn with the openai SDK."""

from __future__ import annotations

import base64
import json

import openai
import pytest
import requests

from tests.chatdata import (
    PERSON_SCHEMA,
    PNG,
    TIME_TOOL,
    stream_tool_calls,
    stream_with_usage,
    streamed_text,
    two_tool_results,
    with_images,
)
from tests.support import mock_client, mock_headers

#: ``get_weather`` with ``strict`` and ``additionalProperties``, which the gateway must drop for Gemini.
STRICT_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [STRICT_WEATHER_TOOL, TIME_TOOL]


def client(gateway, mockctl, **switches):
    return mock_client(gateway, mockctl, "google", key="AIza-live", path="/v1beta", **switches)


def sent(mockctl, sid: str, index: int = 0) -> tuple[dict, dict]:
    received = [r for r in mockctl.requests(sid) if r["method"] == "POST"][index]
    return received, json.loads(received["body"])


def test_text_and_the_native_request(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    reply = c.chat.completions.create(
        model="gemini-2.5-flash",
        temperature=0.2,
        max_tokens=50,
        stop="END",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello Gemini"},
            {"role": "developer", "content": "No emoji."},
        ],
    )
    assert reply.choices[0].message.content == "echo: Hello Gemini"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gemini-2.5-flash"
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    received, body = sent(mockctl, sid)
    assert received["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert received["headers"]["x-goog-api-key"] == "AIza-live"
    assert "key=" not in received["query"] and "authorization" not in received["headers"]
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "No emoji."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hello Gemini"}]}]
    assert body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 50, "stopSequences": ["END"]}


def test_stream_with_usage(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, chunks=4, cache_read=3)
    chunks = stream_with_usage(c, "gemini-2.5-flash", "stream please")
    assert streamed_text(chunks) == "echo: stream please"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage.total_tokens > 0
    assert last.usage.prompt_tokens_details.cached_tokens == 3
    received, _ = sent(mockctl, sid)
    assert received["path"].endswith(":streamGenerateContent") and received["query"] == "alt=sse"


def test_two_parallel_tool_calls_streamed(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, tool_calls=2)
    calls, finish = stream_tool_calls(c, "gemini-2.5-flash", TOOLS)
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert all(calls[i]["id"] for i in (0, 1)) and calls[0]["id"] != calls[1]["id"]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "city-0"}, {"city": "city-1"}]
    declarations = sent(mockctl, sid)[1]["tools"][0]["functionDeclarations"]
    assert declarations[0]["parameters"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    assert "parameters" not in declarations[1]


def test_tool_results_round_trip(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    c.chat.completions.create(
        model="gemini-2.5-flash",
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        messages=two_tool_results("c1", "c2"),
    )
    body = sent(mockctl, sid)[1]
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert [p["functionCall"]["name"] for p in body["contents"][1]["parts"]] == ["get_weather", "get_time"]
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"output": "5C"}}},
        {"functionResponse": {"name": "get_time", "response": {"output": "noon"}}},
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}


def test_images_inline_and_downloaded_by_the_gateway(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    image_url = f"{mockctl.url}/s/id={sid}/images/cat.png"
    reply = c.chat.completions.create(model="gemini-2.5-flash", messages=with_images("What are these?", PNG, image_url))
    content = reply.choices[0].message.content
    assert content == "echo: What are these? [inline image/png 70 bytes] [inline image/png 70 bytes]"
    fetches = [r for r in mockctl.requests(sid) if r["method"] == "GET"]
    assert [r["path"] for r in fetches] == ["/images/cat.png"]
    parts = sent(mockctl, sid)[1]["contents"][0]["parts"]
    assert parts[1] == parts[2] == {"inlineData": {"mimeType": "image/png", "data": PNG.split(",", 1)[1]}}


def test_json_schema_output(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    schema = {**PERSON_SCHEMA, "additionalProperties": False}
    reply = c.chat.completions.create(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "Ann is 30"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}},
    )
    assert json.loads(reply.choices[0].message.content) == {"name": "value", "age": 1}
    config = sent(mockctl, sid)[1]["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": schema}


def test_reasoning_effort_surfaces_thoughts(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    raw = c.chat.completions.with_raw_response.create(
        model="gemini-2.5-pro", reasoning_effort="low", messages=[{"role": "user", "content": "think"}]
    )
    message = raw.parse().choices[0].message
    assert message.content == "echo: think"
    assert json.loads(raw.text)["choices"][0]["message"]["reasoning_content"] == "Let me think about this."
    assert raw.parse().usage.completion_tokens_details.reasoning_tokens > 0
    assert sent(mockctl, sid)[1]["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingBudget": 1024,
    }


def test_embeddings_with_list_and_string_input(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    listed = c.embeddings.create(model="gemini-embedding-001", input=["alpha", "beta"], dimensions=16)
    assert [d.index for d in listed.data] == [0, 1]
    assert all(len(d.embedding) == 16 for d in listed.data)
    assert listed.data[0].embedding != listed.data[1].embedding
    single = c.embeddings.create(model="gemini-embedding-001", input="alpha", dimensions=16, encoding_format="float")
    assert single.data[0].embedding == pytest.approx(listed.data[0].embedding, abs=1e-6)
    first, body = sent(mockctl, sid, 0)
    assert first["path"] == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert body["requests"][1] == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "beta"}]},
        "outputDimensionality": 16,
    }
    assert sent(mockctl, sid, 1)[0]["path"] == "/v1beta/models/gemini-embedding-001:embedContent"


def test_provider_errors_keep_status_and_message(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="google error: mock failure 429") as caught:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["type"] == "RESOURCE_EXHAUSTED"


def test_the_mock_rejects_what_gemini_rejects(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match='google error: .*Unknown name "mediaResolutionX"'):
        c.chat.completions.create(
            model="gemini-2.5-flash",
            messages=[{"role": "user", "content": "x"}],
            extra_body={"native_params": {"generationConfig": {"mediaResolutionX": 1}}},
        )


def test_incomplete_stream_ends_with_an_error_event(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, no_done=True)
    seen = []
    with pytest.raises(openai.APIError, match="ended the stream before it was complete"):
        for chunk in c.chat.completions.create(
            model="gemini-2.5-flash", stream=True, messages=[{"role": "user", "content": "cut short"}]
        ):
            seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == "echo: cut short"


def test_error_event_mid_stream_is_raised(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, error_after=2)
    with pytest.raises(openai.APIError, match="overloaded"):
        list(
            c.chat.completions.create(
                model="gemini-2.5-flash", stream=True, messages=[{"role": "user", "content": "x"}]
            )
        )


def test_error_event_first_fails_the_attempt_before_any_byte(gateway, mockctl) -> None:
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        timeout=10,
        headers=mock_headers(mockctl, "google", path="/v1beta", error_after=0),
        json={"model": "gemini-2.5-flash", "stream": True, "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 503
    assert resp.json()["error"]["type"] == "UNAVAILABLE"


def test_unmapped_params_are_named(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    raw = c.chat.completions.with_raw_response.create(
        model="gemini-2.5-flash", user="u1", logit_bias={"1": 2}, messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["x-portkey-unmapped-params"] == "logit_bias,user"
    assert raw.headers["x-portkey-provider"] == "google"


def test_base64_embeddings_decode_to_the_float_vectors(gateway, mockctl) -> None:
    resp = requests.post(
        gateway.url + "/v1/embeddings",
        timeout=10,
        headers=mock_headers(mockctl, "google", path="/v1beta"),
        json={"model": "text-embedding-004", "input": ["a"], "encoding_format": "base64"},
    )
    assert resp.status_code == 200, resp.text
    packed = base64.b64decode(resp.json()["data"][0]["embedding"])
    assert len(packed) == 8 * 4
