"""AWS Bedrock Runtime wire format: Converse, ConverseStream (binary event stream), InvokeModel embeddings, STS.

Routes: ``POST /model/<id>/converse``, ``/converse-stream`` and ``/invoke`` (Titan and Cohere
embeddings; every InvokeModel answer carries ``X-Amzn-Bedrock-Input-Token-Count``, and Cohere's body
has no token count of its own); ``GET /sts/?Action=AssumeRole`` (XML, issues temporary credentials);
``GET /bedrock-mock/pixel.png`` (an image for the gateway to download). SigV4 is verified for real: the
canonical request is rebuilt from what arrived (the raw request target, the signed headers, the body)
and the signature recomputed with botocore for the known secret of the access key (static test keys
or credentials this mock issued, whose session token must match). ``Authorization: Bearer`` is
accepted with the known Bedrock API key. Errors use Bedrock's shape ``{"message": ...}`` with an
``x-amzn-errortype`` header; the mock also checks what Converse requires (messages starting with a
user turn and alternating roles, no blank text, valid image formats, ``toolConfig`` when the
conversation holds tool blocks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from flask import Blueprint, Response, request

from tests.mockprovider.answers import Answer, Ask, answer, split
from tests.mockprovider.awsframes import encode_event, encode_exception
from tests.mockprovider.common import begin, json_body, json_response, record, stream, switches
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_bedrock", __name__)

#: Static test credentials: access key id -> (secret, required session token or None).
ACCESS_KEY, SECRET_KEY = "AKIAMOCKBEDROCK00001", "mock-bedrock-secret-key"
SESSION_ACCESS_KEY, SESSION_SECRET, SESSION_TOKEN = "ASIAMOCKSESSION00001", "mock-session-secret", "mock-session-token"
STS_SOURCE_KEY, STS_SOURCE_SECRET = "AKIAMOCKSTSSOURCE001", "mock-sts-source-secret"
API_KEY = "mock-bedrock-api-key"
KEYS: dict[str, tuple[str, str | None]] = {
    ACCESS_KEY: (SECRET_KEY, None),
    SESSION_ACCESS_KEY: (SESSION_SECRET, SESSION_TOKEN),
    STS_SOURCE_KEY: (STS_SOURCE_SECRET, None),
}
#: A 1x1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
_KINDS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}
_issued = itertools.count(1)


def error(status: int, message: str, kind: str | None = None) -> Response:
    """A Bedrock error: ``{"message"}`` plus the ``x-amzn-errortype`` header."""
    kind = kind or _KINDS.get(status, "InternalServerException")
    headers = {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    return json_response({"message": message}, status, headers)


def _error_body(status: int) -> dict[str, Any]:
    return {"message": f"mock failure {status}"}


def _start(sw: Switches, raw: bytes) -> Response | None:
    failure = begin(sw, raw, _error_body)
    if failure is not None:
        failure.headers["x-amzn-errortype"] = _KINDS.get(sw.status, "InternalServerException")
    return failure


# -- SigV4 ---------------------------------------------------------------------------------------


def credentials(key: str) -> Credentials | None:
    """The credentials of a known access key id (with the session token it requires, if any)."""
    known = KEYS.get(key)
    return None if known is None else Credentials(key, *known)


def has_session_token(creds: Credentials) -> bool:
    """Whether the request carries the session token ``creds`` require (if they require one)."""
    return creds.token is None or request.headers.get("x-amz-security-token") == creds.token


def amz_time(stamp: str) -> float | None:
    """The epoch seconds of an ``x-amz-date`` stamp, or None if it is malformed."""
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def signature_matches(
    match: re.Match[str], creds: Credentials, signer_class: type[SigV4Auth], service: str, url: str, data: bytes
) -> bool:
    """Rebuild the request from its signed headers and check the signature ``signer_class`` computes for it."""
    headers = {name: request.headers.get(name, "") for name in match["signed"].split(";")}
    rebuilt = AWSRequest(method=request.method, url=url, data=data, headers=headers)
    rebuilt.context["timestamp"] = request.headers.get("x-amz-date", "")
    signer = signer_class(creds, service, match["region"])
    expected = signer.signature(signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt)
    return hmac.compare_digest(expected, match["signature"])


def raw_target() -> str:
    """The request target as it arrived (SigV4 signs it undecoded)."""
    return request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path


def verify(service: str, allow_api_key: bool = True) -> Response | None:
    """Check the request's SigV4 signature (or Bedrock API key); return the 403 to send, or None."""
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        if allow_api_key and hmac.compare_digest(auth[7:], API_KEY):
            return None
        return error(403, "Authentication failed: the API key is invalid.", "AccessDeniedException")
    match = _AUTH.match(auth)
    if match is None:
        return error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
    creds = credentials(match["key"])
    if creds is None or not has_session_token(creds):
        return error(403, "The security token included in the request is invalid.", "UnrecognizedClientException")
    if match["service"] != service:
        return error(403, f"Credential should be scoped to correct service: '{service}'.", "InvalidSignatureException")
    stamp = request.headers.get("x-amz-date", "")
    signed_at = amz_time(stamp)
    if signed_at is None:
        return error(403, "Missing or malformed X-Amz-Date", "IncompleteSignatureException")
    if stamp[:8] != match["day"] or abs(time.time() - signed_at) > 300:
        return error(403, "Signature expired or not yet current.", "InvalidSignatureException")
    names = match["signed"].split(";")
    if "host" not in names or "x-amz-date" not in names:
        return error(403, "host and x-amz-date must be signed.", "IncompleteSignatureException")
    url = f"{request.scheme}://{request.headers.get('host', '')}{raw_target()}"
    if not signature_matches(match, creds, SigV4Auth, service, url, request.get_data()):
        return error(403, BAD_SIGNATURE, "InvalidSignatureException")
    return None


