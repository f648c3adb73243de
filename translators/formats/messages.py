"""Serve the Anthropic Messages format in front of any provider, through the chat layer.

``to_chat`` turns a Messages request into an OpenAI chat request (system, content blocks,
images and PDFs, tool use and tool results, tool choice, thinking, structured output);
``to_message`` turns a chat completion into a Messages response; ``EventWriter`` turns
streamed chat chunks into Anthropic's event sequence (``message_start``, ``content_block_start``
/ ``_delta`` / ``_stop`` for text, thinking and ``tool_use`` with ``input_json_delta``,
``message_delta`` with the stop reason and usage, ``message_stop``); ``error_body`` builds
Anthropic's error envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.anthropic.response import tool_use_call
from translators.contract import StreamError, TranslationError
from translators.openai_shapes import arguments_object, new_id

#: thinking budget (tokens) -> OpenAI reasoning_effort
EFFORTS = ((2048, "low"), (8192, "medium"))

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}

#: Messages request fields with the same meaning in chat, copied by ``to_chat`` (translators map or report them).
_PASSED = ("temperature", "top_p", "top_k", "native_params")
#: Anthropic ``service_tier`` -> OpenAI ``service_tier``.
_SERVICE_TIERS = {"auto": "auto", "standard_only": "default"}

#: Messages request fields mapped by ``to_chat``; any other field has no chat equivalent (``context_management``,
#: ``container``, ``mcp_servers``, ...): it is dropped and named by ``unmapped_fields``, never sent to a chat API.
_MAPPED = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "stop_sequences",
        "stream",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        "output_config",
        "output_format",
        "service_tier",
    }
)


def unmapped_fields(body: Mapping[str, Any]) -> list[str]:
    """The Messages fields (and server tools) ``to_chat`` drops because chat has no equivalent."""
    names = [key for key in body if key not in _MAPPED and key not in _PASSED]
    if body.get("service_tier") is not None and body.get("service_tier") not in _SERVICE_TIERS:
        names.append("service_tier")
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping) and "input_schema" not in tool:
            names.append(f"tools.{tool.get('type') or tool.get('name') or 'unknown'}")
    return names


def _system_content(content: Any) -> Any:
    """A Messages ``system`` value (string or text blocks) as chat system content, or None when empty."""
    if isinstance(content, str):
        return content or None
    if isinstance(content, list):
        parts = [
            {
                "type": "text",
                "text": b.get("text", ""),
                **({"cache_control": b["cache_control"]} if "cache_control" in b else {}),
            }
            for b in content
            if isinstance(b, Mapping) and b.get("type") == "text"
        ]
        return parts or None
    return None


def error_body(status: int, message: str, error_type: str | None = None) -> dict[str, Any]:
    """Anthropic's error envelope."""
    kind = error_type if error_type in set(ERROR_TYPES.values()) | {"api_error"} else None
    return {"type": "error", "error": {"type": kind or ERROR_TYPES.get(status, "api_error"), "message": message}}


# -- request -------------------------------------------------------------------------------------


def _source_url(source: Mapping[str, Any]) -> str:
    if source.get("type") == "base64":
        return f"data:{source.get('media_type', 'application/octet-stream')};base64,{source.get('data', '')}"
    if source.get("type") == "url":
        return str(source.get("url", ""))
    raise TranslationError(f"{source.get('type')} sources are not supported for this provider", "messages")


def _user_part(block: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        part: dict[str, Any] = {"type": "text", "text": block.get("text", "")}
    elif kind == "image":
        part = {"type": "image_url", "image_url": {"url": _source_url(block.get("source") or {})}}
    elif kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text":
            part = {"type": "text", "text": source.get("data", "")}
        else:
            url = _source_url(source)
            part = {"type": "file", "file": {"file_data": url} if url.startswith("data:") else {"file_url": url}}
    elif kind in ("thinking", "redacted_thinking"):
        return None
    else:
        raise TranslationError(f"{kind} content blocks are not supported for this provider", "messages")
    if "cache_control" in block:
        part["cache_control"] = block["cache_control"]
    return part


def _tool_result_content(content: Any) -> Any:
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, Mapping) and b.get("type") == "text"]
        others = [_user_part(b) for b in content if isinstance(b, Mapping) and b.get("type") != "text"]
        if not others:
            return "\n".join(texts)
        return [{"type": "text", "text": t} for t in texts] + [p for p in others if p]
    return content if isinstance(content, str) else ""


