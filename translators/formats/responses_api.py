"""Serve the OpenAI Responses format in front of any provider, through the chat layer.

``to_chat`` turns a Responses request (plus the conversation of ``previous_response_id``) into an
OpenAI chat request; ``input_items`` normalises the request's input into stored items with ids;
``to_response`` builds the ``response`` object from a chat completion; ``history`` turns a
stored exchange back into chat messages for the next turn; ``responses_stream.EventWriter`` turns streamed chat
chunks into the Responses event sequence (``response.created``, ``response.in_progress``,
``response.output_item.added`` / ``.done``, ``response.content_part.added`` / ``.done``,
``response.output_text.delta`` / ``.done``, ``response.function_call_arguments.delta`` / ``.done``,
``response.completed`` / ``response.incomplete`` / ``response.failed``) with sequence numbers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from translators.contract import TranslationError

#: Request fields echoed into the response object.
_ECHOED = (
    "instructions",
    "max_output_tokens",
    "metadata",
    "previous_response_id",
    "reasoning",
    "temperature",
    "top_p",
    "user",
    "truncation",
    "service_tier",
    "text",
)
_MAPPED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "previous_response_id",
        "tools",
        "tool_choice",
        "text",
        "max_output_tokens",
        "reasoning",
        "stream",
        "store",
        "metadata",
        "truncation",
        "include",
        "background",
        "prompt_cache_key",
        "safety_identifier",
        "stream_options",
    }
)
#: Request fields with the same meaning in chat, copied by ``to_chat``. Any other field (``client_metadata``,
#: ``prompt_cache_retention``, ...) has no chat equivalent: dropped and named by ``unmapped_fields``.
_PASSED = ("temperature", "top_p", "top_logprobs", "parallel_tool_calls", "user", "service_tier", "native_params")


def flat_name(namespace: str, name: str) -> str:
    """The chat function name of tool ``name`` in ``namespace`` (Codex's ``mcp__server__`` + ``tool``)."""
    return f"{namespace}{name}" if namespace.endswith("__") else f"{namespace}__{name}"


def namespaced_tools(body: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Chat function name -> ``(namespace, name)`` for the function tools inside ``namespace`` tools."""
    out: dict[str, tuple[str, str]] = {}
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping) and tool.get("type") == "namespace" and isinstance(tool.get("name"), str):
            for member in tool.get("tools") or []:
                if isinstance(member, Mapping) and member.get("type") == "function" and member.get("name"):
                    out[flat_name(tool["name"], str(member["name"]))] = (tool["name"], str(member["name"]))
    return out


def unmapped_fields(body: Mapping[str, Any]) -> list[str]:
    """What ``to_chat`` drops for a provider without the Responses API: built-in tools (``web_search``,
    ``file_search``, ...) the provider cannot run, non-function members of ``namespace`` tools, and
    fields chat has no equivalent for."""
    names = [key for key in body if key not in _MAPPED and key not in _PASSED]
    for tool in body.get("tools") or []:
        if not isinstance(tool, Mapping) or tool.get("type") == "function":
            continue
        if tool.get("type") != "namespace":
            names.append(f"tools.{tool.get('type') or 'unknown'}")
            continue
        for member in tool.get("tools") or []:
            if not isinstance(member, Mapping) or member.get("type") != "function":
                kind = member.get("type") if isinstance(member, Mapping) else "unknown"
                names.append(f"tools.namespace:{tool.get('name')}.{kind}")
    return names


def new_item_id(prefix: str) -> str:
    """Return an item id like ``msg_<hex>``."""
    return f"{prefix}_{uuid.uuid4().hex}"


# -- request -------------------------------------------------------------------------------------


def _input_part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text", "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not url:
            raise TranslationError(
                "input_image parts need an image_url (file_id images need the provider's files)", "input"
            )
        return {"type": "image_url", "image_url": {"url": url, "detail": part.get("detail", "auto")}}
    if kind == "input_file":
        if part.get("file_data"):
            return {"type": "file", "file": {"file_data": part["file_data"], "filename": part.get("filename")}}
        if part.get("file_url"):
            return {"type": "file", "file": {"file_url": part["file_url"]}}
        raise TranslationError("input_file parts need file_data or file_url for this provider", "input")
    raise TranslationError(f"{kind} input is not supported for this provider", "input")


def _content(content: Any) -> Any:
    if isinstance(content, str):
        return content
    parts = [_input_part(p) for p in content or [] if isinstance(p, Mapping)]
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def items_to_messages(items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Turn Responses input/output items into chat messages (consecutive function calls share a turn)."""
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role", "user")
            messages.append({"role": role, "content": _content(item.get("content"))})
        elif kind == "function_call":
            name = item.get("name", "")
            if isinstance(item.get("namespace"), str) and item["namespace"]:
                name = flat_name(item["namespace"], name)
            call = {
                "id": item.get("call_id", ""),
                "type": "function",
                "function": {"name": name, "arguments": item.get("arguments", "")},
            }
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            if not isinstance(output, str):
                output = _content(output) if isinstance(output, list) else str(output)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id", ""), "content": output})
        elif kind == "reasoning":
            continue
        else:
            raise TranslationError(f"{kind} input items are not supported for this provider", "input")
    return messages


def input_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the request's input as items with ids (what ``input_items`` lists)."""
    raw = body.get("input")
    if isinstance(raw, str):
        raw = [{"type": "message", "role": "user", "content": raw}]
    items = []
    for item in raw or []:
        item = dict(item)
        kind = item.setdefault("type", "message")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, str):
                item["content"] = [{"type": "input_text", "text": content}]
            item.setdefault("status", "completed")
        prefix = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}.get(kind, "item")
        item.setdefault("id", new_item_id(prefix))
        items.append(item)
    return items


