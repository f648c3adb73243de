"""Map OpenAI Chat Completions and Embeddings to the Gemini API (``generateContent``) and back.

Request facts (ai.google.dev/api): ``POST {base}/models/{model}:generateContent``, streams on
``:streamGenerateContent?alt=sse`` (one ``GenerateContentResponse`` per SSE event), the key in the
``x-goog-api-key`` header (never in the URL). ``contents`` alternate ``user``/``model`` turns;
function results travel as ``functionResponse`` parts in a user turn (name required, ``output``
is the documented result key); every system/developer message becomes a ``systemInstruction``
part, in order. Images are ``inlineData`` (base64) or ``fileData`` (``gs://``, Files API and
YouTube URIs); other http(s) images are downloaded by the gateway and inlined. Function
parameters use the OpenAPI-subset ``Schema``, so JSON-schema keys it rejects
(``additionalProperties``, ``$schema``, ``strict``, ...) are dropped and local ``$ref`` inlined;
``response_format.json_schema`` goes to ``generationConfig.responseJsonSchema`` (full JSON
Schema). ``reasoning_effort`` becomes ``thinkingConfig.thinkingBudget`` with ``includeThoughts``;
``thought`` parts come back as ``reasoning_content``. Usage: completion tokens include
``thoughtsTokenCount`` (OpenAI semantics), cached tokens are ``cachedContentTokenCount``.
Function calls carry no ids, so ids are ``call_<responseId>_<n>``; a part's ``thoughtSignature``
rides along in ``tool_calls[].extra_content.google.thought_signature`` and is sent back.
A stream is complete once every candidate carries a ``finishReason``. The request/response
mapping is reused by the Vertex AI translator.
"""

from __future__ import annotations

