"""Map OpenAI chat and embeddings to AWS Bedrock Runtime (Converse, ConverseStream, InvokeModel), SigV4-signed.

Provider facts (docs.aws.amazon.com/bedrock, API reference ``Converse``/``ConverseStream``/``InvokeModel``):

* Host ``https://bedrock-runtime.{region}.amazonaws.com`` (option ``aws_region``, default ``us-east-1``;
  ``custom_host`` replaces scheme, host and prefix). Chat: ``POST /model/{modelId}/converse`` and
  ``/converse-stream`` (binary ``application/vnd.amazon.eventstream``); embeddings: ``POST /model/{id}/invoke``.
  The model id is URL-encoded in the path (``:`` -> ``%3A``); SigV4 (service ``bedrock``) escapes the path
  again in the canonical URI (``%253A``), which botocore's ``SigV4Auth`` does.
* Auth: SigV4 over the exact body bytes sent, with static keys (options ``aws_access_key_id``,
  ``aws_secret_access_key``, ``aws_session_token``) or assumed-role credentials resolved by
  ``gateway/auth_aws.py`` (``Target.credentials["aws"]``); ``aws_auth_type: apiKey`` sends the Bedrock API
  key as ``Authorization: Bearer`` unsigned. The signing time comes from ``clock`` (or, for golden
  fixtures, ``Target.credentials["signing_time"]``), so signatures are reproducible.
* Converse: every system/developer message -> ``system`` blocks; tool results -> user ``toolResult``
  blocks; consecutive same-role turns merged; images and documents as base64 ``bytes`` (http(s) URLs are
  downloaded by the gateway), ``s3://`` URLs as ``s3Location``; ``cache_control`` -> ``cachePoint``.
  Tools -> ``toolConfig.tools[].toolSpec`` with ``inputSchema.json``; ``toolChoice`` has only
  ``auto``/``any``/``tool``: ``tool_choice: "none"`` omits ``toolConfig`` (Converse requires it only when the
  conversation holds ``toolUse``/``toolResult`` blocks; then the tools stay and calls cannot be forbidden).
* Converse has no JSON mode: ``response_format`` becomes the documented tool-forcing pattern (a tool whose
  input schema is the requested schema, chosen with ``toolChoice.tool``); its input comes back as the
  message ``content`` (JSON text) rather than as a tool call. With extended thinking on, Claude refuses
  forced tools, so the JSON tool is then offered with ``toolChoice.auto``.
* ``reasoning_effort`` -> ``additionalModelRequestFields.thinking`` (Anthropic models; budgets as for
  Anthropic); ``reasoningContent`` -> ``reasoning_content``. ``top_k`` and model-specific fields travel in
  ``additionalModelRequestFields``.
* Usage: ``prompt_tokens`` = input + cacheRead + cacheWrite tokens. Stream events: ``messageStart``,
  ``contentBlockStart``/``Delta``/``Stop``, ``messageStop`` (``stopReason``) and ``metadata`` (usage); the stream
  is complete once both ``messageStop`` and ``metadata`` arrived. Exception frames map to a status:
  throttling 429, validation 400, service unavailable 503, model-stream and internal errors 500 (AWS
  documents model-stream errors as 424 but asks to retry them, so they count as retriable here).
* Embeddings: Titan (``{"inputText", "dimensions"}``, one input per request, ``inputTextTokenCount``) and
  Cohere (``{"texts", "input_type", "embedding_types"}``, at most 96 texts; the body reports no token count).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import mimetypes
import re
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from translators.anthropic import DEFAULT_MAX_TOKENS, THINKING_BUDGETS
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
    chat_completion,
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
    parts_of,
    remote_image_urls,
    stop_list,
    unmapped,
    usage,
)

DEFAULT_REGION = "us-east-1"
SERVICE = "bedrock"
#: The signing clock (epoch seconds); replace it to pin signatures in tests.
clock: Callable[[], float] = time.time

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
IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
VIDEO_FORMATS = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "mkv"}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
COHERE_MAX_TEXTS = 96
JSON_TOOL = "json_response"
_REGION_PREFIXES = ("us.", "eu.", "apac.", "au.", "ca.", "jp.", "global.", "us-gov.")
_REGION = re.compile(r"^[a-z0-9-]{2,32}$")
_TOOL_NAME_BAD = re.compile(r"[^a-zA-Z0-9_-]")
_SIGV4_TIME = "%Y%m%dT%H%M%SZ"

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
EMBED_HANDLED = frozenset({"input", "encoding_format", "dimensions", "input_type", "truncate"})


def model_family(model: str) -> str:
    """Return the model's family (``anthropic``, ``amazon``, ``cohere``, ...), without region prefix or ARN."""
    name = model.rsplit("/", 1)[-1]
    for prefix in _REGION_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name.split(".", 1)[0]


