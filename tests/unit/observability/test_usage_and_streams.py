"""Usage from answers of every format, and from the head and tail of streams."""

from __future__ import annotations

import orjson

from gateway.observability.stream_tap import StreamTap
from gateway.observability.usage import empty, merge, normalise, of_payload


def test_chat_usage_with_cached_and_reasoning_details() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "total_tokens": 140,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 25},
    }
    assert normalise(usage) == {"input_tokens": 100, "output_tokens": 40, "cached_tokens": 60, "reasoning_tokens": 25}


def test_responses_usage() -> None:
    usage = {
        "input_tokens": 9,
        "output_tokens": 3,
        "input_tokens_details": {"cached_tokens": 2},
        "output_tokens_details": {"reasoning_tokens": 1},
    }
    assert normalise(usage) == {"input_tokens": 9, "output_tokens": 3, "cached_tokens": 2, "reasoning_tokens": 1}


def test_anthropic_usage_counts_cache_reads_and_writes_as_input() -> None:
    usage = {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
    assert normalise(usage) == {"input_tokens": 125, "output_tokens": 7, "cached_tokens": 100, "reasoning_tokens": 0}


def test_not_a_usage() -> None:
    assert normalise(None) is None and normalise({"total": 1}) is None and normalise([1]) is None
    assert normalise({"prompt_tokens": True, "completion_tokens": -3}) == empty()


def test_payload_model_and_nested_usage() -> None:
    assert of_payload({"model": "m1", "usage": {"prompt_tokens": 1, "completion_tokens": 2}}) == (
        {"input_tokens": 1, "output_tokens": 2, "cached_tokens": 0, "reasoning_tokens": 0},
        "m1",
    )
    start = {"type": "message_start", "message": {"model": "claude", "usage": {"input_tokens": 11, "output_tokens": 1}}}
    assert of_payload(start)[0]["input_tokens"] == 11 and of_payload(start)[1] == "claude"
    done = {
        "type": "response.completed",
        "response": {"model": "gpt", "usage": {"input_tokens": 4, "output_tokens": 6}},
    }
    assert of_payload(done) == (
        {"input_tokens": 4, "output_tokens": 6, "cached_tokens": 0, "reasoning_tokens": 0},
        "gpt",
    )
    assert of_payload({"choices": []}) == (None, None)


def test_merge_keeps_the_larger_count() -> None:
    into = {"input_tokens": 11, "output_tokens": 1, "cached_tokens": 0, "reasoning_tokens": 0}
    merge(into, {"input_tokens": 0, "output_tokens": 30, "cached_tokens": 0, "reasoning_tokens": 0})
    assert into == {"input_tokens": 11, "output_tokens": 30, "cached_tokens": 0, "reasoning_tokens": 0}


def sse(payload: dict, event: str | None = None) -> bytes:
    named = f"event: {event}\n".encode() if event else b""
    return named + b"data: " + orjson.dumps(payload) + b"\n\n"


def run(tap: StreamTap, chunks: list[bytes]) -> list[bytes]:
    return list(tap.tap(iter(chunks)))


def test_a_long_openai_stream_keeps_only_head_and_tail_but_reads_the_final_usage() -> None:
    tap = StreamTap(head=256, tail=256)
    chunks = [sse({"model": "gpt-x", "choices": [{"delta": {"content": "word " * 5}}]}) for _ in range(500)]
    chunks.append(sse({"model": "gpt-x", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 900}}))
    chunks.append(b"data: [DONE]\n\n")
    assert run(tap, chunks) == chunks  # bytes pass unchanged
    assert len(tap.head) < 256 + len(chunks[0]) and tap.tail_size < 256 + len(chunks[-2]) + len(chunks[-1])
    summary = tap.summary()
    assert summary.usage == {"input_tokens": 12, "output_tokens": 900, "cached_tokens": 0, "reasoning_tokens": 0}
    assert summary.model == "gpt-x" and summary.error is None and summary.chunks == 502 and tap.ended


def test_an_anthropic_stream_folds_the_start_and_delta_usage() -> None:
    tap = StreamTap()
    run(
        tap,
        [
            sse(
                {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 21}}},
                "message_start",
            ),
            sse({"type": "content_block_delta", "delta": {"text": "hi"}}, "content_block_delta"),
            sse({"type": "message_delta", "usage": {"output_tokens": 8}}, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ],
    )
    summary = tap.summary()
    assert summary.usage["input_tokens"] == 21 and summary.usage["output_tokens"] == 8
    assert summary.model == "claude-x"


def test_in_band_errors_and_hook_results_are_read() -> None:
    tap = StreamTap()
    hooks = {"before_request_hooks": [{"id": "g1", "verdict": True}]}
    run(tap, [sse({"hook_results": hooks}), b'data: {"error": {"message": "stream cut"}}\r\n\r\n'])
    summary = tap.summary()
    assert summary.error == "stream cut" and summary.hook_results == hooks and summary.usage is None


def test_a_split_event_and_garbage_are_tolerated() -> None:
    tap = StreamTap()
    event = sse({"model": "m", "usage": {"prompt_tokens": 1, "completion_tokens": 2}})
    run(tap, [event[:10], event[10:], b"data: {not json\n\n", b": comment\n\n"])
    assert tap.summary().usage["output_tokens"] == 2
