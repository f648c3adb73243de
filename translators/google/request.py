"""Map an OpenAI chat request to a Gemini ``generateContent`` body (Gemini API and Vertex AI).

Facts (ai.google.dev/api/generate-content): ``contents`` alternate ``user``/``model`` turns;
function results travel as ``functionResponse`` parts in a user turn (name required, ``output``
is the documented result key); every system/developer message becomes a ``systemInstruction``
part, in order. Images are ``inlineData`` (base64) or ``fileData`` (``gs://``, Files API and
YouTube URIs); other http(s) images are downloaded by the gateway and inlined. Function
parameters use the OpenAPI-subset ``Schema``, so JSON-schema keys it rejects
(``additionalProperties``, ``$schema``, ``strict``, ...) are dropped and local ``$ref`` inlined;
``response_format.json_schema`` goes to ``generationConfig.responseJsonSchema`` (full JSON
Schema). ``reasoning_effort`` becomes ``thinkingConfig.thinkingBudget`` with ``includeThoughts``.
A tool call's ``extra_content.google.thought_signature`` is sent back as the part's
``thoughtSignature``.
"""

from __future__ import annotations

import mimetypes
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
    remote_image_urls,
    stop_list,
    text_of,
    unmapped,
)

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
        append_turn(contents, turn, parts, "parts")
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