# -- request: messages ---------------------------------------------------------------------------


class _Converter:
    """Turn OpenAI messages into Converse ``system`` and ``messages`` (holds per-request state)."""

    def __init__(self, target: Target) -> None:
        self.fetched = target.fetched
        self.documents = 0
        self.tool_blocks = False

    def media(self, media_type: str, source: dict[str, Any]) -> dict[str, Any]:
        media_type = media_type.lower()
        if media_type in IMAGE_FORMATS:
            return {"image": {"format": IMAGE_FORMATS[media_type], "source": source}}
        if media_type in VIDEO_FORMATS:
            return {"video": {"format": VIDEO_FORMATS[media_type], "source": source}}
        if media_type in DOCUMENT_FORMATS:
            self.documents += 1
            return {
                "document": {
                    "format": DOCUMENT_FORMATS[media_type],
                    "name": f"document-{self.documents}",
                    "source": source,
                }
            }
        raise TranslationError(f"{media_type} content is not supported by bedrock", "messages")

    def url_block(self, url: str) -> dict[str, Any]:
        parsed = data_url(url)
        if parsed is not None:
            return self.media(parsed[0], {"bytes": parsed[1]})
        if url.startswith("s3://"):
            guessed = mimetypes.guess_type(url)[0] or "application/octet-stream"
            return self.media(guessed, {"s3Location": {"uri": url}})
        fetched = self.fetched.get(url)
        if fetched is None:
            raise TranslationError(f"bedrock needs image bytes; {url[:200]} was not downloaded", "messages")
        return self.media(fetched.media_type, {"bytes": fetched.b64})

    def block(self, part: Mapping[str, Any], role: str) -> dict[str, Any] | None:
        kind = part.get("type")
        if kind == "text":
            text = part.get("text", "")
            return {"text": text} if text or role != "assistant" else None
        if kind == "image_url":
            url = image_url_of(part)
            if not url:
                raise TranslationError("image_url parts need a url", "messages")
            return self.url_block(url)
        if kind == "file":
            file = part.get("file") or {}
            url = file.get("file_data") or file.get("file_url") or file.get("url")
            if not url:
                raise TranslationError("file parts need file_data or file_url for bedrock", "messages")
            return self.url_block(url)
        if kind == "thinking":
            text = {"text": part.get("thinking", ""), "signature": part.get("signature", "")}
            return {"reasoningContent": {"reasoningText": text}}
        if kind == "redacted_thinking":
            return {"reasoningContent": {"redactedContent": part.get("data", "")}}
        raise TranslationError(f"{kind} content is not supported by bedrock ({role} message)", "messages")

    def blocks(self, content: Any, role: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for part in parts_of(content):
            block = self.block(part, role)
            if block is not None:
                out.append(block)
            if "cache_control" in part:
                out.append({"cachePoint": {"type": "default"}})
        return out

    def tool_result(self, message: Mapping[str, Any]) -> dict[str, Any]:
        self.tool_blocks = True
        content = message.get("content")
        if isinstance(content, list):
            result = self.blocks(content, "tool")
        else:
            result = [{"text": content}] if isinstance(content, str) and content else []
        return {"toolResult": {"toolUseId": message.get("tool_call_id", ""), "content": result}}

    def assistant(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = self.blocks(message.get("content"), "assistant")
        for call in message.get("tool_calls") or []:
            self.tool_blocks = True
            function = call.get("function") or {}
            use = {
                "toolUseId": call.get("id", ""),
                "name": function.get("name", ""),
                "input": arguments_object(function.get("arguments")),
            }
            out.append({"toolUse": use})
        return out

    def convert(self, messages: list[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Return ``(system blocks, messages)``."""
        system: list[dict[str, Any]] = []
        out: list[dict[str, Any]] = []
        for message in messages:
            role = message.get("role")
            if role in ("system", "developer"):
                for part in parts_of(message.get("content")):
                    if part.get("type") == "text":
                        system.append({"text": part.get("text", "")})
                        if "cache_control" in part:
                            system.append({"cachePoint": {"type": "default"}})
                continue
            if role == "assistant":
                turn, blocks = "assistant", self.assistant(message)
            elif role in ("tool", "function"):
                turn, blocks = "user", [self.tool_result(message)]
            else:
                turn, blocks = "user", self.blocks(message.get("content"), "user")
            if not blocks:
                continue
            if out and out[-1]["role"] == turn:
                out[-1]["content"].extend(blocks)
            else:
                out.append({"role": turn, "content": blocks})
        return system, out


# -- request: tools, JSON output, inference settings ---------------------------------------------


def _tool_specs(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
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


def _tool_choice(choice: Any) -> dict[str, Any] | None:
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


def _tool_config(body: Mapping[str, Any], has_tool_blocks: bool, thinking: bool) -> dict[str, Any] | None:
    """``toolConfig``; with extended thinking the JSON tool is offered, not forced (Claude refuses forced tools)."""
    choice = body.get("tool_choice")
    tools = _tool_specs(body.get("tools") or [])
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
            mapped = _tool_choice(choice)
        return {"tools": [*tools, forced], "toolChoice": mapped or {"tool": {"name": name}}}
    if not tools:
        return None
    config: dict[str, Any] = {"tools": tools}
    mapped = _tool_choice(choice)
    if mapped is not None:
        config["toolChoice"] = mapped
    return config


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
    converter = _Converter(target)
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
    config = _tool_config(body, converter.tool_blocks, thinking_on)
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


# -- request: URL and signing --------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class PinnedSigV4(SigV4Auth):
    """botocore's SigV4 with a given timestamp (reproducible signatures) and a cached signing key."""

    def __init__(self, credentials: Credentials, service: str, region: str, timestamp: str) -> None:
        super().__init__(credentials, service, region)
        self.timestamp = timestamp

    def headers_to_sign(self, request: AWSRequest) -> Any:
        cached = request.context.get("headers_to_sign")
        if cached is None:
            cached = request.context["headers_to_sign"] = super().headers_to_sign(request)
        return cached

    def payload(self, request: AWSRequest) -> str:
        data = request.data  # always bytes or None here; botocore's ``request.body`` re-prepares the request
        return hashlib.sha256(data or b"").hexdigest()

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        day = request.context["timestamp"][:8]
        key = _signing_key(self.credentials.secret_key, day, self._region_name, self._service_name)
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self.timestamp
        self._modify_request_before_signing(request)
        string_to_sign = self.string_to_sign(request, self.canonical_request(request))
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    creds: Credentials,
    service: str,
    region: str,
    timestamp: str,
) -> dict[str, str]:
    """Return ``headers`` plus the SigV4 headers (``authorization``, ``x-amz-date``, ``x-amz-security-token``)."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    PinnedSigV4(creds, service, region, timestamp).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


def region_of(target: Target) -> str:
    """The AWS region of a target (``aws_region``, default ``us-east-1``)."""
    region = str(target.option("aws_region", default=DEFAULT_REGION)).strip().lower()
    if not _REGION.match(region):
        raise TranslationError(f"invalid aws_region {region[:40]!r}", "aws_region")
    return region


def _timestamp(target: Target) -> str:
    pinned = target.credentials.get("signing_time")
    if isinstance(pinned, str):
        return pinned
    return time.strftime(_SIGV4_TIME, time.gmtime(pinned if isinstance(pinned, (int, float)) else clock()))


def _credentials(target: Target) -> Credentials:
    aws = target.credentials.get("aws")
    if isinstance(aws, Mapping) and aws.get("access_key_id"):
        return Credentials(aws["access_key_id"], aws["secret_access_key"], aws.get("session_token"))
    key, secret = target.option("aws_access_key_id"), target.option("aws_secret_access_key")
    if not key or not secret:
        raise TranslationError(
            "bedrock needs AWS credentials: aws_access_key_id and aws_secret_access_key, "
            "aws_auth_type assumedRole with aws_role_arn, or aws_auth_type apiKey with an API key",
            "aws_access_key_id",
        )
    return Credentials(str(key), str(secret), target.option("aws_session_token"))


def request_for(target: Target, model: str, action: str, payload: dict[str, Any]) -> HttpRequest:
    """Build the signed (or API-key) request for ``/model/{model}/{action}``."""
    if not model:
        raise TranslationError("model is required", "model")
    region = region_of(target)
    base = (target.custom_host or f"https://bedrock-runtime.{region}.amazonaws.com").rstrip("/")
    url = f"{base}/model/{quote(model, safe='')}/{action}"
    body = json_bytes(payload)
    headers = {"content-type": "application/json"}
    if str(target.option("aws_auth_type", default="")).lower() == "apikey":
        if not target.api_key:
            raise TranslationError("aws_auth_type apiKey needs a Bedrock API key (Authorization: Bearer)", "api_key")
        headers["authorization"] = f"Bearer {target.api_key}"
    else:
        headers = sign("POST", url, headers, body, _credentials(target), SERVICE, region, _timestamp(target))
    return HttpRequest("POST", url, headers, body)


# -- response ------------------------------------------------------------------------------------


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
        content: str | None = json_text
        if not calls and stop == "tool_use":
            stop = "end_turn"
    else:
        content = "".join(text) if text or not calls else None
    reply: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        reply["tool_calls"] = calls
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
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
    text = body.decode("utf-8", "replace").strip()[:1000] or f"HTTP {status}"
    return error_envelope(target.provider, text)


# -- embeddings ----------------------------------------------------------------------------------


def embed_payload(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Build the InvokeModel body for a Titan or Cohere embedding model."""
    model = str(body.get("model") or "")
    value = body.get("input")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise TranslationError("bedrock embeddings take a string or a list of strings", "input")
    skipped: list[str] = []
    name = model.rsplit("/", 1)[-1]
    if "titan-embed" in name:
        if len(texts) != 1:
            raise TranslationError(
                f"{model} embeds one input per request (got {len(texts)}); send one request per input", "input"
            )
        payload: dict[str, Any] = {"inputText": texts[0]}
        if body.get("dimensions") is not None:
            payload["dimensions"] = body["dimensions"]
        return payload, skipped
    if model_family(model) == "cohere":
        if len(texts) > COHERE_MAX_TEXTS:
            raise TranslationError(f"{model} embeds at most {COHERE_MAX_TEXTS} texts per request", "input")
        payload = {"texts": texts, "input_type": body.get("input_type") or "search_document"}
        payload["embedding_types"] = ["float"]
        if body.get("truncate"):
            payload["truncate"] = body["truncate"]
        if body.get("dimensions") is not None:
            if "embed-v4" in name:
                payload["output_dimension"] = body["dimensions"]
            else:
                skipped.append("dimensions")
        return payload, skipped
    raise TranslationError(f"embeddings with {model} are not supported (amazon.titan-embed-*, cohere.embed-*)", "model")


def to_embeddings(raw: Mapping[str, Any], target: Target, request: Mapping[str, Any]) -> dict[str, Any]:
    """Map a Titan or Cohere InvokeModel answer to OpenAI's embeddings list."""
    if isinstance(raw.get("embedding"), list):
        vectors, tokens = [raw["embedding"]], int(raw.get("inputTextTokenCount") or 0)
    elif "embeddings" in raw:
        found = raw["embeddings"]
        vectors = found.get("float") if isinstance(found, Mapping) else found
        billed = ((raw.get("meta") or {}).get("billed_units") or {}).get("input_tokens")
        tokens = int(billed or 0)
    else:
        vectors = None
    if not isinstance(vectors, list):
        raise InvalidResponse(f"Invalid response received from bedrock: {orjson.dumps(raw)[:500]!r}")
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
        "model": str(request.get("model", "")),
        "provider": target.provider,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# -- stream --------------------------------------------------------------------------------------


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


# -- the translator ------------------------------------------------------------------------------


class BedrockTranslator:
    """OpenAI chat and embeddings <-> Bedrock Converse and InvokeModel."""

    stream_format = "aws-eventstream"

    def supports(self, fn: str) -> bool:
        return fn in ("chatComplete", "embed")

    def images_to_fetch(self, fn: str, body: Mapping[str, Any]) -> list[str]:
        if fn != "chatComplete":
            return []
        urls = remote_image_urls(body.get("messages"))
        for message in body.get("messages") or []:
            for part in parts_of(message.get("content")) if isinstance(message, Mapping) else []:
                file = part.get("file") if part.get("type") == "file" else None
                url = (file.get("file_url") or file.get("url")) if isinstance(file, Mapping) else None
                if isinstance(url, str) and url.startswith(("http://", "https://")) and url not in urls:
                    urls.append(url)
        return urls

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
