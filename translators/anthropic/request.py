"""Build Anthropic Messages request bodies from OpenAI Chat Completions: the Claude body builder.

Facts (docs.anthropic.com, Messages API): ``POST /v1/messages`` with ``x-api-key`` and
``anthropic-version``; ``max_tokens`` is required (default here: 4096, or the thinking budget
plus 4096); every system/developer message becomes a ``system`` text block, in order;
consecutive tool results travel in one user turn; ``response_format`` maps to
``output_config.format`` (structured outputs). Shared by Claude on Vertex AI and Bedrock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.contract import Target, TranslationError
from translators.openai_shapes import (
    append_turn,
    arguments_object,
    data_url,
    image_url_of,
    max_tokens_of,
    merge_native,
    parts_of,
    stop_list,
)

DEFAULT_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
#: ``reasoning_effort`` -> thinking budget (tokens).
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}

#: OpenAI params this translator maps, plus Anthropic-native top-level params passed through as-is.
HANDLED = frozenset(
    {
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "user",
        "reasoning_effort",
        "n",
        "top_k",
        "thinking",
        "metadata",
        "service_tier",
        "container",
        "mcp_servers",
        "context_management",
    }
)
_NATIVE_PASSTHROUGH = ("top_k", "thinking", "service_tier", "container", "mcp_servers", "context_management")


# -- request -------------------------------------------------------------------------------------


def _image_block(url: str, part_type: str = "image") -> dict[str, Any]:
    parsed = data_url(url)
    if parsed is not None:
        media_type, data = parsed
        kind = "document" if media_type == "application/pdf" else part_type
        return {"type": kind, "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": part_type, "source": {"type": "url", "url": url}}


def _content_block(part: Mapping[str, Any], role: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        block: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
    elif kind == "image_url":
        url = image_url_of(part)
        if not url:
            raise TranslationError("image_url parts need a url", "messages")
        block = _image_block(url)
    elif kind == "file":
        file = part.get("file") or {}
        if file.get("file_data"):
            block = _image_block(file["file_data"], "document")
        elif file.get("file_url") or file.get("url"):
            block = {"type": "document", "source": {"type": "url", "url": file.get("file_url") or file.get("url")}}
        else:
            raise TranslationError("file parts need file_data or file_url for anthropic", "messages")
    elif kind in ("thinking", "redacted_thinking", "tool_use", "tool_result", "image", "document", "search_result"):
        block = {k: v for k, v in part.items() if k != "cache_control"}  # an Anthropic-native block
    else:
        raise TranslationError(f"{kind} content is not supported by anthropic ({role} message)", "messages")
    if "cache_control" in part:
        block["cache_control"] = part["cache_control"]
    return block


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list):
        result_content: Any = [_content_block(p, "tool") for p in parts_of(content)]
    else:
        result_content = content if isinstance(content, str) else ""
    return {"type": "tool_result", "tool_use_id": message.get("tool_call_id", ""), "content": result_content}


def _assistant_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks = [_content_block(p, "assistant") for p in parts_of(message.get("content"))]
    blocks = [b for b in blocks if not (b.get("type") == "text" and not b.get("text"))]
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": function.get("name", ""),
                "input": arguments_object(function.get("arguments")),
            }
        )
    return blocks


def convert_messages(messages: list[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return Anthropic ``(system blocks, messages)``: system/developer text in order, tool results merged."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            for part in parts_of(message.get("content")):
                if part.get("type") == "text":
                    block = {"type": "text", "text": part.get("text", "")}
                    if "cache_control" in part:
                        block["cache_control"] = part["cache_control"]
                    system.append(block)
            continue
        if role == "assistant":
            turn_role, blocks = "assistant", _assistant_blocks(message)
        elif role in ("tool", "function"):
            turn_role, blocks = "user", [_tool_result(message)]
        else:
            turn_role, blocks = "user", [_content_block(p, "user") for p in parts_of(message.get("content"))]
        append_turn(out, turn_role, blocks)
    return system, out


def _tools(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if tool.get("type") != "function":
            out.append(dict(tool))  # an Anthropic server tool (web_search, ...)
            continue
        function = tool.get("function") or {}
        schema = dict(function.get("parameters") or {})
        schema.setdefault("type", "object")
        entry: dict[str, Any] = {
            "name": function.get("name", ""),
            "description": function.get("description", ""),
            "input_schema": schema,
        }
        if function.get("strict") is True:
            entry["strict"] = True
        if "cache_control" in tool:
            entry["cache_control"] = tool["cache_control"]
        out.append(entry)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    mapped: dict[str, Any] | None
    if choice is None:
        mapped = None
    elif choice == "auto":
        mapped = {"type": "auto"}
    elif choice == "none":
        mapped = {"type": "none"}
    elif choice == "required":
        mapped = {"type": "any"}
    elif isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        mapped = {"type": "tool", "name": choice["function"].get("name", "")}
    else:
        raise TranslationError("tool_choice is not understood", "tool_choice")
    if parallel is False:
        mapped = {**(mapped or {"type": "auto"}), "disable_parallel_tool_use": True}
    return mapped


def _output_format(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, Mapping):
            raise TranslationError("response_format.json_schema.schema is required", "response_format")
        return {"type": "json_schema", "schema": schema}
    if kind == "json_object":
        return {"type": "json_schema", "schema": {"type": "object"}}
    return None


def messages_body(body: Mapping[str, Any], *, include_model: bool = True) -> dict[str, Any]:
    """Build the Anthropic Messages request body from an OpenAI chat request."""
    if body.get("n") not in (None, 1):
        raise TranslationError("n > 1 is not supported by anthropic", "n")
    system, messages = convert_messages(body.get("messages") or [])
    out: dict[str, Any] = {}
    if include_model:
        if not body.get("model"):
            raise TranslationError("model is required", "model")
        out["model"] = body["model"]
    out["messages"] = messages
    if system:
        out["system"] = system
    thinking = body.get("thinking")
    effort = body.get("reasoning_effort")
    if thinking is None and effort in THINKING_BUDGETS:
        thinking = {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}
    max_tokens = max_tokens_of(body)
    if max_tokens is None:
        budget = thinking.get("budget_tokens", 0) if isinstance(thinking, Mapping) else 0
        max_tokens = DEFAULT_MAX_TOKENS + (budget or 0)
    out["max_tokens"] = max_tokens
    if body.get("temperature") is not None:
        out["temperature"] = min(1.0, max(0.0, float(body["temperature"])))
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stops = stop_list(body.get("stop"))
    if stops:
        out["stop_sequences"] = stops
    if body.get("tools"):
        out["tools"] = _tools(body["tools"])
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    output_format = _output_format(body.get("response_format"))
    if output_format is not None:
        out["output_config"] = {"format": output_format}
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if thinking is not None:
        out["thinking"] = thinking
    for key in _NATIVE_PASSTHROUGH:
        if key in body and key != "thinking":
            out[key] = body[key]
    if body.get("stream") is True:
        out["stream"] = True
    return merge_native(out, body)


def headers(target: Target) -> dict[str, str]:
    """Anthropic auth and version headers."""
    out = {
        "content-type": "application/json",
        "anthropic-version": str(target.option("anthropic_version", default=DEFAULT_VERSION)),
    }
    if target.api_key:
        out["x-api-key"] = target.api_key
    beta = target.option("anthropic_beta")
    if beta:
        out["anthropic-beta"] = beta if isinstance(beta, str) else ",".join(beta)
    return out


# -- response ------------------------------------------------------------------------------------
