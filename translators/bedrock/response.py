"""Map Bedrock Converse answers, ConverseStream events and Bedrock errors to OpenAI's shapes.

Facts (Bedrock API reference ``Converse``, ``ConverseStream``, ``ConverseStreamOutput``, ``TokenUsage``,
"Common errors"):

* ``output.message.content`` holds ``text``, ``toolUse`` (``toolUseId``, ``name``, ``input`` object) and
  ``reasoningContent.reasoningText`` blocks; ``stopReason`` is ``end_turn``, ``stop_sequence``,
  ``tool_use``, ``max_tokens``, ``model_context_window_exceeded``, ``guardrail_intervened`` or
  ``content_filtered``. The input of the JSON-output tool (``translators/bedrock_tools.py``) becomes the
  message ``content``, and its ``tool_use`` stop reason ``stop``.
* Usage: ``inputTokens`` excludes ``cacheReadInputTokens`` and ``cacheWriteInputTokens``, so OpenAI's
  ``prompt_tokens`` is their sum (cache reads are ``cached_tokens``).
* Stream events (AWS event-stream frames named by ``:event-type``): ``messageStart`` (role),
  ``contentBlockStart`` (``start.toolUse`` with id and name), ``contentBlockDelta`` (``delta.text``,
  ``delta.toolUse.input`` JSON fragments, ``delta.reasoningContent.text``) and ``contentBlockStop``, keyed
  by ``contentBlockIndex``; ``messageStop`` (``stopReason``) and ``metadata`` (``usage``). The stream is
  complete once both ``messageStop`` and ``metadata`` arrived. Exception frames map to a status:
  throttling 429, validation 400, service unavailable 503, model-stream and internal errors 500 (AWS
  documents model-stream errors as 424 but asks to retry them, so they count as retriable here).
* Errors are ``{"message": ...}`` (some services ``Message``), with ``__type`` on some.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from translators.bedrock.tools import json_tool_name
from translators.contract import StreamError, StreamEvent, Target
from translators.openai_shapes import (
    ChunkWriter,
    assistant_message,
    chat_completion,
    error_envelope,
    finish_reason,
    include_usage,
    loads_or_none,
    new_id,
    text_error,
    usage,
)

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
#: ConverseStream exception frames -> HTTP status.
STREAM_EXCEPTIONS = {
    "throttlingException": 429,
    "validationException": 400,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 500,
    "internalServerException": 500,
    "modelTimeoutException": 408,
    "accessDeniedException": 403,
    "resourceNotFoundException": 404,
}


def converse_usage(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Map Converse usage to OpenAI's: prompt tokens include cache reads and writes."""
    read = int(raw.get("cacheReadInputTokens") or 0)
    written = int(raw.get("cacheWriteInputTokens") or 0)
    out = usage(int(raw.get("inputTokens") or 0) + read + written, int(raw.get("outputTokens") or 0), cached=read)
    out["prompt_tokens_details"]["cache_creation_tokens"] = written
    if read:
        out["cache_read_input_tokens"] = read
    if written:
        out["cache_creation_input_tokens"] = written
    return out


