"""Rebuilding streamed answers (for output guardrails and the cache) and replaying cached ones."""

from __future__ import annotations

from gateway.cache.policy import replay_chunks
from gateway.pipeline.observed import ChatAccumulator


def chat_chunk(index: int, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def text_chunk(index: int, text: str, finish: str | None = None) -> dict:
    return {
        "id": "t1",
        "object": "text_completion",
        "model": "m",
        "choices": [{"index": index, "text": text, "finish_reason": finish, "logprobs": None}],
    }


def rebuild(chunks: list[dict]) -> dict:
    acc = ChatAccumulator()
    for chunk in chunks:
        acc.add(chunk)
    return acc.completion()


def test_every_choice_of_a_chat_stream_is_rebuilt_apart() -> None:
    done = rebuild(
        [
            chat_chunk(0, {"role": "assistant", "content": "Hel"}),
            chat_chunk(1, {"role": "assistant", "content": "Bon"}),
            chat_chunk(0, {"content": "lo"}),
            chat_chunk(1, {"content": "jour"}),
            chat_chunk(1, {}, "length"),
            chat_chunk(0, {}, "stop"),
        ]
    )
    assert done["object"] == "chat.completion"
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in done["choices"]] == [
        (0, "Hello", "stop"),
        (1, "Bonjour", "length"),
    ]


def test_a_text_completion_stream_is_rebuilt_as_a_text_completion() -> None:
    done = rebuild([text_chunk(0, "Once "), text_chunk(0, "upon"), text_chunk(0, "", "stop")])
    assert done["object"] == "text_completion"
    assert done["choices"] == [{"index": 0, "text": "Once upon", "logprobs": None, "finish_reason": "stop"}]


def test_tool_calls_and_reasoning_are_rebuilt() -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}
    done = rebuild(
        [
            chat_chunk(0, {"reasoning_content": "think"}),
            chat_chunk(0, {"tool_calls": [call]}),
            chat_chunk(0, {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
            chat_chunk(0, {}, "tool_calls"),
        ]
    )
    message = done["choices"][0]["message"]
    assert message["content"] is None and message["reasoning_content"] == "think"
    assert message["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
    ]


def test_replay_round_trips_through_the_accumulator() -> None:
    stored = {
        "id": "c9",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "x" * 450}, "finish_reason": "stop"},
            {"index": 1, "message": {"role": "assistant", "content": "second"}, "finish_reason": "length"},
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    chunks = replay_chunks(stored, include_usage=True)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    again = rebuild(chunks)
    assert [c["message"]["content"] for c in again["choices"]] == ["x" * 450, "second"]
    assert [c["finish_reason"] for c in again["choices"]] == ["stop", "length"]
    assert again["usage"] == stored["usage"]


def test_a_text_completion_replays_as_text_completion_chunks() -> None:
    stored = {
        "id": "t9",
        "object": "text_completion",
        "model": "m",
        "choices": [{"index": 0, "text": "Once upon", "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    chunks = replay_chunks(stored, include_usage=True)
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert chunks[0]["choices"][0]["text"] == "Once upon"
    assert rebuild(chunks)["choices"][0]["text"] == "Once upon"
