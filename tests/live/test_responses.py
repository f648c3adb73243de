"""The OpenAI Responses format in front of any provider, with the official openai SDK."""

from __future__ import annotations

import json

import openai
import pytest
import requests

from tests.conformance import check_responses_events
from tests.support import mock_client

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}},
]

BACKENDS = ["anthropic", "google", "groq"]


def client(gateway, mockctl, provider: str, key: str = "sk-resp", **switches):
    path = "/v1beta" if provider == "google" else "/v1"  # Gemini paths start at /v1beta
    return mock_client(gateway, mockctl, provider, key=key, path=path, **switches)


@pytest.mark.parametrize("provider", BACKENDS)
def test_create_and_continue_with_previous_response_id(gateway, mockctl, provider) -> None:
    c, sid = client(gateway, mockctl, provider)
    first = c.responses.create(model="m", instructions="Be brief.", input="My name is Ann.")
    assert first.object == "response" and first.status == "completed"
    assert first.output_text == "echo: My name is Ann."
    assert first.usage.input_tokens > 0
    second = c.responses.create(model="m", input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    sent = json.loads(mockctl.requests(sid)[1]["body"])
    texts = json.dumps(sent)
    assert "My name is Ann." in texts and "echo: My name is Ann." in texts and "What is my name?" in texts
    fetched = c.responses.retrieve(first.id)
    assert fetched.id == first.id and fetched.output_text == first.output_text
    items = c.responses.input_items.list(second.id)
    assert [i.content[0].text for i in items.data] == ["What is my name?"]


@pytest.mark.parametrize("provider", BACKENDS)
def test_stream_with_function_tools_in_documented_order(gateway, mockctl, provider) -> None:
    c, _ = client(gateway, mockctl, provider, tool_calls=2)
    with c.responses.stream(model="m", input="weather and time", tools=TOOLS) as stream:
        events = [e.model_dump() for e in stream]
        final = stream.get_final_response()
    check_responses_events(events)
    calls = [item for item in final.output if item.type == "function_call"]
    assert [call.name for call in calls] == ["get_weather", "get_time"]
    assert [json.loads(call.arguments) for call in calls] == [{"city": "city-0"}, {"city": "city-1"}]
    # the tool results continue the conversation
    follow = c.responses.create(
        model="m",
        previous_response_id=final.id,
        tools=TOOLS,
        input=[
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "5C"},
            {"type": "function_call_output", "call_id": calls[1].call_id, "output": "noon"},
        ],
    )
    assert follow.status == "completed"


@pytest.mark.parametrize("provider", BACKENDS)
def test_stream_text(gateway, mockctl, provider) -> None:
    c, _ = client(gateway, mockctl, provider, chunks=5)
    with c.responses.stream(model="m", input="stream this") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "echo: stream this" == final.output_text


def test_a_stream_cut_mid_answer_fails_the_response(gateway, mockctl) -> None:
    host = mockctl.base(cut_after=3, chunks=8)
    resp = requests.post(
        gateway.url + "/v1/responses",
        timeout=10,
        headers={"x-portkey-provider": "groq", "Authorization": "Bearer k", "x-portkey-custom-host": host},
        json={"model": "m", "input": "a b c d e f g h", "stream": True},
    )
    events = [json.loads(line[6:]) for line in resp.text.splitlines() if line.startswith("data: ")]
    check_responses_events(events)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "stream_cut"


def test_store_false_and_tenant_scoping(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, "groq", key="tenant-a")
    kept = c.responses.create(model="m", input="keep")
    dropped = c.responses.create(model="m", input="drop", store=False)
    assert c.responses.retrieve(kept.id).id == kept.id
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(dropped.id)
    other, _ = client(gateway, mockctl, "groq", key="tenant-b")
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(kept.id)
    with pytest.raises(openai.BadRequestError, match="Previous response with id"):
        other.responses.create(model="m", input="x", previous_response_id=kept.id)
    assert c.responses.delete(kept.id) is None
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(kept.id)


def test_openai_is_reached_natively(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, "openai")
    response = c.responses.create(model="m", input="hello", tools=TOOLS)
    assert response.id == "resp_mocknative1" and response.output_text == "native: hello"
    sent = json.loads(mockctl.requests(sid)[0]["body"])
    assert sent["tools"] == TOOLS and mockctl.requests(sid)[0]["path"] == "/v1/responses"
    with c.responses.stream(model="m", input="hello") as stream:
        assert stream.get_final_response().id == "resp_mocknative1"


def test_bad_input_uses_the_openai_envelope_with_the_path(gateway) -> None:
    resp = requests.post(
        gateway.url + "/v1/responses",
        headers={"x-portkey-provider": "groq"},
        json={"model": "m", "input": [{"type": "message", "role": "robot", "content": "x"}]},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "input.0.role"


def test_loadbalanced_across_openai_and_anthropic(gateway, mockctl) -> None:
    config = {
        "strategy": {"mode": "loadbalance"},
        "targets": [
            {"provider": "openai", "api_key": "o", "custom_host": mockctl.base()},
            {"provider": "anthropic", "api_key": "a", "custom_host": mockctl.base()},
        ],
    }
    c = openai.OpenAI(
        base_url=gateway.url + "/v1",
        api_key="x",
        max_retries=0,
        default_headers={"x-portkey-config": json.dumps(config)},
    )
    seen = set()
    for _ in range(30):
        raw = c.responses.with_raw_response.create(model="m", input="hello")
        seen.add(raw.headers["x-portkey-provider"])
        assert raw.parse().output_text in ("native: hello", "echo: hello")
    assert seen == {"openai", "anthropic"}