# -- Converse ------------------------------------------------------------------------------------


def _check(body: dict[str, Any]) -> Response | None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return error(400, "The model returned the following errors: messages: field required")
    if "model" in body:
        return error(400, "Malformed input request: extraneous key [model] is not permitted")
    tool_blocks = False
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant") or (i == 0 and role != "user"):
            return error(
                400,
                "A conversation must start with a user message. Try again with a conversation that starts with a "
                "user message.",
            )
        if i and messages[i - 1].get("role") == role:
            return error(400, "A conversation must alternate between user and assistant roles.")
        for j, block in enumerate(message.get("content") or []):
            if "text" in block and not block["text"].strip():
                return error(400, f"The text field in the ContentBlock object at messages.{i}.content.{j} is blank.")
            if "image" in block:
                image = block["image"]
                if image.get("format") not in _IMAGE_FORMATS:
                    return error(400, f"messages.{i}.content.{j}.image.format: invalid value")
                source = image.get("source") or {}
                if "bytes" in source:
                    try:
                        base64.b64decode(source["bytes"], validate=True)
                    except ValueError:
                        return error(400, f"messages.{i}.content.{j}.image.source.bytes: invalid base64")
            tool_blocks = tool_blocks or "toolUse" in block or "toolResult" in block
    if tool_blocks and not body.get("toolConfig"):
        return error(400, "The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    return None


def _describe(block: dict[str, Any]) -> str:
    kind = "image" if "image" in block else "document"
    item = block[kind]
    source = item.get("source") or {}
    if "bytes" in source:
        return f"{kind}: {item.get('format')} {len(base64.b64decode(source['bytes']))} bytes"
    return f"{kind}: s3 {(source.get('s3Location') or {}).get('uri')}"


def ask_of(body: dict[str, Any]) -> tuple[Ask, str | None]:
    """What a Converse request asks for, and the name of the tool it forces (if any)."""
    ask = Ask()
    for message in body.get("messages") or []:
        if message.get("role") == "user":
            blocks = message.get("content") or []
            media = [_describe(b) for b in blocks if "image" in b or "document" in b]
            ask.user_turn([b["text"] for b in blocks if "text" in b], media)
    ask.system = " ".join(b.get("text", "") for b in body.get("system") or [])
    config = body.get("toolConfig") or {}
    specs = [t["toolSpec"] for t in config.get("tools") or [] if "toolSpec" in t]
    ask.tools = [s.get("name") for s in specs]
    forced = ((config.get("toolChoice") or {}).get("tool") or {}).get("name")
    if forced:
        ask.schema = next(((s.get("inputSchema") or {}).get("json") for s in specs if s.get("name") == forced), None)
    ask.thinking = ((body.get("additionalModelRequestFields") or {}).get("thinking") or {}).get("type") == "enabled"
    return ask, forced


def reply_of(body: dict[str, Any], sw: Switches) -> Answer:
    ask, forced = ask_of(body)
    reply = answer(ask, sw, id_prefix="tooluse_")
    if forced:  # the model obeys a forced tool: its JSON answer becomes the tool input
        reply.calls, reply.text = [("tooluse_forced", forced, reply.text)], ""
    return reply


def _usage(reply: Answer, sw: Switches) -> dict[str, int]:
    return {
        "inputTokens": reply.input_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": reply.input_tokens + reply.output_tokens + sw.cache_read,
        "cacheReadInputTokens": sw.cache_read,
        "cacheWriteInputTokens": 0,
    }


def converse_answer(reply: Answer, sw: Switches) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.thinking:
        content.append({"reasoningContent": {"reasoningText": {"text": reply.thinking, "signature": "sig-mock"}}})
    if reply.text:
        content.append({"text": reply.text})
    for call_id, name, arguments in reply.calls:
        content.append({"toolUse": {"toolUseId": call_id, "name": name, "input": orjson.loads(arguments)}})
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use" if reply.calls else "end_turn",
        "usage": _usage(reply, sw),
        "metrics": {"latencyMs": 42},
    }


