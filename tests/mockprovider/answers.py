"""Decide what a mock model answers, from what any provider's request asked (protocol-neutral)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.mockprovider.switches import Switches


@dataclass
class Ask:
    """The parts of a request the mock's answer depends on."""

    text: str = ""
    tools: list[str] = field(default_factory=list)
    schema: dict[str, Any] | None = None
    images: list[str] = field(default_factory=list)
    thinking: bool = False
    system: str = ""

    def user_turn(self, texts: list[str], media: list[str]) -> None:
        """Take in a user turn: the last turn with text gives ``text``, the last with media gives ``images``."""
        if texts:
            self.text = " ".join(texts)
        self.images = media or self.images


@dataclass
class Answer:
    """What the mock model says: text, thinking text and tool calls ``(id, name, arguments json)``."""

    text: str
    thinking: str = ""
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0


def _placeholder(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "value"
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: _placeholder(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_placeholder(schema.get("items"))]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    return "value"


def answer(ask: Ask, sw: Switches, id_prefix: str = "call_") -> Answer:
    """Build the answer: JSON for a schema, tool calls when asked, else an echo (images described)."""
    if ask.schema is not None:
        text = orjson.dumps(_placeholder(ask.schema)).decode()
    elif sw.text:
        text = sw.text
    else:
        text = "echo: " + ask.text + "".join(f" [{image}]" for image in ask.images)
    calls = []
    if sw.tool_calls:
        names = ask.tools or ["get_weather"]
        calls = [
            (f"{id_prefix}{i}", names[i % len(names)], orjson.dumps({"city": f"city-{i}"}).decode())
            for i in range(sw.tool_calls)
        ]
        text = ""
    thinking = "Let me think about this." if ask.thinking else ""
    size = len(ask.text) + len(ask.system) + sum(len(i) for i in ask.images)
    return Answer(text, thinking, calls, max(1, size // 4), max(1, len(text) // 4 + len(calls) * 8))


def split(text: str, parts: int) -> list[str]:
    """Split ``text`` into up to ``parts`` non-empty pieces."""
    parts = max(1, min(parts, len(text) or 1))
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
