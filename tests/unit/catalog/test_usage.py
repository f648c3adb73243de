"""Usage from answers and streams in every client format, and the price of it."""

from __future__ import annotations

import orjson
import pytest

from gateway.catalog.pricing import cost_usd
from gateway.catalog.usage import StreamUsage, from_body, normalise


def test_normalise_openai_responses_and_anthropic() -> None:
    openai = {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 40},
        "completion_tokens_details": {"reasoning_tokens": 5},
    }
    assert normalise(openai) == {"input_tokens": 100, "output_tokens": 20, "cached_tokens": 40, "reasoning_tokens": 5}
    responses = {"input_tokens": 7, "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 1}}
    assert normalise(responses)["reasoning_tokens"] == 1
    anthropic = {
        "input_tokens": 10,
        "output_tokens": 4,
        "cache_read_input_tokens": 30,
        "cache_creation_input_tokens": 5,
    }
    assert normalise(anthropic) == {"input_tokens": 45, "output_tokens": 4, "cached_tokens": 30, "reasoning_tokens": 0}
    assert normalise({"prompt_tokens": 9, "total_tokens": 9})["input_tokens"] == 9  # embeddings
    assert from_body(b'{"id": "x"}') is None
    assert from_body(orjson.dumps({"response": {"usage": responses}}))["input_tokens"] == 7


def sse(*events: dict, named: bool = False) -> bytes:
    out = b""
    for event in events:
        if named:
            out += b"event: " + event["type"].encode() + b"\n"
        out += b"data: " + orjson.dumps(event) + b"\n\n"
    return out


STREAMS = {
    "openai": sse(
        {"model": "gpt-4o", "choices": [{"delta": {"content": "hi"}}]},
        {"model": "gpt-4o", "choices": [], "usage": {"prompt_tokens": 8, "completion_tokens": 2}},
    )
    + b"data: [DONE]\n\n",
    "anthropic": sse(
        {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 8, "output_tokens": 1}}},
        {"type": "content_block_delta", "delta": {"text": "hi"}},
        {"type": "message_delta", "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
        named=True,
    ),
    "responses": sse(
        {"type": "response.created", "response": {"model": "gpt-4o", "usage": None}},
        {
            "type": "response.completed",
            "response": {"model": "gpt-4o", "usage": {"input_tokens": 8, "output_tokens": 2}},
        },
        named=True,
    ),
}


@pytest.mark.parametrize("fmt", sorted(STREAMS))
@pytest.mark.parametrize("size", [1, 7, 64, 100000])
def test_stream_usage_in_every_format_split_anywhere(fmt: str, size: int) -> None:
    data = STREAMS[fmt]
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    seen = []
    relay = StreamUsage(iter(pieces), lambda usage, model: seen.append((usage, model)))
    assert b"".join(relay) == data
    relay.close()
    assert len(seen) == 1
    usage, model = seen[0]
    assert (usage["input_tokens"], usage["output_tokens"]) == (8, 2)
    assert model in ("gpt-4o", "claude-x")


def test_a_closed_stream_reports_once_and_closes_upstream() -> None:
    closed = []

    class Upstream:
        def __init__(self) -> None:
            self.items = iter([b"data: {}\n\n", b"data: {}\n\n"])

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.items)

        def close(self) -> None:
            closed.append(True)

    seen = []
    relay = StreamUsage(Upstream(), lambda usage, model: seen.append(usage))
    next(relay)
    relay.close()
    relay.close()
    assert closed == [True] and seen == [None]


def test_prices() -> None:
    assert cost_usd("openai", "gpt-4o", {"input_tokens": 1000, "output_tokens": 100}) == pytest.approx(0.0035)
    assert cost_usd("openai", "gpt-4o", {"prompt_tokens": 1000, "completion_tokens": 100}) == pytest.approx(0.0035)
    assert cost_usd("azure-openai", "gpt-4o", {"input_tokens": 1000, "output_tokens": 0}) == pytest.approx(0.0025)
    assert cost_usd("openai", "no-such-model-anywhere", {"input_tokens": 1000}) is None
    assert cost_usd("openai", "", {"input_tokens": 1000}) is None
