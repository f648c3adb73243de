"""Chat Completions test data and requests shared by the live provider tests, and the helpers that read streams back.

The mock provider answers every provider format the same way (``echo: <last user text>``; with the
``tool_calls=N`` switch, calls to the request's tools in order with ``{"city": "city-<i>"}``), so the
same requests serve every provider test.
"""

from __future__ import annotations

from collections.abc import Iterable

#: A 1x1 PNG, base64 (the bytes of ``tests.mockprovider.bedrock.PIXEL``).
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
#: The same PNG as a data URL, for ``image_url`` content parts.
PNG = "data:image/png;base64," + PNG_B64

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
#: ``get_weather`` (one required string ``city``) and ``get_time`` (no parameters).
TOOLS = [WEATHER_TOOL, TIME_TOOL]

#: A ``person`` object schema: the mock answers it with ``{"name": "value", "age": 1}``.
PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def two_tool_results(first_id: str, second_id: str) -> list[dict]:
    """A conversation whose assistant turn made two parallel tool calls and whose last two turns answer them.

    The user asks ``weather?``; the assistant calls ``get_weather`` with ``{"city":"Oslo"}`` (id
    ``first_id``) and ``get_time`` with ``{}`` (id ``second_id``); the tool results are ``5C`` and
    ``noon``, in that order.
    """
    return [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": first_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                },
                {"id": second_id, "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": first_id, "content": "5C"},
        {"role": "tool", "tool_call_id": second_id, "content": "noon"},
    ]


def with_images(text: str, *urls: str) -> list[dict]:
    """One user message: ``text``, then an ``image_url`` part for each of ``urls`` in order."""
    parts = [{"type": "text", "text": text}, *({"type": "image_url", "image_url": {"url": url}} for url in urls)]
    return [{"role": "user", "content": parts}]


def streamed_text(chunks: Iterable) -> str:
    """The text of a streamed completion: every content delta, skipping chunks without choices (usage)."""
    return "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)


def collect_tool_calls(chunks: Iterable) -> tuple[dict[int, dict], str | None]:
    """Join streamed tool-call deltas by index into ``{"id", "name", "arguments"}``; also the last finish reason."""
    calls: dict[int, dict] = {}
    finish = None
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
            entry["id"] = delta.id or entry["id"]
            entry["name"] = (delta.function.name if delta.function else None) or entry["name"]
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
        finish = chunk.choices[0].finish_reason or finish
    return calls, finish


def stream_with_usage(client, model: str, content: str, **params) -> list:
    """Every chunk of a streamed completion of one user message, asked with ``include_usage``."""
    return list(
        client.chat.completions.create(
            model=model,
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": content}],
            **params,
        )
    )


def stream_tool_calls(client, model: str, tools: list[dict], **params) -> tuple[dict[int, dict], str | None]:
    """Stream ``weather and time`` offered ``tools``, and collect the calls as ``collect_tool_calls`` does."""
    return collect_tool_calls(
        client.chat.completions.create(
            model=model,
            stream=True,
            tools=tools,
            messages=[{"role": "user", "content": "weather and time"}],
            **params,
        )
    )
