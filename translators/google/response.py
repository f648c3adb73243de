"""Map Gemini answers to OpenAI: ``GenerateContentResponse`` bodies, SSE streams and errors.

Facts (ai.google.dev/api/generate-content): one ``GenerateContentResponse`` per SSE event on
``:streamGenerateContent?alt=sse``. ``thought`` parts come back as ``reasoning_content``.
Usage: completion tokens include ``thoughtsTokenCount`` (OpenAI semantics), cached tokens are
``cachedContentTokenCount``. Function calls carry no ids, so ids are ``call_<responseId>_<n>``;
a part's ``thoughtSignature`` rides along in ``tool_calls[].extra_content.google.thought_signature``.
A prompt blocked before generation has no candidates, only ``promptFeedback.blockReason``.
A stream is complete once every candidate carries a ``finishReason``. Errors are
``{"error": {"code", "message", "status"}}``, wrapped in a list by the non-SSE stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from translators.contract import StreamError, StreamEvent, Target
from translators.openai_shapes import (
    ChunkWriter,
    assistant_message,
    error_envelope,
    finish_reason,
    include_usage,
    loads_or_none,
    new_id,
    now,
    text_error,
    usage,
)

FINISH = {
    "STOP": "stop",
    "RECITATION": "stop",
    "OTHER": "stop",
    "FINISH_REASON_UNSPECIFIED": "stop",
    "MALFORMED_FUNCTION_CALL": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "BLOCKLIST": "content_filter",
    "SPII": "content_filter",
    "LANGUAGE": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def gemini_usage(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``usageMetadata``: completion includes thoughts, cached tokens are a part of the prompt."""
    prompt = int(meta.get("promptTokenCount") or 0) + int(meta.get("toolUsePromptTokenCount") or 0)
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    completion = int(meta.get("candidatesTokenCount") or 0) + thoughts
    total = meta.get("totalTokenCount")
    return usage(
        prompt,
        completion,
        cached=int(meta.get("cachedContentTokenCount") or 0),
        reasoning=thoughts,
        total=int(total) if total else None,
    )


def call_key(candidate: int, ordinal: int) -> str:
    """Return the suffix of a generated tool-call id: the ordinal, prefixed by a non-zero candidate index."""
    return f"{ordinal}" if not candidate else f"{candidate}_{ordinal}"