import base64
import mimetypes
import struct
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from translators.base import (
    Built,
    ChunkWriter,
    HttpRequest,
    InvalidResponse,
    StreamError,
    StreamEvent,
    Target,
    TranslationError,
    arguments_object,
    data_url,
    error_envelope,
    finish_reason,
    image_url_of,
    include_usage,
    json_bytes,
    loads_or_none,
    max_tokens_of,
    merge_native,
    new_id,
    now,
    parts_of,
    remote_image_urls,
    stop_list,
    text_of,
    unmapped,
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
#: ``reasoning_effort`` -> ``thinkingBudget`` (Google's OpenAI-compatibility mapping).
THINKING_BUDGETS = {"none": 0, "minimal": 128, "low": 1024, "medium": 8192, "high": 24576}
#: Keys of the OpenAPI-subset ``Schema`` that function parameters may carry.
_SCHEMA_KEYS = frozenset(
    {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "required", "minimum"}
    | {"minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "default", "maximum"}
    | {"propertyOrdering"}
)
#: Function names that select Google's built-in tools instead of a declaration.
_NATIVE_TOOLS = {
    "googleSearch": "googleSearch",
    "google_search": "googleSearch",
    "googleSearchRetrieval": "googleSearchRetrieval",
    "google_search_retrieval": "googleSearchRetrieval",
    "codeExecution": "codeExecution",
    "code_execution": "codeExecution",
    "urlContext": "urlContext",
    "url_context": "urlContext",
}
#: URIs Gemini reads itself (Files API, YouTube): sent as ``fileData``, never downloaded.
_FILE_URI_PREFIXES = (
    "gs://",
    "https://generativelanguage.googleapis.com/",
    "https://www.youtube.com/",
    "https://youtube.com/",
    "https://youtu.be/",
)
HANDLED = frozenset(
    {"max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "seed", "stop", "n", "tools"}
    | {"tool_choice", "response_format", "reasoning_effort", "thinking", "presence_penalty", "frequency_penalty"}
    | {"logprobs", "top_logprobs", "safety_settings", "cached_content"}
)
EMBED_HANDLED = frozenset({"model", "input", "dimensions", "encoding_format", "task_type", "native_params"})


# -- request -------------------------------------------------------------------------------------


def _file_uri(url: str) -> bool:
    return url.startswith(_FILE_URI_PREFIXES)


def fetchable_urls(body: Mapping[str, Any]) -> list[str]:
    """Return the http(s) image URLs the gateway must download (Files API and YouTube URIs excluded)."""
    return [url for url in remote_image_urls(body.get("messages")) if not _file_uri(url)]


def _media(url: str, mime: str | None, target: Target) -> dict[str, Any]:
    parsed = data_url(url)
    if parsed is not None:
        return {"inlineData": {"mimeType": parsed[0], "data": parsed[1]}}
    fetched = None if _file_uri(url) else target.fetched.get(url)
    if fetched is not None:
        return {"inlineData": {"mimeType": fetched.media_type, "data": fetched.b64}}
    if not url.startswith(("gs://", "http://", "https://")):
        raise TranslationError("image and file URLs must be data:, gs:// or http(s) URLs", "messages")
    mime = mime or mimetypes.guess_type(url.split("?", 1)[0])[0]
    return {"fileData": {"mimeType": mime, "fileUri": url} if mime else {"fileUri": url}}


def _part(part: Mapping[str, Any], target: Target) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        text = part.get("text", "")
        return {"text": text} if text else None
    if kind == "image_url":
        url = image_url_of(part)
        if not url:
            raise TranslationError("image_url parts need a url", "messages")
        image = part.get("image_url")
        mime = image.get("mime_type") if isinstance(image, Mapping) else None
        return _media(url, mime, target)
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        return {"inlineData": {"mimeType": f"audio/{audio.get('format', 'wav')}", "data": audio.get("data", "")}}
    if kind == "file":
        file = part.get("file") or {}
        url = file.get("file_data") or file.get("file_url") or file.get("file_id")
        if not url:
            raise TranslationError("file parts need file_data, file_url or file_id for google", "messages")
        return _media(url, file.get("mime_type"), target)
    raise TranslationError(f"{kind} content is not supported by google", "messages")


def _model_parts(message: Mapping[str, Any], names: dict[str, str], target: Target) -> list[dict[str, Any]]:
    parts = [p for p in (_part(x, target) for x in parts_of(message.get("content")) if x.get("type") == "text") if p]
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        names[call.get("id", "")] = function.get("name", "")
        item: dict[str, Any] = {
            "functionCall": {"name": function.get("name", ""), "args": arguments_object(function.get("arguments"))}
        }
        signature = ((call.get("extra_content") or {}).get("google") or {}).get("thought_signature")
        if signature:
            item["thoughtSignature"] = signature
        parts.append(item)
    return parts


def _tool_result(message: Mapping[str, Any], names: dict[str, str]) -> dict[str, Any]:
    name = message.get("name") or names.get(message.get("tool_call_id") or "")
    if not name:
        raise TranslationError(
            "tool messages need a name or a tool_call_id of an earlier assistant tool call for google", "messages"
        )
    return {"functionResponse": {"name": name, "response": {"output": text_of(message.get("content"), "\n")}}}


def convert_messages(messages: list[Mapping[str, Any]], target: Target) -> tuple[list[dict], list[dict]]:
    """Return ``(systemInstruction parts, contents)``: system text in order, same-role turns merged."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend({"text": p["text"]} for p in parts_of(message.get("content")) if p.get("text"))
            continue
        if role == "assistant":
            turn, parts = "model", _model_parts(message, names, target)
        elif role in ("tool", "function"):
            turn, parts = "user", [_tool_result(message, names)]
        else:
            turn = "user"
            parts = [p for p in (_part(x, target) for x in parts_of(message.get("content"))) if p is not None]
        if not parts:
            continue
        if contents and contents[-1]["role"] == turn:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": turn, "parts": parts})
    return system, contents


def clean_schema(schema: Any, defs: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """Reduce a JSON schema to Gemini's OpenAPI-subset ``Schema`` (local ``$ref`` inlined)."""
    if not isinstance(schema, Mapping) or depth > 24:
        return {}
    if defs is None:
        defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        found = defs.get(ref.rsplit("/", 1)[-1])
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return clean_schema({**found, **rest}, defs, depth + 1) if isinstance(found, Mapping) else {}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            kinds = [v for v in value if v != "null"]
            if len(kinds) < len(value):
                out["nullable"] = True
            if len(kinds) == 1:
                out["type"] = kinds[0]
            elif kinds:
                out["anyOf"] = [{"type": k} for k in kinds]
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {name: clean_schema(sub, defs, depth + 1) for name, sub in value.items()}
        elif key == "items":
            out[key] = clean_schema(value, defs, depth + 1)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out["anyOf"] = [clean_schema(sub, defs, depth + 1) for sub in value]
        elif key == "const":
            out["enum"] = [value]
        elif key == "enum" and isinstance(value, list):
            out[key] = [v for v in value if v is not None]
            if len(out[key]) < len(value):
                out["nullable"] = True
        elif key in _SCHEMA_KEYS:
            out[key] = value
    return out


def _tools(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    native: list[dict[str, Any]] = []
    for tool in tools:
        function = tool.get("function") or {}
        name = function.get("name", "")
        if tool.get("type") != "function":
            native.append({k: v for k, v in tool.items() if k != "type"})  # a Gemini-native tool object
        elif name in _NATIVE_TOOLS:
            native.append({_NATIVE_TOOLS[name]: function.get("parameters") or {}})
        else:
            entry: dict[str, Any] = {"name": name, "description": function.get("description", "")}
            parameters = function.get("parameters")
            if isinstance(parameters, Mapping) and parameters.get("properties"):
                entry["parameters"] = clean_schema(parameters)
            declarations.append(entry)
    return ([{"functionDeclarations": declarations}] if declarations else []) + native


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice in ("auto", "none"):
        return {"functionCallingConfig": {"mode": choice.upper()}}
    if choice == "required":
        return {"functionCallingConfig": {"mode": "ANY"}}
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        name = choice["function"].get("name", "")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    raise TranslationError("tool_choice is not understood", "tool_choice")


def _thinking(body: Mapping[str, Any]) -> dict[str, Any] | None:
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping):
        if thinking.get("type") == "disabled":
            return {"thinkingBudget": 0}
        budget = thinking.get("budget_tokens")
        return {"includeThoughts": True, **({"thinkingBudget": budget} if isinstance(budget, int) else {})}
    effort = body.get("reasoning_effort")
    if effort is None:
        return None
    budget = THINKING_BUDGETS.get(effort)
    if budget is None:
        raise TranslationError(f"reasoning_effort must be one of {', '.join(THINKING_BUDGETS)}", "reasoning_effort")
    return {"includeThoughts": True, "thinkingBudget": budget} if budget else {"thinkingBudget": 0}


def generation_config(body: Mapping[str, Any]) -> dict[str, Any]:
    """Build ``generationConfig`` from the OpenAI sampling, length, format and reasoning params."""
    config: dict[str, Any] = {}
    for source, name in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("top_k", "topK"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if body.get(source) is not None:
            config[name] = body[source]
    stops = stop_list(body.get("stop"))
    if stops:
        config["stopSequences"] = stops
    max_tokens = max_tokens_of(body)
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    if isinstance(body.get("n"), int) and body["n"] != 1:
        config["candidateCount"] = body["n"]
    if body.get("logprobs"):
        config["responseLogprobs"] = True
        if isinstance(body.get("top_logprobs"), int):
            config["logprobs"] = body["top_logprobs"]
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        if fmt["type"] == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            if not isinstance(schema, Mapping):
                raise TranslationError("response_format.json_schema.schema is required", "response_format")
            config["responseJsonSchema"] = {k: v for k, v in schema.items() if k != "$schema"}
    thinking = _thinking(body)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def generate_body(body: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """Build the ``generateContent`` request body from an OpenAI chat request."""
    system, contents = convert_messages(body.get("messages") or [], target)
    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    if body.get("tools"):
        out["tools"] = _tools(body["tools"])
        config = _tool_config(body.get("tool_choice"))
        if config is not None:
            out["toolConfig"] = config
    generation = generation_config(body)
    if generation:
        out["generationConfig"] = generation
    if body.get("safety_settings") is not None:
        out["safetySettings"] = body["safety_settings"]
    if body.get("cached_content"):
        out["cachedContent"] = body["cached_content"]
    return merge_native(out, body)


def chat_unmapped(body: Mapping[str, Any], handled: frozenset[str] = HANDLED) -> list[str]:
    """The OpenAI params Gemini cannot take (``parallel_tool_calls`` only when it asks for one call)."""
    names = unmapped(body, handled | {"parallel_tool_calls"})
    if body.get("parallel_tool_calls") is False:
        names = sorted([*names, "parallel_tool_calls"])
    return names


def model_of(body: Mapping[str, Any]) -> str:
    """Return the request's model id without a ``models/`` prefix."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TranslationError("model is required", "model")
    return model.removeprefix("models/")


def embed_texts(body: Mapping[str, Any]) -> list[str]:
    """Return embedding inputs as a list of strings."""
    value = body.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    raise TranslationError("input must be a string or a list of strings for google embeddings", "input")


def embed_body(body: Mapping[str, Any], model: str) -> tuple[str, dict[str, Any]]:
    """Return ``(method, body)``: ``embedContent`` for a string, ``batchEmbedContents`` for a list."""
    extra: dict[str, Any] = {}
    if isinstance(body.get("dimensions"), int):
        extra["outputDimensionality"] = body["dimensions"]
    if body.get("task_type"):
        extra["taskType"] = body["task_type"]
    texts = embed_texts(body)
    if isinstance(body.get("input"), str):
        return "embedContent", merge_native({"content": {"parts": [{"text": texts[0]}]}, **extra}, body)
    requests = [{"model": f"models/{model}", "content": {"parts": [{"text": t}]}, **extra} for t in texts]
    return "batchEmbedContents", merge_native({"requests": requests}, body)


# -- response ------------------------------------------------------------------------------------


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


def _call_key(candidate: int, ordinal: int) -> str:
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


def _finish(reason: Any, has_calls: bool, target: Target) -> str | None:
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
            calls.append(tool_call(part, response_id, _call_key(index, len(calls))))
        elif "text" in part:
            (thoughts if part.get("thought") else text).append(part["text"])
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    if not target.strict and candidate.get("groundingMetadata"):
        message["groundingMetadata"] = candidate["groundingMetadata"]
    return {
        "index": index,
        "message": message,
        "logprobs": _logprobs(candidate.get("logprobsResult")),
        "finish_reason": _finish(candidate.get("finishReason"), bool(calls), target),
    }


def _blocked(feedback: Any, target: Target) -> str:
    reason = feedback.get("blockReason") if isinstance(feedback, Mapping) else None
    return "content_filter" if target.strict else str(reason or "OTHER")


def to_chat_completion(response: Mapping[str, Any], target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map a ``GenerateContentResponse`` to an OpenAI ``chat.completion`` (one choice per candidate)."""
    response_id = str(response.get("responseId") or "")
    candidates = response.get("candidates") or []
    choices = [_choice(c, i, response_id, target) for i, c in enumerate(candidates)]
    if not choices:
        reason = _blocked(response.get("promptFeedback"), target)
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


def embeddings_response(raw: Any, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``embedContent``, ``batchEmbedContents`` or Vertex ``predict`` answers to an OpenAI ``list``."""
    tokens = 0
    if isinstance(raw, Mapping) and isinstance(raw.get("embedding"), Mapping):
        vectors = [raw["embedding"].get("values") or []]
    elif isinstance(raw, Mapping) and isinstance(raw.get("embeddings"), list):
        vectors = [e.get("values") or [] for e in raw["embeddings"]]
    elif isinstance(raw, Mapping) and isinstance(raw.get("predictions"), list):
        vectors = []
        for prediction in raw["predictions"]:
            embedding = prediction.get("embeddings") or {}
            vectors.append(embedding.get("values") or [])
            tokens += int((embedding.get("statistics") or {}).get("token_count") or 0)
    else:
        raise InvalidResponse(f"Invalid response received from {target.provider}: {orjson.dumps(raw)[:500]!r}")
    meta = raw.get("usageMetadata") or {}
    tokens = tokens or int(meta.get("promptTokenCount") or 0)
    as_base64 = request.get("encoding_format") == "base64"
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() if as_base64 else v,
        }
        for i, v in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": request.get("model", ""),
        "provider": target.provider,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
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
    text = body.decode("utf-8", "replace").strip()[:1000] or f"HTTP {status}"
    return error_envelope(target.provider, text)


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
                return [self._chunk(0, {"role": "assistant", "content": ""}, _blocked(feedback, self.target))]
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
                calls.append({"index": ordinal, **tool_call(part, self.response_id, _call_key(index, ordinal))})
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
            out.append(self._chunk(index, {}, _finish(reason, index in self.calls, self.target)))
        return out

    def finish(self) -> list[dict[str, Any]]:
        """The usage chunk, when the client asked for it (finish chunks went out with each candidate)."""
        return self.writer.usage_chunk(gemini_usage(self.meta))


# -- the translator ------------------------------------------------------------------------------


def headers(target: Target) -> dict[str, str]:
    """JSON content type plus the API key header."""
    out = {"content-type": "application/json"}
    if target.api_key:
        out["x-goog-api-key"] = target.api_key
    return out


class GoogleTranslator:
    """OpenAI chat and embeddings <-> Gemini API."""

    stream_format = "sse"

    def supports(self, fn: str) -> bool:
        return fn in ("chatComplete", "embed")

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        return fetchable_urls(body) if fn == "chatComplete" else []

    def build_request(self, fn: str, body: Mapping[str, Any], target: Target, stream: bool) -> Built:
        base = (target.custom_host or target.base_url).rstrip("/")
        model = model_of(body)
        if fn == "embed":
            method, payload = embed_body(body, model)
            url = f"{base}/models/{model}:{method}"
            return Built(HttpRequest("POST", url, headers(target), json_bytes(payload)), unmapped(body, EMBED_HANDLED))
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        payload = generate_body(body, target)
        url = f"{base}/models/{model}:{method}"
        return Built(HttpRequest("POST", url, headers(target), json_bytes(payload)), chat_unmapped(body))

    def parse_response(self, fn: str, body: bytes, target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
        parsed = loads_or_none(body)
        if fn == "embed":
            return embeddings_response(parsed, target, request)
        if not isinstance(parsed, Mapping) or not ("candidates" in parsed or "promptFeedback" in parsed):
            raise InvalidResponse(f"Invalid response received from {target.provider}: {body[:500]!r}")
        return to_chat_completion(parsed, target, request)

    def parse_error(self, status: int, body: bytes, content_type: str, target: Target) -> dict[str, Any]:
        return to_error(status, body, target)

    def stream(self, fn: str, target: Target, request: Mapping[str, Any]) -> GeminiStream:
        return GeminiStream(target, request)


TRANSLATOR = GoogleTranslator()