def _blocks(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, Mapping)]


def _user_messages(content: Any) -> list[dict[str, Any]]:
    """A user turn: tool results become tool messages (first), the rest one user message."""
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in _blocks(content):
        if block.get("type") == "tool_result":
            text = _tool_result_content(block.get("content"))
            if block.get("is_error") and isinstance(text, str):
                text = f"Error: {text}"
            out.append({"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text})
        else:
            part = _user_part(block)
            if part is not None:
                parts.append(part)
    if parts:
        simple = len(parts) == 1 and parts[0]["type"] == "text" and "cache_control" not in parts[0]
        out.append({"role": "user", "content": parts[0]["text"] if simple else parts})
    return out


def _assistant_message(content: Any) -> dict[str, Any] | None:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append(tool_use_call(block))
    if not texts and not calls:
        return None
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_choice(choice: Any) -> tuple[Any, bool | None]:
    if not isinstance(choice, Mapping):
        return None, None
    parallel = False if choice.get("disable_parallel_tool_use") else None
    kind = choice.get("type")
    if kind == "auto":
        return "auto", parallel
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", parallel
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}, parallel
    raise TranslationError(f"tool_choice type {kind} is not understood", "tool_choice")


def _effort(thinking: Any) -> str | None:
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return None
    budget = int(thinking.get("budget_tokens") or 0)
    for limit, name in EFFORTS:
        if budget <= limit:
            return name
    return "high"


def to_chat(body: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an Anthropic Messages request into an OpenAI chat request."""
    messages: list[dict[str, Any]] = []
    system = _system_content(body.get("system"))
    if system is not None:
        messages.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        if message.get("role") == "system":  # a mid-conversation system instruction (Claude Code sends them)
            content = _system_content(message.get("content"))
            if content is not None:
                messages.append({"role": "system", "content": content})
        elif message.get("role") == "assistant":
            converted = _assistant_message(message.get("content"))
            if converted is not None:
                messages.append(converted)
        else:
            messages.extend(_user_messages(message.get("content")))
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    if body.get("max_tokens") is not None:
        chat["max_tokens"] = body["max_tokens"]
    if body.get("stop_sequences"):
        chat["stop"] = list(body["stop_sequences"])
    if body.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    if body.get("tools"):
        chat["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.get("name", ""),
                    "description": t.get("description", ""),
                    "parameters": t.get("input_schema") or {"type": "object"},
                },
            }
            for t in body["tools"]
            if isinstance(t, Mapping) and "input_schema" in t
        ]
        if not chat["tools"]:
            del chat["tools"]
    choice, parallel = _tool_choice(body.get("tool_choice"))
    if choice is not None and "tools" in chat:
        chat["tool_choice"] = choice
    if parallel is False and "tools" in chat:
        chat["parallel_tool_calls"] = False
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str):
        chat["user"] = user
    effort = _effort(body.get("thinking"))
    if effort:
        chat["reasoning_effort"] = effort
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        chat["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": fmt.get("schema") or {}},
        }
    tier = _SERVICE_TIERS.get(body.get("service_tier"))  # type: ignore[arg-type]
    if tier is not None:
        chat["service_tier"] = tier
    for key in _PASSED:
        if key in body:
            chat[key] = body[key]
    return chat


# -- response ------------------------------------------------------------------------------------


def usage_of(chat_usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Anthropic usage from OpenAI usage (input tokens exclude cache reads, as Anthropic reports them)."""
    chat_usage = chat_usage or {}
    details = chat_usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    created = int(details.get("cache_creation_tokens") or 0)
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    return {
        "input_tokens": max(0, prompt - cached - created),
        "output_tokens": int(chat_usage.get("completion_tokens") or 0),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": created,
    }


def to_message(chat: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an OpenAI chat completion into an Anthropic Messages response."""
    choice = (chat.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if reply.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": reply["reasoning_content"], "signature": ""})
    if reply.get("content"):
        text = (
            reply["content"]
            if isinstance(reply["content"], str)
            else "".join(p.get("text", "") for p in reply["content"] if isinstance(p, Mapping))
        )
        content.append({"type": "text", "text": text})
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": function.get("name", ""),
                "input": arguments_object(function.get("arguments")),
            }
        )
    reason = choice.get("finish_reason")
    return {
        "id": _message_id(chat.get("id")),
        "type": "message",
        "role": "assistant",
        "model": chat.get("model") or request.get("model", ""),
        "content": content,
        "stop_reason": STOP_REASONS.get(reason or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": usage_of(chat.get("usage")),
    }


def _message_id(chat_id: Any) -> str:
    chat_id = str(chat_id or "")
    return chat_id if chat_id.startswith("msg_") else "msg_" + (chat_id or new_id("gw"))


# -- stream --------------------------------------------------------------------------------------


class EventWriter:
    """Turn chat chunks into Anthropic stream events ``(name, data)``.

    Text and thinking blocks are sequential. Tool-use blocks stay open until a text block starts
    or the message ends, so argument fragments that a provider interleaves across parallel calls
    still land on their own block (clients accumulate deltas by block ``index``).
    """

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.model = str(request.get("model", ""))
        self.started = False
        self.open_blocks: list[int] = []
        self.current_kind: str | None = None  # kind of the most recently opened block
        self.next_block = 0
        self._text_block = 0  # index of the open text or thinking block
        self.tool_blocks: dict[int, int] = {}  # OpenAI tool-call index -> content block index
        self.stop_reason = "end_turn"
        self.usage: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0}

    def _start(self, chunk: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        self.started = True
        self.model = chunk.get("model") or self.model
        message = {
            "id": _message_id(chunk.get("id")),
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message}), ("ping", {"type": "ping"})]

    def _close_all(self) -> list[tuple[str, dict[str, Any]]]:
        events = [("content_block_stop", {"type": "content_block_stop", "index": i}) for i in self.open_blocks]
        self.open_blocks = []
        self.current_kind = None
        return events

    def _open(self, kind: str, block: dict[str, Any]) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        events = self._close_all() if kind != "tool" or self.current_kind != "tool" else []
        index = self.next_block
        self.next_block += 1
        self.open_blocks.append(index)
        self.current_kind = kind
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}))
        return index, events

    @staticmethod
    def _delta(index: int, delta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}

    def chunk(self, chunk: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Events for one chat chunk."""
        events = [] if self.started else self._start(chunk)
        if chunk.get("usage"):
            self.usage = usage_of(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            for kind, field, block, delta_type in (
                ("thinking", "reasoning_content", {"type": "thinking", "thinking": ""}, "thinking_delta"),
                ("text", "content", {"type": "text", "text": ""}, "text_delta"),
            ):
                if delta.get(field):
                    if self.current_kind != kind:
                        self._text_block, opened = self._open(kind, dict(block))
                        events += opened
                    key = "thinking" if kind == "thinking" else "text"
                    events.append(self._delta(self._text_block, {"type": delta_type, key: delta[field]}))
            for call in delta.get("tool_calls") or []:
                index = call.get("index", 0)
                function = call.get("function") or {}
                if index not in self.tool_blocks:
                    block_index, opened = self._open(
                        "tool",
                        {
                            "type": "tool_use",
                            "id": call.get("id") or new_id("toolu"),
                            "name": function.get("name", ""),
                            "input": {},
                        },
                    )
                    self.tool_blocks[index] = block_index
                    events += opened
                if function.get("arguments"):
                    block_index = self.tool_blocks[index]
                    if block_index not in self.open_blocks:  # a closed block cannot be reopened: say so
                        raise StreamError(
                            "a tool call fragment arrived after its block was closed", "untranslatable_stream"
                        )
                    events.append(
                        self._delta(block_index, {"type": "input_json_delta", "partial_json": function["arguments"]})
                    )
            if choice.get("finish_reason"):
                self.stop_reason = STOP_REASONS.get(choice["finish_reason"], "end_turn")
        return events

    def done(self) -> list[tuple[str, dict[str, Any]]]:
        """The closing events: open blocks' stops, ``message_delta`` and ``message_stop``."""
        events = [] if self.started else self._start({})
        events += self._close_all()
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                    "usage": self.usage,
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events
