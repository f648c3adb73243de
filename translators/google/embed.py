"""Map OpenAI embeddings to Gemini ``embedContent`` / ``batchEmbedContents`` and back.

Facts (ai.google.dev/api/embeddings): one string goes to ``models/{model}:embedContent`` with
``content.parts[].text``; a list goes to ``:batchEmbedContents`` as ``requests[]``, each naming
``models/{model}``. ``dimensions`` is ``outputDimensionality``, ``task_type`` is ``taskType``.
Answers are ``{"embedding": {"values"}}`` or ``{"embeddings": [{"values"}]}``; Vertex AI's
``:predict`` answers ``predictions[].embeddings`` with ``statistics.token_count`` (read here too).
``encoding_format: base64`` packs the floats as little-endian float32, as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from translators.contract import InvalidResponse, Target, TranslationError
from translators.openai_shapes import embedding_list, merge_native

EMBED_HANDLED = frozenset({"model", "input", "dimensions", "encoding_format", "task_type", "native_params"})


def embed_texts(body: Mapping[str, Any]) -> list[str]:
    """Return embedding inputs as a list of strings."""
    value = body.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    raise TranslationError("input must be a string or a list of strings for google embeddings", "input")


def embed_body(body: Mapping[str, Any], model: str) -> tuple[str, dict[str, Any]]:
    """Return ``(method, body)``: ``embedContent`` for a string, ``batchEmbedContents`` for a list."""
    extra: dict[str, Any] = {}
    if isinstance(body.get("dimensions"), int):
        extra["outputDimensionality"] = body["dimensions"]
    if body.get("task_type"):
        extra["taskType"] = body["task_type"]
    texts = embed_texts(body)
    if isinstance(body.get("input"), str):
        return "embedContent", merge_native({"content": {"parts": [{"text": texts[0]}]}, **extra}, body)
    requests = [{"model": f"models/{model}", "content": {"parts": [{"text": t}]}, **extra} for t in texts]
    return "batchEmbedContents", merge_native({"requests": requests}, body)


def embeddings_response(raw: Any, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``embedContent``, ``batchEmbedContents`` or Vertex ``predict`` answers to an OpenAI ``list``."""
    tokens = 0
    if isinstance(raw, Mapping) and isinstance(raw.get("embedding"), Mapping):
        vectors = [raw["embedding"].get("values") or []]
    elif isinstance(raw, Mapping) and isinstance(raw.get("embeddings"), list):
        vectors = [e.get("values") or [] for e in raw["embeddings"]]
    elif isinstance(raw, Mapping) and isinstance(raw.get("predictions"), list):
        vectors = []
        for prediction in raw["predictions"]:
            embedding = prediction.get("embeddings") or {}
            vectors.append(embedding.get("values") or [])
            tokens += int((embedding.get("statistics") or {}).get("token_count") or 0)
    else:
        raise InvalidResponse(f"Invalid response received from {target.provider}: {orjson.dumps(raw)[:500]!r}")
    meta = raw.get("usageMetadata") or {}
    tokens = tokens or int(meta.get("promptTokenCount") or 0)
    return embedding_list(vectors, request, target.provider, tokens)
