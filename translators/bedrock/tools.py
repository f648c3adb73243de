"""Build Bedrock Converse ``toolConfig``, including the forced tool that stands in for JSON output.

Facts (Bedrock API reference ``ToolConfiguration``, ``ToolSpecification``, ``ToolChoice``; user guide
"Get validated JSON results from models"): tools are ``{"toolSpec": {name, description, inputSchema:
{json}}}`` entries (``cachePoint`` entries may sit between them); ``toolChoice`` has only ``auto``,
``any`` and ``tool`` (by name), so ``tool_choice: "none"`` omits ``toolConfig``, except that Converse
requires it when the conversation holds ``toolUse``/``toolResult`` blocks (the tools then stay and
calls cannot be forbidden). Tool names match ``[a-zA-Z0-9_-]{1,64}``.

Converse has no JSON mode: ``response_format`` becomes the documented tool-forcing pattern, a tool
whose input schema is the requested schema, chosen with ``toolChoice.tool`` (``any`` when other tools
are offered with ``auto``). Its input comes back as the message ``content`` (JSON text) rather than as
a tool call (see ``json_tool_name``). With extended thinking on, Claude refuses forced tools, so the
JSON tool is then offered with ``toolChoice.auto``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from translators.contract import TranslationError

#: The name of the JSON-output tool when the caller's schema has none.
JSON_TOOL = "json_response"
_TOOL_NAME_BAD = re.compile(r"[^a-zA-Z0-9_-]")


def tool_specs(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Map OpenAI function tools to Converse ``toolSpec`` entries (Converse entries pass as they are)."""
    out: list[dict[str, Any]] = []
    for tool in tools:
        if "toolSpec" in tool or "cachePoint" in tool:
            out.append(dict(tool))  # already a Converse tool entry
            continue
        if tool.get("type") != "function":
            raise TranslationError(f"{tool.get('type')} tools are not supported by bedrock", "tools")
        function = tool.get("function") or {}
        schema = dict(function.get("parameters") or {})
        schema.setdefault("type", "object")
        spec: dict[str, Any] = {"name": function.get("name", ""), "inputSchema": {"json": schema}}
        if function.get("description"):
            spec["description"] = function["description"]
        out.append({"toolSpec": spec})
        if "cache_control" in tool:
            out.append({"cachePoint": {"type": "default"}})
    return out


def tool_choice(choice: Any) -> dict[str, Any] | None:
    """Map an OpenAI ``tool_choice`` (other than ``none``) to Converse's ``toolChoice``."""
    if choice is None:
        return None
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        return {"tool": {"name": choice["function"].get("name", "")}}
    raise TranslationError("tool_choice is not understood", "tool_choice")


def json_tool(response_format: Any) -> dict[str, Any] | None:
    """Return the forced tool that carries a ``response_format`` schema, or None for text output."""
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema")
        if not isinstance(schema, Mapping):
            raise TranslationError("response_format.json_schema.schema is required", "response_format")
        name = _TOOL_NAME_BAD.sub("_", str(spec.get("name") or JSON_TOOL))[:64]
        description = spec.get("description") or "Respond with a JSON object that matches this schema."
    elif kind == "json_object":
        schema, name, description = {"type": "object"}, JSON_TOOL, "Respond with a JSON object."
    else:
        return None
    return {"toolSpec": {"name": name, "description": description, "inputSchema": {"json": dict(schema)}}}


def json_tool_name(request: Mapping[str, Any]) -> str | None:
    """Return the name of the JSON-output tool a request was sent with, if any."""
    try:
        tool = json_tool(request.get("response_format"))
    except TranslationError:
        return None
    return tool["toolSpec"]["name"] if tool else None


def tool_config(body: Mapping[str, Any], has_tool_blocks: bool, thinking: bool) -> dict[str, Any] | None:
    """``toolConfig``; with extended thinking the JSON tool is offered, not forced (Claude refuses forced tools)."""
    choice = body.get("tool_choice")
    tools = tool_specs(body.get("tools") or [])
    forced = json_tool(body.get("response_format"))
    if choice == "none":
        choice = None
        if not has_tool_blocks:
            tools = []
    if forced is not None:
        name = forced["toolSpec"]["name"]
        if any((t.get("toolSpec") or {}).get("name") == name for t in tools):
            raise TranslationError(f"a tool named {name} collides with the response_format tool", "response_format")
        if thinking and choice in (None, "auto"):
            mapped: dict[str, Any] | None = {"auto": {}}
        elif tools and choice in (None, "auto"):
            mapped = {"any": {}}
        else:
            mapped = tool_choice(choice)
        return {"tools": [*tools, forced], "toolChoice": mapped or {"tool": {"name": name}}}
    if not tools:
        return None
    config: dict[str, Any] = {"tools": tools}
    mapped = tool_choice(choice)
    if mapped is not None:
        config["toolChoice"] = mapped
    return config
