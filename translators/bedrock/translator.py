"""Map OpenAI chat and embeddings to AWS Bedrock Runtime (Converse, ConverseStream, InvokeModel), SigV4-signed.

This module builds the Converse request body and holds the ``TRANSLATOR``; the pieces live beside it:
``bedrock_messages`` (messages and media), ``bedrock_tools`` (``toolConfig`` and JSON output),
``bedrock_request`` (URL, model ids, SigV4 or API-key auth, with ``aws_sigv4``), ``bedrock_response``
(answers, streams, errors) and ``bedrock_embed`` (InvokeModel embeddings).

Provider facts (docs.aws.amazon.com/bedrock, API reference ``Converse``, ``InferenceConfiguration``):

* Chat: ``POST /model/{modelId}/converse`` and ``/converse-stream`` (binary
  ``application/vnd.amazon.eventstream``, decoded by the gateway); embeddings: ``POST /model/{id}/invoke``.
* The Converse body holds ``messages``, ``system``, ``inferenceConfig`` (``maxTokens``, ``temperature``,
  ``topP``, ``stopSequences``), ``toolConfig``, ``additionalModelRequestFields`` (model-specific fields
  such as Anthropic's ``thinking``, ``top_k`` / Cohere's ``k`` / Amazon's ``inferenceConfig.topK``) and
  the native ``guardrailConfig``, ``additionalModelResponseFieldPaths``, ``performanceConfig``,
  ``promptVariables`` and ``requestMetadata`` (accepted in camel or snake case). No ``model`` field, no
  ``n``.
* ``reasoning_effort`` -> ``additionalModelRequestFields.thinking`` (Anthropic models; budgets as for
  Anthropic, and without ``max_tokens`` the default plus the budget); ``reasoningContent`` ->
  ``reasoning_content``. The option ``anthropic_beta`` becomes ``anthropic_beta`` there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.anthropic.request import DEFAULT_MAX_TOKENS, THINKING_BUDGETS
from translators.bedrock.embed import EMBED_HANDLED, embed_payload, to_embeddings
from translators.bedrock.messages import Converter, urls_to_fetch
from translators.bedrock.request import model_family, request_for
from translators.bedrock.response import BedrockStream, to_chat_completion, to_error
from translators.bedrock.tools import tool_config
from translators.contract import Built, InvalidResponse, Target, TranslationError
from translators.openai_shapes import loads_or_none, max_tokens_of, merge_native, stop_list, unmapped

_NATIVE_FIELDS = {
    "guardrailConfig": ("guardrailConfig", "guardrail_config"),
    "additionalModelResponseFieldPaths": ("additionalModelResponseFieldPaths", "additional_model_response_field_paths"),
    "performanceConfig": ("performanceConfig", "performance_config"),
    "promptVariables": ("promptVariables", "prompt_variables"),
    "requestMetadata": ("requestMetadata", "request_metadata"),
}
HANDLED = frozenset(
    {"max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "stop", "tools", "tool_choice", "n"}
    | {"response_format", "thinking", "additional_model_request_fields", "additionalModelRequestFields"}
    | {name for names in _NATIVE_FIELDS.values() for name in names}
)


def _model_fields(body: Mapping[str, Any], family: str, target: Target, skipped: list[str]) -> dict[str, Any]:
    """``additionalModelRequestFields``: thinking, top_k and the caller's model-specific fields."""
    fields: dict[str, Any] = {}
    if family == "anthropic":
        effort = body.get("reasoning_effort")
        if body.get("thinking") is None and effort in THINKING_BUDGETS:
            fields["thinking"] = {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}
        beta = target.option("anthropic_beta")
        if beta:
            fields["anthropic_beta"] = [b.strip() for b in beta.split(",")] if isinstance(beta, str) else list(beta)
    elif body.get("reasoning_effort") is not None:
        skipped.append("reasoning_effort")
    if body.get("thinking") is not None:
        fields["thinking"] = body["thinking"]
    if body.get("top_k") is not None:
        if family == "amazon":
            fields["inferenceConfig"] = {"topK": body["top_k"]}
        else:
            fields["k" if family == "cohere" else "top_k"] = body["top_k"]
    for key in ("additional_model_request_fields", "additionalModelRequestFields"):
        if isinstance(body.get(key), Mapping):
            fields.update(body[key])
    return fields


def converse_body(body: Mapping[str, Any], target: Target) -> tuple[dict[str, Any], list[str]]:
    """Build the Converse request body; return it with the extra params it could not map."""
    if body.get("n") not in (None, 1):
        raise TranslationError("n > 1 is not supported by bedrock", "n")
    model = str(body.get("model") or "")
    skipped: list[str] = []
    converter = Converter(target)
    system, messages = converter.convert(body.get("messages") or [])
    out: dict[str, Any] = {"messages": messages}
    if system:
        out["system"] = system
    fields = _model_fields(body, model_family(model), target, skipped)
    inference: dict[str, Any] = {}
    max_tokens = max_tokens_of(body)
    thinking = fields.get("thinking")
    if max_tokens is None and isinstance(thinking, Mapping) and thinking.get("budget_tokens"):
        max_tokens = DEFAULT_MAX_TOKENS + int(thinking["budget_tokens"])
    if max_tokens is not None:
        inference["maxTokens"] = max_tokens
    if body.get("temperature") is not None:
        inference["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        inference["topP"] = body["top_p"]
    stops = stop_list(body.get("stop"))
    if stops:
        inference["stopSequences"] = stops
    if inference:
        out["inferenceConfig"] = inference
    thinking_on = isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")
    config = tool_config(body, converter.tool_blocks, thinking_on)
    if config is not None:
        out["toolConfig"] = config
    if fields:
        out["additionalModelRequestFields"] = fields
    for native, names in _NATIVE_FIELDS.items():
        for name in names:
            if body.get(name) is not None:
                out[native] = body[name]
    if body.get("parallel_tool_calls") is False:
        skipped.append("parallel_tool_calls")
    return merge_native(out, body), skipped


class BedrockTranslator:
    """OpenAI chat and embeddings <-> Bedrock Converse and InvokeModel."""

    stream_format = "aws-eventstream"

    def supports(self, fn: str) -> bool:
        return fn in ("chatComplete", "embed")

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        if fn != "chatComplete":
            return []
        return urls_to_fetch(body.get("messages"))

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        model = str(body.get("model") or "")
        if fn == "embed":
            payload, skipped = embed_payload(body)
            return Built(request_for(target, model, "invoke", payload), sorted(unmapped(body, EMBED_HANDLED) + skipped))
        payload, skipped = converse_body(body, target)
        request = request_for(target, model, "converse-stream" if stream else "converse", payload)
        handled = HANDLED | {"reasoning_effort", "parallel_tool_calls"}
        return Built(request, sorted(unmapped(body, handled) + skipped))

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        raw = loads_or_none(body)
        if fn == "embed" and isinstance(raw, Mapping):
            return to_embeddings(raw, target, request)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("output"), Mapping):
            raise InvalidResponse(f"Invalid response received from bedrock: {body[:500]!r}")
        return to_chat_completion(raw, target, request)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> BedrockStream:
        return BedrockStream(target, request)


TRANSLATOR = BedrockTranslator()
