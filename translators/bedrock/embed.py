"""Map OpenAI embeddings to Bedrock ``InvokeModel`` for Titan and Cohere embedding models, and back.

Facts (Bedrock user guide "Amazon Titan Embeddings Text", "Cohere Embed models"; API reference
``InvokeModel``):

* Titan (``amazon.titan-embed-*``): body ``{"inputText", "dimensions"?}``, one input per request; the
  answer holds ``embedding`` and ``inputTextTokenCount``.
* Cohere (``cohere.embed-*``): body ``{"texts", "input_type", "embedding_types", "truncate"?}``, at most 96
  texts; ``input_type`` is required (``search_document`` by default here); only ``embed-v4`` takes
  ``output_dimension``. The answer holds ``embeddings`` (a list, or ``{"float": [...]}`` when
  ``embedding_types`` was sent) and, on Bedrock, no token count in the body.
* Every ``InvokeModel`` answer carries the ``X-Amzn-Bedrock-Input-Token-Count`` header; the gateway hands
  response headers over in ``Target.response_headers`` (lower-case), so usage comes from the body's
  count when it has one, else from that header.
* ``encoding_format: base64`` is OpenAI's little-endian float32 bytes, base64-encoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from translators.bedrock.request import model_family
from translators.contract import InvalidResponse, Target, TranslationError
from translators.openai_shapes import embedding_list

COHERE_MAX_TEXTS = 96
#: The response header with the input token count Bedrock bills for an InvokeModel call.
INPUT_TOKENS_HEADER = "x-amzn-bedrock-input-token-count"
EMBED_HANDLED = frozenset({"input", "encoding_format", "dimensions", "input_type", "truncate"})


def embed_payload(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the InvokeModel body for a Titan or Cohere embedding model."""
    model = str(body.get("model") or "")
    value = body.get("input")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise TranslationError("bedrock embeddings take a string or a list of strings", "input")
    skipped: list[str] = []
    name = model.rsplit("/", 1)[-1]
    if "titan-embed" in name:
        if len(texts) != 1:
            raise TranslationError(
                f"{model} embeds one input per request (got {len(texts)}); send one request per input", "input"
            )
        payload: dict[str, Any] = {"inputText": texts[0]}
        if body.get("dimensions") is not None:
            payload["dimensions"] = body["dimensions"]
        return payload, skipped
    if model_family(model) == "cohere":
        if len(texts) > COHERE_MAX_TEXTS:
            raise TranslationError(f"{model} embeds at most {COHERE_MAX_TEXTS} texts per request", "input")
        payload = {"texts": texts, "input_type": body.get("input_type") or "search_document"}
        payload["embedding_types"] = ["float"]
        if body.get("truncate"):
            payload["truncate"] = body["truncate"]
        if body.get("dimensions") is not None:
            if "embed-v4" in name:
                payload["output_dimension"] = body["dimensions"]
            else:
                skipped.append("dimensions")
        return payload, skipped
    raise TranslationError(f"embeddings with {model} are not supported (amazon.titan-embed-*, cohere.embed-*)", "model")


def header_tokens(target: Target) -> int:
    """Return the input token count of the ``X-Amzn-Bedrock-Input-Token-Count`` response header (0 if absent)."""
    value = target.response_headers.get(INPUT_TOKENS_HEADER)
    try:
        return max(0, int(value)) if value else 0
    except ValueError:
        return 0


def to_embeddings(raw: Mapping[str, Any], target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map a Titan or Cohere InvokeModel answer to OpenAI's embeddings list."""
    if isinstance(raw.get("embedding"), list):
        vectors, counted = [raw["embedding"]], raw.get("inputTextTokenCount")
    elif "embeddings" in raw:
        found = raw["embeddings"]
        vectors = found.get("float") if isinstance(found, Mapping) else found
        counted = ((raw.get("meta") or {}).get("billed_units") or {}).get("input_tokens")
    else:
        vectors, counted = None, None
    if not isinstance(vectors, list):
        raise InvalidResponse(f"Invalid response received from bedrock: {orjson.dumps(raw)[:500]!r}")
    tokens = int(counted or 0) if counted is not None else header_tokens(target)
    return embedding_list(vectors, request, target.provider, tokens)
