"""Messages and Responses bodies of real coding clients, translated to chat (issue 15, items 10-12)."""

from __future__ import annotations

import pytest

from translators.formats import messages, schemas
from translators.formats import responses_api as responses
from translators.formats.schemas import validate
from translators.output_limits import clamp_max_tokens, max_output_tokens


def test_a_system_turn_inside_messages_passes_the_schema_and_stays_system() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "system": "top",
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "system", "content": [{"type": "text", "text": "mid"}]},
            {"role": "user", "content": "b"},
        ],
    }
    assert validate(schemas.messages, body) is None
    chat = messages.to_chat(body)
    assert chat["messages"] == [
        {"role": "system", "content": "top"},
        {"role": "user", "content": "a"},
        {"role": "system", "content": [{"type": "text", "text": "mid"}]},
        {"role": "user", "content": "b"},
    ]


def test_other_roles_are_still_refused() -> None:
    body = {"model": "m", "max_tokens": 1, "messages": [{"role": "tool", "content": "x"}]}
    assert validate(schemas.messages, body) == ("messages.0.role", "Must be one of: user, assistant, system.")


def test_anthropic_only_fields_are_dropped_and_named() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "temperature": 0.5,
        "top_k": 3,
        "service_tier": "standard_only",
        "context_management": {"edits": []},
        "container": "c1",
        "mcp_servers": [{"type": "url", "url": "https://mcp.example/sse", "name": "x"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
    }
    chat = messages.to_chat(body)
    assert chat["temperature"] == 0.5 and chat["top_k"] == 3 and chat["service_tier"] == "default"
    for key in ("context_management", "container", "mcp_servers", "tools"):
        assert key not in chat
    assert messages.unmapped_fields(body) == [
        "context_management",
        "container",
        "mcp_servers",
        "tools.web_search_20250305",
    ]


@pytest.mark.parametrize(
    ("provider", "model", "limit"),
    [
        ("openai", "gpt-4o", 16384),
        ("openai", "gpt-4o-mini-2024-07-18", 16384),
        ("openai", "gpt-4.1-nano", 32768),
        ("openai", "gpt-4", 8192),
        ("groq", "llama-3.3-70b-versatile", 32768),
        ("openai", "o3", None),
        ("mistral-ai", "x", None),
    ],
)
def test_known_output_limits(provider: str, model: str, limit: int | None) -> None:
    assert max_output_tokens(provider, model) == limit


def test_clamp_only_lowers() -> None:
    assert clamp_max_tokens("openai", {"model": "gpt-4o", "max_tokens": 64000})["max_tokens"] == 16384
    assert clamp_max_tokens("openai", {"model": "gpt-4o", "max_tokens": 100})["max_tokens"] == 100
    assert (
        clamp_max_tokens("openai", {"model": "gpt-4o", "max_completion_tokens": 20000})["max_completion_tokens"]
        == 16384
    )


def test_responses_built_in_tools_are_dropped_for_chat_and_named() -> None:
    body = {
        "model": "m",
        "input": "hi",
        "tools": [
            {"type": "function", "name": "shell", "parameters": {"type": "object"}},
            {"type": "web_search"},
            {
                "type": "namespace",
                "name": "mcp__docs__",
                "tools": [
                    {"type": "function", "name": "search", "parameters": {"type": "object"}},
                    {"type": "custom", "name": "raw"},
                ],
            },
        ],
        "tool_choice": {"type": "web_search"},
        "client_metadata": {"a": "b"},
        "parallel_tool_calls": False,
    }
    chat = responses.to_chat(body)
    assert [t["function"]["name"] for t in chat["tools"]] == ["shell", "mcp__docs__search"]
    assert "tool_choice" not in chat and "client_metadata" not in chat
    assert chat["parallel_tool_calls"] is False
    assert responses.unmapped_fields(body) == [
        "client_metadata",
        "tools.web_search",
        "tools.namespace:mcp__docs__.custom",
    ]


NAMESPACED = {
    "model": "m",
    "input": "hi",
    "tools": [{"type": "namespace", "name": "mcp__docs__", "tools": [{"type": "function", "name": "search"}]}],
}


def test_calls_of_flattened_namespace_tools_get_their_namespace_back() -> None:
    chat = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "mcp__docs__search", "arguments": "{}"}},
                        {"id": "c2", "type": "function", "function": {"name": "other", "arguments": "{}"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    out = responses.to_response(chat, NAMESPACED, "resp_1", 0.0)["output"]
    assert (out[0]["namespace"], out[0]["name"]) == ("mcp__docs__", "search")
    assert out[1]["name"] == "other" and "namespace" not in out[1]
    # and the next turn's history flattens them again
    messages = responses.items_to_messages(out)
    assert messages[0]["tool_calls"][0]["function"]["name"] == "mcp__docs__search"


def test_streamed_calls_of_namespace_tools_get_their_namespace_back() -> None:
    from translators.formats.responses_stream import EventWriter

    writer = EventWriter(NAMESPACED, "resp_1", 0.0)
    delta = {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "mcp__docs__search", "arguments": "{}"}}]}
    events = writer.chunk({"choices": [{"index": 0, "delta": delta}]})
    added = next(d for n, d in events if n == "response.output_item.added")
    assert (added["item"]["namespace"], added["item"]["name"]) == ("mcp__docs__", "search")