def tool_call(part: Mapping[str, Any], response_id: str, key: str) -> dict[str, Any]:
    """Map a ``functionCall`` part to an OpenAI tool call (complete arguments; id from the response id)."""
    call = part["functionCall"]
    if call.get("id"):
        call_id = str(call["id"])
    else:
        call_id = f"call_{response_id}_{key}" if response_id else f"call_{uuid.uuid4().hex[:24]}"
    out: dict[str, Any] = {
        "id": call_id,
        "type": "function",
        "function": {"name": call.get("name", ""), "arguments": orjson.dumps(call.get("args") or {}).decode()},
    }
    if part.get("thoughtSignature"):
        out["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
    return out


def _logprobs(result: Any) -> dict[str, Any] | None:
    if not isinstance(result, Mapping):
        return None
    tops = result.get("topCandidates") or []
    content = []
    for i, chosen in enumerate(result.get("chosenCandidates") or []):
        alternatives = (tops[i].get("candidates") or []) if i < len(tops) else []
        content.append(
            {
                "token": chosen.get("token", ""),
                "logprob": chosen.get("logProbability", 0.0),
                "bytes": list(chosen.get("token", "").encode()),
                "top_logprobs": [
                    {
                        "token": a.get("token", ""),
                        "logprob": a.get("logProbability", 0.0),
                        "bytes": list(a.get("token", "").encode()),
                    }
                    for a in alternatives
                ],
            }
        )
    return {"content": content}


def finish_of(reason: Any, has_calls: bool, target: Target) -> str | None:
    """Map a candidate's ``finishReason`` (``tool_calls`` when it stopped on function calls)."""
    if has_calls and target.strict and reason in ("STOP", None):
        return "tool_calls"
    return finish_reason(reason or "STOP", FINISH, target.strict)


def _choice(candidate: Mapping[str, Any], position: int, response_id: str, target: Target) -> dict[str, Any]:
    index = candidate.get("index", position)
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if "functionCall" in part:
            calls.append(tool_call(part, response_id, call_key(index, len(calls))))
        elif "text" in part:
            (thoughts if part.get("thought") else text).append(part["text"])
    message = assistant_message(text, calls, thoughts)
    if not target.strict and candidate.get("groundingMetadata"):
        message["groundingMetadata"] = candidate["groundingMetadata"]
    return {
        "index": index,
        "message": message,
        "logprobs": _logprobs(candidate.get("logprobsResult")),
        "finish_reason": finish_of(candidate.get("finishReason"), bool(calls), target),
    }


def blocked_finish(feedback: Any, target: Target) -> str:
    """Return the finish reason of a blocked prompt (its raw ``blockReason`` when not strict)."""
    reason = feedback.get("blockReason") if isinstance(feedback, Mapping) else None
    return "content_filter" if target.strict else str(reason or "OTHER")


def to_chat_completion(response: Mapping[str, Any], target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map a ``GenerateContentResponse`` to an OpenAI ``chat.completion`` (one choice per candidate)."""
    response_id = str(response.get("responseId") or "")
    candidates = response.get("candidates") or []
    choices = [_choice(c, i, response_id, target) for i, c in enumerate(candidates)]
    if not choices:
        reason = blocked_finish(response.get("promptFeedback"), target)
        choices = [
            {"index": 0, "message": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": reason}
        ]
    return {
        "id": f"chatcmpl-{response_id}" if response_id else new_id("chatcmpl"),
        "object": "chat.completion",
        "created": now(),
        "model": response.get("modelVersion") or request.get("model", ""),
        "provider": target.provider,
        "choices": choices,
        "usage": gemini_usage(response.get("usageMetadata") or {}),
    }


def to_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map a Google error (``{"error": {code, message, status}}``, possibly in a list) to OpenAI's envelope."""
    parsed = loads_or_none(body)
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    if isinstance(error, Mapping):
        kind = error.get("status") or error.get("type")
        return error_envelope(target.provider, str(error.get("message", "")), kind, None, error.get("code"))
    return text_error(status, body, target.provider)


# -- stream --------------------------------------------------------------------------------------


class GeminiStream:
    """Map ``streamGenerateContent?alt=sse`` events to OpenAI chunks."""

    def __init__(self, target: Target, request: Mapping[str, Any]) -> None:
        self.target = target
        self.writer = ChunkWriter(
            id="", model=str(request.get("model", "")), provider=target.provider, include_usage=include_usage(request)
        )
        self.completed = False
        self.meta: Mapping[str, Any] = {}
        self.response_id = ""
        n = request.get("n")
        self.expected = n if isinstance(n, int) and n > 1 else 1
        self.calls: dict[int, int] = {}
        self.started: set[int] = set()
        self.finished: set[int] = set()

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        chunk = self.writer.chunk(delta, finish)
        if index:
            chunk["choices"][0]["index"] = index
        return chunk

    def on_event(self, event: StreamEvent) -> list[dict[str, Any]]:
        """Translate one event (one ``GenerateContentResponse``)."""
        data = event.data
        if not isinstance(data, Mapping):
            return []
        error = data.get("error")
        if isinstance(error, Mapping):
            code = error.get("code")
            raise StreamError(
                str(error.get("message") or "stream error"),
                str(error.get("status") or "provider_error"),
                code if isinstance(code, int) and code >= 400 else None,
            )
        writer = self.writer
        if not writer.id:
            self.response_id = str(data.get("responseId") or uuid.uuid4().hex[:24])
            writer.id = f"chatcmpl-{self.response_id}"
        if data.get("modelVersion"):
            writer.model = data["modelVersion"]
        if data.get("usageMetadata"):
            self.meta = data["usageMetadata"]
        candidates = data.get("candidates")
        if not candidates:
            feedback = data.get("promptFeedback")
            if isinstance(feedback, Mapping) and feedback.get("blockReason"):
                self.completed = True
                return [self._chunk(0, {"role": "assistant", "content": ""}, blocked_finish(feedback, self.target))]
            return []
        out: list[dict[str, Any]] = []
        for position, candidate in enumerate(candidates):
            out.extend(self._candidate(candidate.get("index", position), candidate))
        if len(self.finished) >= self.expected:
            self.completed = True
        return out

    def _candidate(self, index: int, candidate: Mapping[str, Any]) -> list[dict[str, Any]]:
        text = ""
        thoughts = ""
        calls: list[dict[str, Any]] = []
        for part in (candidate.get("content") or {}).get("parts") or []:
            if "functionCall" in part:
                ordinal = self.calls.get(index, 0)
                self.calls[index] = ordinal + 1
                calls.append({"index": ordinal, **tool_call(part, self.response_id, call_key(index, ordinal))})
            elif part.get("thought"):
                thoughts += part.get("text", "")
            else:
                text += part.get("text", "")
        delta: dict[str, Any] = {}
        if thoughts:
            delta["reasoning_content"] = thoughts
        if text:
            delta["content"] = text
        if calls:
            delta["tool_calls"] = calls
        out = []
        if delta:
            if index not in self.started:
                self.started.add(index)
                delta = {"role": "assistant", **delta}
            out.append(self._chunk(index, delta))
        reason = candidate.get("finishReason")
        if reason and index not in self.finished:
            self.finished.add(index)
            out.append(self._chunk(index, {}, finish_of(reason, index in self.calls, self.target)))
        return out

    def finish(self) -> list[dict[str, Any]]:
        """The usage chunk, when the client asked for it (finish chunks went out with each candidate)."""
        return self.writer.usage_chunk(gemini_usage(self.meta))