def _tools(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if isinstance(tool, Mapping) and tool.get("type") == "namespace" and isinstance(tool.get("name"), str):
            members = [m for m in tool.get("tools") or [] if isinstance(m, Mapping) and m.get("type") == "function"]
            out.extend(_tools([{**m, "name": flat_name(tool["name"], str(m.get("name", "")))} for m in members]))
            continue
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            continue  # a built-in tool only the Responses API runs: dropped, named by ``unmapped_fields``
        function = {"name": tool.get("name", ""), "parameters": tool.get("parameters") or {"type": "object"}}
        if tool.get("description"):
            function["description"] = tool["description"]
        if tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any) -> Any:
    if choice in (None, "auto", "none", "required"):
        return choice
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    if isinstance(choice, Mapping) and isinstance(choice.get("type"), str):
        return None  # a built-in tool (dropped with it)
    raise TranslationError("tool_choice is not understood", "tool_choice")


def to_chat(body: Mapping[str, Any], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Turn a Responses request into an OpenAI chat request (``history`` = the earlier turns)."""
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    messages.extend(history or [])
    messages.extend(items_to_messages(input_items(body)))
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    tools = _tools(body.get("tools") or [])
    if tools:
        chat["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"))
        if choice is not None:
            chat["tool_choice"] = choice
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        chat["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": fmt.get("name", "output"),
                "schema": fmt.get("schema") or {},
                "strict": fmt.get("strict", False),
            },
        }
    elif fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    effort = (body.get("reasoning") or {}).get("effort")
    if effort:
        chat["reasoning_effort"] = effort
    if body.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    for key in _PASSED:
        if key in body:
            chat[key] = body[key]
    return chat


# -- response ------------------------------------------------------------------------------------


def usage_of(chat_usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Responses usage from chat usage."""
    chat_usage = chat_usage or {}
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    cached = int((chat_usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    reasoning = int((chat_usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": int(chat_usage.get("total_tokens") or prompt + completion),
    }


def skeleton(body: Mapping[str, Any], response_id: str, created_at: float, status: str) -> dict[str, Any]:
    """The response object's envelope (no output yet)."""
    response: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": body.get("model", ""),
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": list(body.get("tools") or []),
        "store": body.get("store", True) is not False,
        "usage": None,
    }
    for key in _ECHOED:
        response.setdefault(key, body.get(key))
    if response["text"] is None:
        response["text"] = {"format": {"type": "text"}}
    if response["metadata"] is None:
        response["metadata"] = {}
    return response


def message_item(text: str, item_id: str | None = None, status: str = "completed") -> dict[str, Any]:
    """An assistant ``message`` output item."""
    return {
        "type": "message",
        "id": item_id or new_item_id("msg"),
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def call_item(
    call_id: str,
    name: str,
    arguments: str,
    item_id: str | None = None,
    status: str = "completed",
    namespaces: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A ``function_call`` output item (a flattened namespace tool gets its ``namespace`` and own name back)."""
    item: dict[str, Any] = {
        "type": "function_call",
        "id": item_id or new_item_id("fc"),
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }
    if namespaces and name in namespaces:
        item["namespace"], item["name"] = namespaces[name]
    return item


def reasoning_item(text: str, item_id: str | None = None) -> dict[str, Any]:
    """A ``reasoning`` output item carrying the provider's thinking text."""
    return {
        "type": "reasoning",
        "id": item_id or new_item_id("rs"),
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
    }


def to_response(
    chat: Mapping[str, Any], body: Mapping[str, Any], response_id: str, created_at: float
) -> dict[str, Any]:
    """Build the ``response`` object for a chat completion."""
    choice = (chat.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    finish = choice.get("finish_reason")
    response = skeleton(body, response_id, created_at, "incomplete" if finish == "length" else "completed")
    response["model"] = chat.get("model") or response["model"]
    if reply.get("reasoning_content"):
        response["output"].append(reasoning_item(reply["reasoning_content"]))
    content = reply.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    if content:
        response["output"].append(message_item(content))
    namespaces = namespaced_tools(body)
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        response["output"].append(
            call_item(
                call.get("id", ""), function.get("name", ""), function.get("arguments", ""), namespaces=namespaces
            )
        )
    if finish == "length":
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    elif finish == "content_filter":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "content_filter"}
    response["usage"] = usage_of(chat.get("usage"))
    response["completed_at"] = time.time()
    return response


def history(stored_input: list[dict[str, Any]], response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages for one stored exchange: its input items, then its output items."""
    output = [item for item in response.get("output") or [] if item.get("type") != "reasoning"]
    return items_to_messages(stored_input + output)