def stream_frames(reply: Answer, sw: Switches) -> list[bytes]:
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    index = 0
    if reply.thinking:
        events += [
            (
                "contentBlockDelta",
                {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": reply.thinking}}},
            ),
            ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": "sig"}}}),
            ("contentBlockStop", {"contentBlockIndex": index}),
        ]
        index += 1
    if reply.text:
        events += [
            ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
            for piece in split(reply.text, sw.chunks)
        ]
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    for call_id, name, arguments in reply.calls:
        events.append(
            (
                "contentBlockStart",
                {"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": call_id, "name": name}}},
            )
        )
        events += [
            ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}})
            for piece in split(arguments, 3)
        ]
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    tail = [
        ("messageStop", {"stopReason": "tool_use" if reply.calls else "end_turn"}),
        ("metadata", {"usage": _usage(reply, sw), "metrics": {"latencyMs": 42}}),
    ]
    frames = [encode_event(kind, data) for kind, data in events]
    if sw.error_after >= 0:
        message = "Too many requests, please wait before trying again."
        return frames[: sw.error_after] + [encode_exception("throttlingException", message)]
    if sw.no_done:
        return frames
    return frames + [encode_event(kind, data) for kind, data in tail]


def _converse(model: str, streaming: bool) -> Response:
    sw = switches()
    raw, body = json_body()
    failure = _start(sw, raw) or verify("bedrock") or _check(body)
    if failure is not None:
        return failure
    reply = reply_of(body, sw)
    if streaming:
        return stream(sw, stream_frames(reply, sw), content_type="application/vnd.amazon.eventstream")
    return json_response(converse_answer(reply, sw), headers={"x-amzn-requestid": "mock-request-id"})


@bp.post("/model/<path:model>/converse")
def converse(model: str) -> Response:
    return _converse(model, streaming=False)


@bp.post("/model/<path:model>/converse-stream")
def converse_stream(model: str) -> Response:
    return _converse(model, streaming=True)


# -- InvokeModel embeddings ----------------------------------------------------------------------


def vector(text: str, size: int) -> list[float]:
    """A deterministic unit-ish vector for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % 32] - 128) / 128, 4) for i in range(size)]


def tokens(text: str) -> int:
    """The mock's token count of ``text``: one per word, at least one."""
    return max(1, len(text.split()))


def invoke_headers(input_tokens: int) -> dict[str, str]:
    """The headers every InvokeModel answer carries (token count, latency, request id)."""
    return {
        "X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
        "X-Amzn-Bedrock-Invocation-Latency": "42",
        "x-amzn-requestid": "mock-request-id",
    }