def to_chat_completion(raw: Mapping[str, Any], target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map a Converse response to an OpenAI ``chat.completion``."""
    blocks = ((raw.get("output") or {}).get("message") or {}).get("content") or []
    json_name = json_tool_name(request)
    text: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    json_text: str | None = None
    for block in blocks:
        if "text" in block:
            text.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = orjson.dumps(use.get("input", {})).decode()
            if json_name is not None and use.get("name") == json_name:
                json_text = arguments
                continue
            call = {"id": use.get("toolUseId", ""), "type": "function"}
            calls.append({**call, "function": {"name": use.get("name", ""), "arguments": arguments}})
        elif "reasoningContent" in block:
            thinking.append(((block["reasoningContent"] or {}).get("reasoningText") or {}).get("text", ""))
    stop = raw.get("stopReason") or "end_turn"
    if json_text is not None:
        text = [json_text]  # the forced response_format tool's input is the answer
        if not calls and stop == "tool_use":
            stop = "end_turn"
    reply = assistant_message(text, calls, thinking)
    if not target.strict:
        reply["content_blocks"] = blocks
    return chat_completion(
        id=new_id("chatcmpl"),
        model=str(request.get("model", "")),
        provider=target.provider,
        message=reply,
        finish=finish_reason(stop, FINISH, target.strict),
        usage=converse_usage(raw.get("usage") or {}),
    )


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map a Bedrock error body (``{"message": ...}``) to OpenAI's envelope."""
    parsed = loads_or_none(body)
    if isinstance(parsed, Mapping):
        message = parsed.get("message") or parsed.get("Message")
        if message:
            return error_envelope(target.provider, str(message), parsed.get("__type"))
    return text_error(status, body, target.provider)


class BedrockStream:
    """Map ConverseStream events to OpenAI chunks."""

    def __init__(self, target: Target, request: Mapping[str, Any]) -> None:
        self.target = target
        self.writer = ChunkWriter(
            id=new_id("chatcmpl"),
            model=str(request.get("model", "")),
            provider=target.provider,
            include_usage=include_usage(request),
        )
        self.json_name = json_tool_name(request)
        self.json_blocks: set[Any] = set()
        self.tool_blocks: dict[Any, bool] = {}  # block index -> input seen
        self.completed = False
        self.stop_reason: str | None = None
        self.usage: Mapping[str, Any] | None = None

    def _tool(self, index: Any, delta: dict[str, Any]) -> dict[str, Any]:
        return self.writer.chunk({"tool_calls": [{"index": self.writer.tool_call_index(index), **delta}]})

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Translate one event."""
        data = event.data if isinstance(event.data, Mapping) else {}
        kind = event.type
        writer = self.writer
        if kind == "contentBlockDelta":
            delta = data.get("delta") or {}
            index = data.get("contentBlockIndex")
            if "text" in delta:
                return [writer.chunk({"content": delta["text"]})]
            if "toolUse" in delta:
                fragment = (delta["toolUse"] or {}).get("input", "")
                if index in self.json_blocks:
                    self.tool_blocks[index] = True
                    return [writer.chunk({"content": fragment})]
                self.tool_blocks[index] = self.tool_blocks.get(index, False) or bool(fragment)
                return [self._tool(index, {"function": {"arguments": fragment}})]
            reasoning = delta.get("reasoningContent") or {}
            if reasoning.get("text"):
                return [writer.chunk({"reasoning_content": reasoning["text"]})]
            return []
        if kind == "contentBlockStart":
            use = (data.get("start") or {}).get("toolUse")
            if not use:
                return []
            index = data.get("contentBlockIndex")
            self.tool_blocks[index] = False
            if self.json_name is not None and use.get("name") == self.json_name:
                self.json_blocks.add(index)
                return []
            function = {"name": use.get("name", ""), "arguments": ""}
            return [self._tool(index, {"id": use.get("toolUseId", ""), "type": "function", "function": function})]
        if kind == "contentBlockStop":
            index = data.get("contentBlockIndex")
            if self.tool_blocks.get(index) is False:  # a tool block without input: send an empty object
                self.tool_blocks[index] = True
                if index in self.json_blocks:
                    return [writer.chunk({"content": "{}"})]
                return [self._tool(index, {"function": {"arguments": "{}"}})]
            return []
        if kind == "messageStart":
            return [writer.chunk({"role": data.get("role") or "assistant", "content": ""})]
        if kind == "messageStop":
            self.stop_reason = data.get("stopReason") or "end_turn"
            self.completed = self.usage is not None
            return []
        if kind == "metadata":
            self.usage = data.get("usage") or {}
            self.completed = self.stop_reason is not None
            return []
        if event.error or kind in STREAM_EXCEPTIONS or kind.endswith("Exception"):
            message = data.get("message") or data.get("Message") or kind
            raise StreamError(str(message), kind or "provider_error", STREAM_EXCEPTIONS.get(kind, 500))
        return []

    def finish(self) -> list[dict[str, Any]]:
        """The finish chunk and, when asked for, the usage chunk."""
        reason = self.stop_reason or "end_turn"
        if self.json_blocks and not self.writer.tool_index and reason == "tool_use":
            reason = "end_turn"
        finish = finish_reason(reason, FINISH, self.target.strict)
        return [self.writer.chunk({}, finish)] + self.writer.usage_chunk(converse_usage(self.usage or {}))
