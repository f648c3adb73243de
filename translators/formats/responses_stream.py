"""Turn streamed chat chunks into the OpenAI Responses event sequence.

Order, as the Responses API streams it: ``response.created`` and ``response.in_progress``; per
output item ``response.output_item.added``, then for messages ``response.content_part.added``,
``response.output_text.delta``... ``response.output_text.done``, ``response.content_part.done``,
for function calls ``response.function_call_arguments.delta``... ``.done``, then
``response.output_item.done``; finally ``response.completed`` (``response.incomplete`` when the
answer hit the token limit) or ``response.failed``. Every event has a ``sequence_number``.
Text and reasoning items are sequential; function-call items stay open until text starts or the
answer ends, so interleaved argument fragments still reach their own item.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from translators.formats.responses_api import (
    call_item,
    message_item,
    namespaced_tools,
    new_item_id,
    reasoning_item,
    skeleton,
    usage_of,
)

Event = tuple[str, dict[str, Any]]


class EventWriter:
    """Accumulate a streamed answer and emit Responses events ``(type, data)``."""

    def __init__(self, body: Mapping[str, Any], response_id: str, created_at: float) -> None:
        self.body = body
        self.response = skeleton(body, response_id, created_at, "in_progress")
        self.sequence = 0
        self.started = False
        self.items: list[dict[str, Any]] = []  # output items, in output order
        self.open: list[int] = []  # output indexes of items not yet done
        self.text_index: int | None = None  # the open message or reasoning item
        self.calls: dict[int, int] = {}  # chat tool-call index -> output index
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.namespaces = namespaced_tools(body)

    def _event(self, kind: str, **data: Any) -> Event:
        event = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return kind, event

    def _snapshot(self, status: str) -> dict[str, Any]:
        response = dict(self.response)
        response["status"] = status
        response["output"] = [dict(item) for item in self.items] if status != "in_progress" else []
        return response

    def _start(self) -> list[Event]:
        self.started = True
        snapshot = self._snapshot("in_progress")
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def _done_item(self, index: int) -> list[Event]:
        item = self.items[index]
        item_id = item["id"]
        events: list[Event] = []
        if item["type"] == "message":
            part = item["content"][0]
            events.append(
                self._event(
                    "response.output_text.done",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    text=part["text"],
                    logprobs=[],
                )
            )
            events.append(
                self._event(
                    "response.content_part.done", item_id=item_id, output_index=index, content_index=0, part=dict(part)
                )
            )
        elif item["type"] == "function_call":
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item_id,
                    output_index=index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        elif item["type"] == "reasoning":
            events.append(
                self._event(
                    "response.reasoning_text.done",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    text=item["content"][0]["text"],
                )
            )
        item["status"] = "completed"
        if item["type"] == "reasoning":
            item.pop("status")
        events.append(self._event("response.output_item.done", output_index=index, item=dict(item)))
        return events

    def _close_all(self) -> list[Event]:
        events: list[Event] = []
        for index in self.open:
            events += self._done_item(index)
        self.open = []
        self.text_index = None
        return events

    def _add(self, item: dict[str, Any], close_others: bool) -> tuple[int, list[Event]]:
        events = self._close_all() if close_others else []
        index = len(self.items)
        self.items.append(item)
        self.open.append(index)
        announced = dict(item)
        if item["type"] == "message":
            announced["content"] = []
        events.append(self._event("response.output_item.added", output_index=index, item=announced))
        if item["type"] == "message":
            events.append(
                self._event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=dict(item["content"][0]),
                )
            )
        return index, events

    def _text_delta(self, kind: str, text: str) -> list[Event]:
        """Append streamed text to the open reasoning or message item, opening one when needed."""
        events: list[Event] = []
        if self.text_index is None or self.items[self.text_index]["type"] != kind:
            if kind == "reasoning":
                item = {**reasoning_item(""), "status": "in_progress"}
            else:
                item = message_item("", status="in_progress")
            self.text_index, events = self._add(item, close_others=True)
        item = self.items[self.text_index]
        item["content"][0]["text"] += text
        extra = {} if kind == "reasoning" else {"logprobs": []}
        name = "response.reasoning_text.delta" if kind == "reasoning" else "response.output_text.delta"
        location = {"item_id": item["id"], "output_index": self.text_index, "content_index": 0}
        events.append(self._event(name, **location, delta=text, **extra))
        return events

    def chunk(self, chunk: Mapping[str, Any]) -> list[Event]:
        """Events for one chat chunk."""
        events = [] if self.started else self._start()
        if chunk.get("model"):
            self.response["model"] = chunk["model"]
        if chunk.get("usage"):
            self.usage = usage_of(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                events += self._text_delta("reasoning", delta["reasoning_content"])
            if delta.get("content"):
                events += self._text_delta("message", delta["content"])
            for call in delta.get("tool_calls") or []:
                events += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return events

    def _tool_delta(self, call: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        function = call.get("function") or {}
        key = call.get("index", 0)
        if key not in self.calls:
            if self.text_index is not None:  # text before the calls: finish it
                events += self._done_item(self.text_index)
                self.open.remove(self.text_index)
                self.text_index = None
            item = call_item(
                call.get("id") or new_item_id("call"),
                function.get("name", ""),
                "",
                status="in_progress",
                namespaces=self.namespaces,
            )
            self.calls[key], added = self._add(item, close_others=False)
            events += added
        index = self.calls[key]
        fragment = function.get("arguments") or ""
        if fragment and index in self.open:
            item = self.items[index]
            item["arguments"] += fragment
            events.append(
                self._event(
                    "response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=fragment
                )
            )
        return events

    def done(self) -> list[Event]:
        """Close every item and emit ``response.completed`` (or ``response.incomplete``)."""
        events = [] if self.started else self._start()
        events += self._close_all()
        incomplete = self.finish in ("length", "content_filter")
        status = "incomplete" if incomplete else "completed"
        self.response["usage"] = self.usage or usage_of(None)
        self.response["completed_at"] = time.time()
        if incomplete:
            reason = "max_output_tokens" if self.finish == "length" else "content_filter"
            self.response["incomplete_details"] = {"reason": reason}
        final = self._snapshot(status)
        self.response = final
        events.append(self._event(f"response.{status}", response=final))
        return events

    def failed(self, code: str, message: str) -> list[Event]:
        """Emit ``response.failed`` with the error (the partial output included)."""
        events = [] if self.started else self._start()
        self.response["error"] = {"code": code, "message": message}
        final = self._snapshot("failed")
        self.response = final
        events.append(self._event("response.failed", response=final))
        return events
