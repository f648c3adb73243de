"""Check streamed event sequences against each API format's documented order."""

from __future__ import annotations

from typing import Any


def check_anthropic_events(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Assert an Anthropic Messages stream follows the documented order.

    ``message_start`` first; each content block is started, receives deltas of its own type and
    is stopped once; ``message_delta`` (with a stop reason and usage) comes after every block
    stopped; ``message_stop`` is last; ``ping`` may appear anywhere.
    """
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start", names
    assert names[-2:] == ["message_delta", "message_stop"], names
    open_blocks: dict[int, str] = {}
    seen: set[int] = set()
    for name, data in events:
        assert data.get("type") == name, (name, data)
        if name == "content_block_start":
            index = data["index"]
            assert index not in seen, f"block {index} started twice"
            assert index == len(seen), f"block indices must be consecutive, got {index}"
            seen.add(index)
            open_blocks[index] = data["content_block"]["type"]
        elif name == "content_block_delta":
            kind = open_blocks[data["index"]]
            expected = {
                "text": {"text_delta"},
                "tool_use": {"input_json_delta"},
                "thinking": {"thinking_delta", "signature_delta"},
            }[kind]
            assert data["delta"]["type"] in expected, (kind, data)
        elif name == "content_block_stop":
            assert open_blocks.pop(data["index"], None) is not None, f"block {data['index']} stopped twice"
        elif name == "message_delta":
            assert not open_blocks, f"blocks still open at message_delta: {open_blocks}"
            assert data["delta"]["stop_reason"] in ("end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal")
            assert "output_tokens" in data["usage"]


def check_responses_events(events: list[dict[str, Any]]) -> None:
    """Assert a Responses stream follows the documented order.

    ``response.created`` then ``response.in_progress``; every item is added before its content
    events and done after them; sequence numbers count up from 0; a terminal event
    (``response.completed`` / ``incomplete`` / ``failed``) is last.
    """
    types = [e["type"] for e in events]
    assert types[:2] == ["response.created", "response.in_progress"], types
    assert types[-1] in ("response.completed", "response.incomplete", "response.failed"), types
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added: dict[int, str] = {}
    done: set[int] = set()
    for event in events:
        kind = event["type"]
        index = event.get("output_index")
        if kind == "response.output_item.added":
            assert index not in added and index == len(added), (index, added)
            added[index] = event["item"]["id"]
        elif kind == "response.output_item.done":
            assert index in added and index not in done
            assert event["item"]["id"] == added[index]
            done.add(index)
        elif index is not None:
            assert index in added and index not in done, f"{kind} outside its item's lifetime"
            if "item_id" in event:
                assert event["item_id"] == added[index]
    if types[-1] != "response.failed":
        assert done == set(added), "every item must be done before the response completes"
