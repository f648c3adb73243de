"""Shape OpenAI requests for Mistral AI's near-OpenAI API and smooth over where it differs.

Facts (docs.mistral.ai API reference, mistralai/client-python models): ``POST /chat/completions``,
``/fim/completions`` and ``/embeddings`` with ``Authorization: Bearer``. Request bodies are
validated strictly: an unknown field is a 422 ``extra_forbidden`` error, so only documented
fields are sent. Chat accepts ``model, messages, temperature, top_p, max_tokens, stream, stop,
random_seed, metadata, response_format, tools, tool_choice (auto|none|any|required|named),
presence_penalty, frequency_penalty, n, prediction, parallel_tool_calls, reasoning_effort,
prompt_mode, guardrails, prompt_cache_key, safe_prompt``; messages accept ``system``/``user``
``{role, content}``, ``assistant {role, content, tool_calls, prefix}`` and ``tool {role, content,
tool_call_id, name}``. FIM accepts ``model, prompt, suffix, temperature, top_p, max_tokens,
min_tokens, stream, stop, random_seed, metadata, prompt_cache_key``; embeddings ``model, input,
output_dimension, output_dtype, encoding_format, metadata``.

Mapping: ``max_completion_tokens`` -> ``max_tokens``, ``seed`` -> ``random_seed``,
``dimensions`` -> ``output_dimension``, ``developer`` -> ``system``, ``tool_choice: required``
-> ``any``. ``stream_options`` is not sent (Mistral has none; see ``translators/mistral_response.py``
for the usage chunk). Any other field (``user``, ``logprobs``, ``logit_bias``,
``service_tier``, ``top_k``, message fields such as ``name`` on a user turn, ...) is left out
rather than forwarded, because a single unknown field fails the whole request; such fields are
named in ``Built.unmapped`` (``messages[].<field>`` for message fields) and can still be forced
through ``native_params``. ``complete`` is served as fill-in-the-middle when the option
``mistral_fim_completion`` is ``"true"``.

The answers, streams and errors are mapped in ``translators/mistral_response.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.contract import NATIVE_PARAMS, Built, HttpRequest, InvalidResponse, Target, TranslationError
from translators.mistral.response import MistralStream, to_chat_completion, to_error, to_text_completion
from translators.openai_shapes import json_bytes, loads_or_none, merge_native

CHAT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "stream",
        "stop",
        "random_seed",
        "metadata",
        "response_format",
        "tools",
        "tool_choice",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "prediction",
        "parallel_tool_calls",
        "reasoning_effort",
        "prompt_mode",
        "guardrails",
        "prompt_cache_key",
        "safe_prompt",
    }
)
FIM_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "suffix",
        "temperature",
        "top_p",
        "max_tokens",
        "min_tokens",
        "stream",
        "stop",
        "random_seed",
        "metadata",
        "prompt_cache_key",
    }
)
EMBED_FIELDS = frozenset({"model", "input", "output_dimension", "output_dtype", "encoding_format", "metadata"})
#: OpenAI name -> Mistral name.
RENAMES = {"max_completion_tokens": "max_tokens", "seed": "random_seed", "dimensions": "output_dimension"}
MESSAGE_FIELDS = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "prefix"}),
    "tool": frozenset({"role", "content", "tool_call_id", "name"}),
}
PATHS = {"chatComplete": "/chat/completions", "complete": "/fim/completions", "embed": "/embeddings"}


# -- requests ------------------------------------------------------------------------------------


def _messages(messages: Any, dropped: set[str]) -> list[Any]:
    out = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            out.append(message)
            continue
        role = "system" if message.get("role") == "developer" else message.get("role")
        allowed = MESSAGE_FIELDS.get(str(role))
        if allowed is None:
            out.append(dict(message))
            continue
        kept = {"role": role}
        for key, value in message.items():
            if key in allowed:
                if key != "role":
                    kept[key] = value
            elif value not in (None, [], "", {}):
                dropped.add(f"messages[].{key}")
        out.append(kept)
    return out


def _select(body: Mapping[str, Any], fields: frozenset[str]) -> tuple[dict[str, Any], set[str]]:
    """Keep the fields Mistral accepts (renaming OpenAI ones); return the rest as dropped names."""
    out: dict[str, Any] = {}
    dropped: set[str] = set()
    for key, value in body.items():
        name = RENAMES.get(key, key)
        if name in fields:
            if key == name or name not in body:  # an explicit Mistral name wins over the OpenAI one
                out[name] = value
        elif key not in ("stream_options", NATIVE_PARAMS):
            dropped.add(key)
    return out, dropped


def chat_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the Mistral chat body and the names of the params left out."""
    out, dropped = _select(body, CHAT_FIELDS)
    out["messages"] = _messages(body.get("messages"), dropped)
    if out.get("tool_choice") == "required":
        out["tool_choice"] = "any"
    return merge_native(out, body), sorted(dropped)


def fim_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the Mistral FIM body from an OpenAI completions request."""
    if not isinstance(body.get("prompt"), str):
        raise TranslationError("mistral-ai fill-in-the-middle needs prompt as one string", "prompt")
    out, dropped = _select(body, FIM_FIELDS)
    return merge_native(out, body), sorted(dropped)


def embed_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the Mistral embeddings body."""
    out, dropped = _select(body, EMBED_FIELDS)
    return merge_native(out, body), sorted(dropped)


# -- the translator ------------------------------------------------------------------------------


class MistralTranslator:
    """OpenAI chat, FIM completions and embeddings <-> Mistral AI."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn in PATHS

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return []  # Mistral fetches image URLs itself

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        if fn == "complete":
            if str(target.option("mistral_fim_completion", default="")).lower() != "true":
                raise TranslationError(
                    "mistral-ai serves completions only as fill-in-the-middle: set mistral_fim_completion to true",
                    "mistral_fim_completion",
                )
            payload, skipped = fim_body(body)
        elif fn == "embed":
            payload, skipped = embed_body(body)
        else:
            payload, skipped = chat_body(body)
        headers = {"content-type": "application/json", "accept": "application/json"}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        base = (target.custom_host or target.base_url).rstrip("/")
        return Built(HttpRequest("POST", base + PATHS[fn], headers, json_bytes(payload)), skipped)

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        answer = loads_or_none(body)
        if fn == "embed" and isinstance(answer, dict) and "data" in answer:
            return {**answer, "provider": target.provider}
        if not isinstance(answer, dict) or "choices" not in answer:
            raise InvalidResponse(f"Invalid response received from {target.provider}: {body[:500]!r}")
        if fn == "complete":
            return to_text_completion(answer, target)
        return to_chat_completion(answer, target)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> MistralStream:
        return MistralStream(fn, target, request)


TRANSLATOR = MistralTranslator()