@bp.post("/model/<path:model>/invoke")
def invoke(model: str) -> Response:
    if "anthropic." in model:  # Claude through InvokeModel: the Messages format natively
        return _anthropic_invoke(model, streaming=False)
    sw = switches()
    raw, body = json_body()
    failure = _start(sw, raw) or verify("bedrock")
    if failure is not None:
        return failure
    if "titan-embed" in model:
        text = body.get("inputText")
        if not isinstance(text, str) or set(body) - {"inputText", "dimensions", "normalize", "embeddingTypes"}:
            return error(
                400,
                "Malformed input request: #: required key [inputText] not found, please reformat your input and "
                "try again.",
            )
        size = body.get("dimensions", 1024)
        if size not in (256, 512, 1024):
            return error(400, "Malformed input request: #/dimensions: 8 is not a valid enum value")
        embedding = vector(text, size)
        count = tokens(text)
        return json_response(
            {"embedding": embedding, "inputTextTokenCount": count, "embeddingsByType": {"float": embedding}},
            headers=invoke_headers(count),
        )
    if model.startswith("cohere.embed"):
        texts, kind = body.get("texts"), body.get("input_type")
        if not isinstance(texts, list) or not isinstance(kind, str):
            return error(400, "Malformed input request: #: required key [input_type] not found")
        vectors = [vector(t, 1024) for t in texts]
        if body.get("embedding_types"):
            out: dict[str, Any] = {"embeddings": {"float": vectors}, "response_type": "embeddings_by_type"}
        else:
            out = {"embeddings": vectors, "response_type": "embeddings_floats"}
        # Cohere on Bedrock reports no token count in the body; only the header has it.
        count = sum(tokens(t) for t in texts)
        return json_response({**out, "id": "mock-embed-id", "texts": texts}, headers=invoke_headers(count))
    return error(400, f"The provided model identifier is invalid: {model}")


# -- STS and an image ----------------------------------------------------------------------------


def _sts_error(status: int, code: str, message: str) -> Response:
    xml = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>mock</RequestId></ErrorResponse>"
    )
    return Response(xml, status=status, content_type="text/xml")


@bp.get("/sts/")
def assume_role() -> Response:
    sw = switches()
    record(sw, b"")
    denied = verify("sts", allow_api_key=False)
    if denied is not None:
        message = orjson.loads(denied.get_data())["message"]
        return _sts_error(403, "SignatureDoesNotMatch", message)
    args = request.args
    if args.get("Action") != "AssumeRole" or args.get("Version") != "2011-06-15":
        return _sts_error(400, "InvalidAction", "Could not find operation for this request")
    if not args.get("RoleArn") or not args.get("RoleSessionName"):
        return _sts_error(400, "ValidationError", "RoleArn and RoleSessionName are required")
    if "denied" in args["RoleArn"]:
        return _sts_error(
            403, "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on {args['RoleArn']}"
        )
    n = next(_issued)
    key, secret, token = f"ASIAMOCKROLE{n:08d}", f"mock-role-secret-{n}", f"mock-role-token-{n}"
    KEYS[key] = (secret, token)
    expires = datetime.fromtimestamp(time.time() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    xml = (
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
        f"<AssumedRoleUser><Arn>{args['RoleArn']}/{args['RoleSessionName']}</Arn><AssumedRoleId>AROAMOCK:"
        f"{args['RoleSessionName']}</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>{key}</AccessKeyId>"
        f"<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>"
        f"<Expiration>{expires}</Expiration></Credentials></AssumeRoleResult>"
        "<ResponseMetadata><RequestId>mock</RequestId></ResponseMetadata></AssumeRoleResponse>"
    )
    return Response(xml, content_type="text/xml")


@bp.get("/bedrock-mock/pixel.png")
def pixel() -> Response:
    record(switches(), b"")
    return Response(PIXEL, content_type="image/png")


# -- InvokeModel with Anthropic models (the Messages format natively) ----------------------------


def _anthropic_invoke(model: str, streaming: bool) -> Response:
    from tests.mockprovider import anthropic as anthropic_mock

    sw = switches()
    raw, body = json_body()
    failure = _start(sw, raw) or verify("bedrock")
    if failure is not None:
        return failure
    if body.get("anthropic_version") != "bedrock-2023-05-31" or "model" in body or "stream" in body:
        return error(400, "Malformed input request: anthropic_version bedrock-2023-05-31 required, no model/stream")
    if not isinstance(body.get("max_tokens"), int) or not isinstance(body.get("messages"), list):
        return error(400, "Malformed input request: #: required key [max_tokens] not found")
    full = {**body, "model": model}
    reply = anthropic_mock.answer(anthropic_mock.ask_of(full), sw, id_prefix="toolu_")
    if not streaming:
        return json_response(anthropic_mock.message(full, reply, sw), headers=invoke_headers(reply.input_tokens))
    frames = [
        encode_event("chunk", {"bytes": base64.b64encode(data).decode()})
        for _, data in anthropic_mock.stream_events(full, reply, sw)
    ]
    return stream(sw, frames, content_type="application/vnd.amazon.eventstream")


@bp.post("/model/<path:model>/invoke-with-response-stream")
def invoke_stream(model: str) -> Response:
    return _anthropic_invoke(model, streaming=True)
