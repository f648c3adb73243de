"""The Responses stream writer on its own: reasoning, then text, then a tool call, in the documented order."""

from __future__ import annotations

from tests.conformance import check_responses_events
from translators.formats.responses_stream import EventWriter


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_reasoning_then_text_then_a_tool_call() -> None:
    writer = EventWriter({"model": "m", "input": "hi"}, "resp_1", 1.0)
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":'}}
    events = []
    for piece in (
        chunk({"role": "assistant", "reasoning_content": "Let me "}),
        chunk({"reasoning_content": "think."}),
        chunk({"content": "Hello "}),
        chunk({"content": "there"}),
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}),
        chunk({}, "tool_calls"),
    ):
        events += writer.chunk(piece)
    events += writer.done()
    check_responses_events([data for _, data in events])
    kinds = [kind for kind, _ in events]
    assert kinds.count("response.reasoning_text.delta") == 2 and kinds.count("response.output_text.delta") == 2
    assert kinds.index("response.reasoning_text.delta") < kinds.index("response.output_text.delta")
    text_delta = next(data for kind, data in events if kind == "response.output_text.delta")
    assert text_delta["logprobs"] == [] and text_delta["content_index"] == 0
    reasoning_delta = next(data for kind, data in events if kind == "response.reasoning_text.delta")
    assert "logprobs" not in reasoning_delta
    output = writer.response["output"]
    assert [item["type"] for item in output] == ["reasoning", "message", "function_call"]
    assert output[0]["content"][0]["text"] == "Let me think."
    assert output[1]["content"][0]["text"] == "Hello there"
    assert output[2]["arguments"] == '{"a": 1}'
    assert all(item["status"] == "completed" for item in output if "status" in item)
    assert [data["output_index"] for kind, data in events if kind == "response.output_item.added"] == [0, 1, 2]
