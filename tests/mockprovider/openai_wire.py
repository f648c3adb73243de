"""Build OpenAI-format bodies and stream payloads for the mock provider."""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
import time
from collections.abc import Mapping
from typing import Any

import orjson

from tests.mockprovider.switches import Switches

_ids = itertools.count(1)


def last_user_text(body: dict[str, Any]) -> str:
    """Return the text of the last user message (parts joined)."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def answer_text(body: dict[str, Any], sw: Switches) -> str:
    """The mock's answer: the ``text`` switch, or an echo of the last user message."""
    if sw.text:
        return sw.text
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return f"echo: {prompt}"
    return f"echo: {last_user_text(body)}"


def split_text(text: str, parts: int) -> list[str]:
    """Split ``text`` into ``parts`` non-empty pieces (fewer if it is short)."""
    parts = max(1, min(parts, len(text) or 1))
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _tool_names(body: dict[str, Any]) -> list[str]:
    names = [t.get("function", {}).get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
    return [n for n in names if n] or ["get_weather"]


def tool_calls(body: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Return ``n`` parallel tool calls over the request's tool names."""
    names = _tool_names(body)
    return [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": names[i % len(names)], "arguments": orjson.dumps({"city": f"city-{i}"}).decode()},
        }
        for i in range(n)
    ]


def usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = max(1, len(orjson.dumps(body.get("messages") or body.get("prompt") or "")) // 4)
    completion = max(1, len(text) // 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_completion(body: dict[str, Any], sw: Switches) -> dict[str, Any]:
    text = answer_text(body, sw)
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    finish = "stop"
    if sw.tool_calls:
        message = {"role": "assistant", "content": None, "tool_calls": tool_calls(body, sw.tool_calls)}
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-mock-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "mock-model"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage(body, text),
        "system_fingerprint": "fp_mock",
    }


def chat_stream(body: dict[str, Any], sw: Switches) -> list[bytes]:
    """Return the payloads of a chat completion stream, ending with ``[DONE]``."""
    cid = f"chatcmpl-mock-{next(_ids)}"
    created = int(time.time())
    model = body.get("model", "mock-model")

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        obj = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        return orjson.dumps(obj)

    text = answer_text(body, sw)
    payloads = [chunk({"role": "assistant", "content": ""})]
    finish = "stop"
    if sw.tool_calls:
        finish = "tool_calls"
        for i, call in enumerate(tool_calls(body, sw.tool_calls)):
            payloads.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
            )
            args = call["function"]["arguments"]
            for piece in split_text(args, 2):
                payloads.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    else:
        payloads.extend(chunk({"content": piece}) for piece in split_text(text, sw.chunks))
    if sw.no_done:
        return payloads
    payloads.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        payloads.append(
            orjson.dumps(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage(body, text),
                }
            )
        )
    payloads.append(b"[DONE]")
    return payloads


def completion(body: dict[str, Any], sw: Switches) -> dict[str, Any]:
    text = answer_text(body, sw)
    return {
        "id": f"cmpl-mock-{next(_ids)}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body.get("model", "mock-model"),
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage(body, text),
    }


def completion_stream(body: dict[str, Any], sw: Switches) -> list[bytes]:
    cid = f"cmpl-mock-{next(_ids)}"
    model = body.get("model", "mock-model")
    payloads = [
        orjson.dumps(
            {
                "id": cid,
                "object": "text_completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": None}],
            }
        )
        for piece in split_text(answer_text(body, sw), sw.chunks)
    ]
    if sw.no_done:
        return payloads
    payloads.append(
        orjson.dumps(
            {
                "id": cid,
                "object": "text_completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}],
            }
        )
    )
    payloads.append(b"[DONE]")
    return payloads


def vector(text: str, dims: int = 8) -> list[float]:
    """A deterministic unit-ish vector for ``text``."""
    raw = b""
    counter = 0
    while len(raw) < dims * 2:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    values = struct.unpack(f"{dims}h", raw[: dims * 2])
    return [v / 32768 for v in values]


def bag_of_words(text: str, dims: int = 64) -> list[float]:
    """A vector whose cosine similarity tracks shared words (case and punctuation ignored)."""
    counts = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        counts[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dims] += 1.0
    return counts


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    items = inputs if isinstance(inputs, list) else [inputs]
    dims = body.get("dimensions") if isinstance(body.get("dimensions"), int) else 8
    embed = bag_of_words if str(body.get("model", "")).startswith("bow") else vector
    data = [
        {"object": "embedding", "index": i, "embedding": embed(str(item), dims if embed is vector else 64)}
        for i, item in enumerate(items)
    ]
    tokens = sum(max(1, len(str(item)) // 4) for item in items)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "mock-embed"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def model_list() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": "mock-model", "object": "model", "created": 1700000000, "owned_by": "mock"},
            {"id": "mock-embed", "object": "model", "created": 1700000000, "owned_by": "mock"},
        ],
    }


def list_page(items: list[dict[str, Any]], args: Mapping[str, str]) -> dict[str, Any]:
    """One page of a list (``items`` newest first), honouring the ``limit`` and ``after`` query arguments."""
    after = args.get("after")
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    limit = int(args.get("limit") or 20)
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > limit,
    }


def subtitle_time(seconds: float, sep: str) -> str:
    """A subtitle timestamp ``HH:MM:SS<sep>mmm`` (``,`` for SRT, ``.`` for VTT)."""
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def output_message(item_id: str, text: str) -> dict[str, Any]:
    """A Responses API output item: a completed assistant message of ``text``."""
    return {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def response_events(response: dict[str, Any]) -> list[tuple[str | None, bytes]]:
    """A Responses API stream of a finished ``response``: ``response.created`` (in progress), ``response.completed``."""
    created = {**response, "status": "in_progress", "output": []}
    events = [
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": created}),
        ("response.completed", {"type": "response.completed", "sequence_number": 1, "response": response}),
    ]
    return [(name, orjson.dumps(data)) for name, data in events]
