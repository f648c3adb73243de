"""Cache successful answers per target: keys, policy, stored entries and streams replayed from them.

``"cache": {"mode": "simple" | "semantic", "max_age": seconds}`` on a config node. A key is
the SHA-256 of the endpoint, the provider and its base URL, a hash of the credential (so two
tenants never share answers; provider options such as a Vertex service account count as
credentials too), the ``x-portkey-cache-namespace``, and the request body in OpenAI terms,
normalised (keys sorted; ``stream`` and ``stream_options`` left out, so streamed and plain
requests share entries). Only 200 answers are stored, as OpenAI-format JSON (chat completions,
completions, embeddings). A streaming request answered from the cache gets a proper stream in
the client's format, built from the stored completion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from translators.openai_shapes import ChunkWriter

#: Endpoints whose answers may be cached.
CACHEABLE = frozenset({"chatComplete", "complete", "embed", "messages"})
DEFAULT_MAX_AGE = 86400.0
DEFAULT_THRESHOLD = 0.95
#: Characters per replayed content chunk.
REPLAY_CHUNK = 200


@dataclass(frozen=True)
class CachePolicy:
    """How a target caches."""

    mode: str
    max_age: float = DEFAULT_MAX_AGE
    threshold: float = DEFAULT_THRESHOLD
    embedding: Mapping[str, Any] | None = None

    @classmethod
    def parse(cls, raw: Any) -> "CachePolicy | None":
        """Build the policy from a config's ``cache`` value (a mode string or an object)."""
        if raw is None:
            return None
        if isinstance(raw, str):
            return cls(raw)
        return cls(
            str(raw.get("mode", "simple")),
            float(raw.get("max_age", DEFAULT_MAX_AGE)),
            float(raw.get("threshold", DEFAULT_THRESHOLD)),
            raw.get("embedding"),
        )


def normalised_body(body: Mapping[str, Any]) -> bytes:
    """The request body as cache key material: keys sorted, streaming switches dropped."""
    trimmed = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return orjson.dumps(trimmed, option=orjson.OPT_SORT_KEYS)


def scope_of(provider: str, base_url: str, api_key: str | None, options: Mapping[str, Any], namespace: str = "") -> str:
    """The tenant, target and namespace a cached answer belongs to (a hash; no secret is stored)."""
    material = orjson.dumps(
        [provider, base_url, api_key or "", dict(options), namespace], option=orjson.OPT_SORT_KEYS, default=str
    )
    return hashlib.sha256(material).hexdigest()[:32]


def cache_key(fn: str, scope: str, body: Mapping[str, Any]) -> str:
    """The exact-match key for a request (answers are stored in OpenAI format, so any client format shares them)."""
    digest = hashlib.sha256()
    for part in (fn.encode(), scope.encode()):
        digest.update(part)
        digest.update(b"\x1f")
    digest.update(normalised_body(body))
    return digest.hexdigest()


def entry(body: Mapping[str, Any], provider: str) -> bytes:
    """Serialise a stored answer."""
    return orjson.dumps({"provider": provider, "body": body})


def read_entry(raw: bytes) -> tuple[str, dict[str, Any]] | None:
    """Parse a stored answer: ``(provider, body)``."""
    try:
        data = orjson.loads(raw)
        return data["provider"], data["body"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def replay_chunks(completion: Mapping[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """Stream chunks that replay a stored chat completion (or text completion), every choice."""
    writer = ChunkWriter(
        id=str(completion.get("id", "")),
        model=str(completion.get("model", "")),
        provider=str(completion.get("provider", "")),
        include_usage=include_usage,
    )
    choices = completion.get("choices") or [{}]
    if completion.get("object") == "text_completion":
        chunks = [_text_chunk(writer, choice) for choice in choices]
    else:
        chunks = [chunk for choice in choices for chunk in _chat_chunks(writer, choice)]
    if completion.get("usage"):
        chunks += writer.usage_chunk(dict(completion["usage"]))
    if completion.get("object") == "text_completion":
        for chunk in chunks:
            chunk["object"] = "text_completion"
    return chunks


def _chat_chunks(writer: ChunkWriter, choice: Mapping[str, Any]) -> list[dict[str, Any]]:
    message = choice.get("message") or {}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if message.get("reasoning_content"):
        deltas.append({"reasoning_content": message["reasoning_content"]})
    content = message.get("content")
    if isinstance(content, str) and content:
        deltas += [{"content": content[i : i + REPLAY_CHUNK]} for i in range(0, len(content), REPLAY_CHUNK)]
    for index, call in enumerate(message.get("tool_calls") or []):
        tool = {"index": index, "id": call.get("id"), "type": "function", "function": call.get("function") or {}}
        deltas.append({"tool_calls": [tool]})
    chunks = [writer.chunk(delta) for delta in deltas] + [writer.chunk({}, choice.get("finish_reason") or "stop")]
    for chunk in chunks:
        chunk["choices"][0]["index"] = choice.get("index", 0)
    return chunks


def _text_chunk(writer: ChunkWriter, choice: Mapping[str, Any]) -> dict[str, Any]:
    chunk = writer.chunk({}, choice.get("finish_reason") or "stop")
    chunk["choices"] = [
        {
            "index": choice.get("index", 0),
            "text": str(choice.get("text") or ""),
            "logprobs": None,
            "finish_reason": choice.get("finish_reason") or "stop",
        }
    ]
    return chunk
