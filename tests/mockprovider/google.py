"""Google wire formats: the Gemini API, Vertex AI publisher models and the OAuth token endpoint.

* Gemini API: ``POST /v1beta/models/<model>:generateContent | streamGenerateContent | embedContent |
  batchEmbedContents | predict``, key in ``x-goog-api-key``. ``streamGenerateContent`` answers SSE with
  ``alt=sse`` and a streamed JSON array otherwise, as the real API does. Imagen ``:predict`` and
  image output of Gemini image models are answered by ``tests.mockprovider.imagen``.
* Vertex AI: ``POST /v1/projects/<p>/locations/<r>/publishers/google/models/<m>:generateContent |
  streamGenerateContent | predict`` and ``.../publishers/anthropic/models/<m>:rawPredict | streamRawPredict``
  (Claude, answered by the Anthropic mock's functions), ``Authorization: Bearer <token this mock issued>``.
* OAuth: ``POST /oauth2/token`` takes the JWT-bearer grant, verifies the RS256 assertion against the
  public key a test registered with ``POST /oauth2/keys`` and issues tokens (each one is logged).
* ``GET /images/<name>.png`` serves a 1x1 PNG for gateway-side image downloads.

Requests are checked the way the real APIs check them (auth, required fields, unknown field
names, schema keys function declarations reject); errors use Google's
``{"error": {"code", "message", "status"}}`` shape (OAuth errors: ``{"error", "error_description"}``).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from typing import Any

import jwt
import orjson
from flask import Blueprint, Response, request

from tests.mockprovider import anthropic as claude
from tests.mockprovider import imagen
from tests.mockprovider.answers import Answer, Ask, answer, split
from tests.mockprovider.common import begin, begin_json, json_body, json_response, record, stream, switches
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_google", __name__)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_TOP_LEVEL = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings"}
_TOP_LEVEL |= {"cachedContent"}
_GENERATION = {"temperature", "topP", "topK", "seed", "stopSequences", "maxOutputTokens", "candidateCount"}
_GENERATION |= {"presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema"}
_GENERATION |= {"responseLogprobs", "logprobs", "thinkingConfig", "responseModalities", "mediaResolution"}
_GENERATION |= {"imageConfig"}
_SCHEMA = {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties"}
_SCHEMA |= {"required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example"}
_SCHEMA |= {"anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}
_PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse")

_lock = threading.Lock()
_public_keys: dict[str, tuple[str | None, Any]] = {}
_issued: dict[str, str] = {}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message or f"mock failure {status}",
            "status": STATUS.get(status, "UNKNOWN"),
        }
    }


def _fail(status: int, message: str) -> Response:
    return json_response(error_body(status, message), status)


# -- request checks ------------------------------------------------------------------------------


def _schema_problem(schema: Any, where: str) -> str | None:
    if not isinstance(schema, dict):
        return None
    for key, value in schema.items():
        if key not in _SCHEMA:
            return f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
        if key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                problem = _schema_problem(sub, f"{where}.properties[{name}].value")
                if problem:
                    return problem
        elif key == "items" or key == "anyOf":
            for sub in value if isinstance(value, list) else [value]:
                problem = _schema_problem(sub, f"{where}.{key}")
                if problem:
                    return problem
    if schema.get("type") in ("object", "OBJECT") and "properties" in schema and not schema["properties"]:
        return f"{where}.properties: should be non-empty for OBJECT type"
    return None


def check_generate(body: dict[str, Any], allowed: set[str]) -> str | None:
    """Return what the real API would reject in a ``generateContent`` body, or None."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.'
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for i, content in enumerate(contents):
        if content.get("role") not in ("user", "model"):
            return f"Please use a valid role: user, model. (contents[{i}])"
        if not content.get("parts"):
            return f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
        for part in content["parts"]:
            if sum(1 for key in _PART_DATA if key in part) != 1:
                return f"* GenerateContentRequest.contents[{i}].parts: a part needs exactly one data field"
            response = part.get("functionResponse")
            if response is not None and (not response.get("name") or not isinstance(response.get("response"), dict)):
                return "* functionResponse needs a name and a response object"
            inline = part.get("inlineData")
            if inline is not None and (not inline.get("mimeType") or not inline.get("data")):
                return "* inlineData needs mimeType and data"
    config = body.get("generationConfig") or {}
    unknown = sorted(set(config) - _GENERATION)
    if unknown:
        return (
            f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at 'generation_config': Cannot find field."
        )
    for tool in body.get("tools") or []:
        for declaration in tool.get("functionDeclarations") or []:
            problem = _schema_problem(declaration.get("parameters"), "tools[0].function_declarations.parameters")
            if problem:
                return problem
    return None


# -- answers -------------------------------------------------------------------------------------


def ask_of(body: dict[str, Any]) -> Ask:
    """What a ``generateContent`` request asks for."""
    ask = Ask()
    for content in body.get("contents") or []:
        if content.get("role") == "user":
            parts = content.get("parts") or []
            media = [_describe(p) for p in parts if "inlineData" in p or "fileData" in p]
            ask.user_turn([p["text"] for p in parts if "text" in p], media)
    ask.system = " ".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts") or [])
    ask.tools = [d["name"] for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []]
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json":
        ask.schema = config.get("responseJsonSchema") or config.get("responseSchema")
    ask.thinking = bool((config.get("thinkingConfig") or {}).get("includeThoughts"))
    return ask


def _describe(part: dict[str, Any]) -> str:
    if "inlineData" in part:
        data = part["inlineData"]
        return f"inline {data['mimeType']} {len(base64.b64decode(data['data']))} bytes"
    return f"file {part['fileData'].get('fileUri')}"


def _usage(reply: Answer, sw: Switches, final: bool = True) -> dict[str, Any]:
    thoughts = len(reply.thinking) // 4 if reply.thinking else 0
    meta: dict[str, Any] = {"promptTokenCount": reply.input_tokens}
    if final:
        meta["candidatesTokenCount"] = reply.output_tokens
        if thoughts:
            meta["thoughtsTokenCount"] = thoughts
    if sw.cache_read:
        meta["cachedContentTokenCount"] = sw.cache_read
    meta["totalTokenCount"] = sum(v for k, v in meta.items() if k != "cachedContentTokenCount")
    return meta


def _parts(reply: Answer) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if reply.thinking:
        parts.append({"text": reply.thinking, "thought": True})
    if reply.text:
        parts.append({"text": reply.text})
    parts += [{"functionCall": {"name": name, "args": orjson.loads(args)}} for _, name, args in reply.calls]
    return parts


def generate_response(model: str, body: dict[str, Any], reply: Answer, sw: Switches) -> dict[str, Any]:
    count = (body.get("generationConfig") or {}).get("candidateCount") or 1
    candidates = [
        {"content": {"role": "model", "parts": _parts(reply)}, "finishReason": "STOP", "index": i} for i in range(count)
    ]
    return {
        "candidates": candidates,
        "usageMetadata": _usage(reply, sw),
        "modelVersion": model,
        "responseId": uuid.uuid4().hex[:16],
    }


def stream_events(model: str, reply: Answer, sw: Switches) -> list[dict[str, Any]]:
    rid = uuid.uuid4().hex[:16]
    groups: list[list[dict[str, Any]]] = []
    if reply.thinking:
        groups.append([{"text": reply.thinking, "thought": True}])
    if reply.text:
        groups += [[{"text": piece}] for piece in split(reply.text, sw.chunks)]
    if reply.calls:
        groups.append([{"functionCall": {"name": n, "args": orjson.loads(a)}} for _, n, a in reply.calls])
    events = [
        {
            "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "usageMetadata": _usage(reply, sw, final=False),
            "modelVersion": model,
            "responseId": rid,
        }
        for parts in groups
    ]
    if sw.error_after >= 0:
        return events[: sw.error_after] + [error_body(503, "The model is overloaded. Please try again later.")]
    if not sw.no_done:
        events[-1]["candidates"][0]["finishReason"] = "STOP"
        events[-1]["usageMetadata"] = _usage(reply, sw)
    return events


def _stream_response(sw: Switches, events: list[dict[str, Any]], sse: bool) -> Response:
    encoded = [orjson.dumps(e) for e in events]
    if sse:
        return stream(sw, [b"data: " + e + b"\r\n\r\n" for e in encoded])
    frames = [(b"[" if i == 0 else b",\r\n") + e for i, e in enumerate(encoded)] + [b"]"]
    return stream(sw, frames, content_type="application/json")


def _vector(text: str, size: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128, 4) for i in range(size)]


def _generate(model: str, allowed: set[str]) -> Response:
    sw = switches()
    _, body = json_body()
    problem = check_generate(body, allowed)
    if problem:
        return _fail(400, problem)
    if imagen.wants_image(body) and request.path.endswith(":generateContent"):
        return imagen.gemini_image(model, body, sw, _fail)
    reply = answer(ask_of(body), sw)
    if request.path.endswith(":streamGenerateContent"):
        return _stream_response(sw, stream_events(model, reply, sw), request.args.get("alt") == "sse")
    return json_response(generate_response(model, body, reply, sw))


# -- Gemini API ----------------------------------------------------------------------------------


@bp.post("/v1beta/models/<model>:<method>")
def gemini(model: str, method: str) -> Response:
    sw, body, failure = begin_json(error_body)
    if failure is not None:
        return failure
    if not request.headers.get("x-goog-api-key") and not request.args.get("key"):
        return _fail(
            403, "Method doesn't allow unregistered callers. Please use API Key or other form of API consumer identity."
        )
    if method in ("generateContent", "streamGenerateContent"):
        return _generate(model, _TOP_LEVEL)
    if method == "predict":
        return imagen.predict(model, body, sw, _fail)
    if method == "embedContent":
        text = " ".join(p.get("text", "") for p in (body.get("content") or {}).get("parts") or [])
        if not text:
            return _fail(400, "* EmbedContentRequest.content: contents is not specified")
        return json_response({"embedding": {"values": _vector(text, body.get("outputDimensionality") or 8)}})
    if method == "batchEmbedContents":
        out = []
        for item in body.get("requests") or []:
            if item.get("model") != f"models/{model}":
                return _fail(400, f"Model in request {item.get('model')} does not match models/{model}")
            text = " ".join(p.get("text", "") for p in (item.get("content") or {}).get("parts") or [])
            out.append({"values": _vector(text, item.get("outputDimensionality") or 8)})
        return json_response({"embeddings": out})
    return _fail(404, f"Method {method} not found")


# -- Vertex AI -----------------------------------------------------------------------------------


def _bearer_problem() -> Response | None:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    with _lock:
        known = token in _issued
    if not known:
        return _fail(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.")
    return None


@bp.post("/v1/projects/<project>/locations/<region>/publishers/<publisher>/models/<model>:<method>")
def vertex(project: str, region: str, publisher: str, model: str, method: str) -> Response:
    sw, body, failure = begin_json(error_body)
    failure = failure or _bearer_problem()
    if failure is not None:
        return failure
    if publisher == "google" and method in ("generateContent", "streamGenerateContent"):
        return _generate(model, _TOP_LEVEL | {"labels"})
    if publisher == "google" and method == "predict":
        size = (body.get("parameters") or {}).get("outputDimensionality") or 8
        predictions = [
            {
                "embeddings": {
                    "values": _vector(i.get("content", ""), size),
                    "statistics": {"token_count": max(1, len(i.get("content", "")) // 4), "truncated": False},
                }
            }
            for i in body.get("instances") or []
        ]
        return json_response({"predictions": predictions})
    if publisher == "anthropic" and method in ("rawPredict", "streamRawPredict"):
        return _claude(model, method, body, sw)
    return _fail(404, f"Publisher model {publisher}/{model}:{method} not found")


def _claude(model: str, method: str, body: dict[str, Any], sw: Switches) -> Response:
    if body.get("anthropic_version") != "vertex-2023-10-16":
        return json_response(claude.error_body(400, "anthropic_version: vertex-2023-10-16 is required"), 400)
    for field in ("messages", "max_tokens"):
        if field not in body:
            return json_response(claude.error_body(400, f"{field}: Field required"), 400)
    if "model" in body:
        return json_response(claude.error_body(400, "model: Extra inputs are not permitted"), 400)
    streaming = method == "streamRawPredict"
    if streaming != (body.get("stream") is True):
        return json_response(claude.error_body(400, "stream must be true exactly on streamRawPredict"), 400)
    named = {**body, "model": model}
    reply = answer(claude.ask_of(named), sw, id_prefix="toolu_vrtx_")
    if streaming:
        events = claude.stream_events(named, reply, sw)
        return stream(sw, [b"event: " + name.encode() + b"\ndata: " + data + b"\n\n" for name, data in events])
    return json_response(claude.message(named, reply, sw))


# -- OAuth ---------------------------------------------------------------------------------------


@bp.post("/oauth2/keys")
def register_key() -> Response:
    """Register a test service account's public key (PEM) for ``client_email`` and ``private_key_id``."""
    body = request.get_json(force=True)
    with _lock:
        _public_keys[body["client_email"]] = (body.get("private_key_id"), body["public_key"])
    return json_response({"ok": True})


def _oauth_error(status: int, description: str, error: str = "invalid_grant") -> Response:
    return json_response({"error": error, "error_description": description}, status)


@bp.post("/oauth2/token")
def token() -> Response:
    sw = switches()
    raw = request.get_data()
    failure = begin(
        sw, raw, lambda status: {"error": "internal_failure", "error_description": f"mock failure {status}"}
    )
    if failure is not None:
        return failure
    if request.form.get("grant_type") != GRANT_TYPE:
        return _oauth_error(400, "Invalid grant_type", "unsupported_grant_type")
    assertion = request.form.get("assertion", "")
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        return _oauth_error(400, "Invalid JWT: malformed assertion")
    with _lock:
        registered = _public_keys.get(claims.get("iss", ""))
    if registered is None:
        return _oauth_error(400, "Invalid grant: account not found")
    key_id, public_key = registered
    try:
        jwt.decode(assertion, public_key, algorithms=["RS256"], audience=claims.get("aud"))
    except jwt.PyJWTError:
        return _oauth_error(400, "Invalid JWT Signature.")
    if key_id and header.get("kid") != key_id:
        return _oauth_error(400, "Invalid JWT: kid does not match the account's key")
    if not str(claims.get("aud", "")).endswith("/oauth2/token") or claims.get("scope") != SCOPE:
        return _oauth_error(400, "Invalid JWT: aud or scope")
    if not isinstance(claims.get("iat"), int) or not 0 < claims.get("exp", 0) - claims["iat"] <= 3600:
        return _oauth_error(400, "Invalid JWT: Token must be a short-lived token (60 minutes)")
    issued = f"ya29.mock-{uuid.uuid4().hex}"
    with _lock:
        _issued[issued] = claims["iss"]
    return json_response({"access_token": issued, "expires_in": 3599, "token_type": "Bearer"})


# -- images --------------------------------------------------------------------------------------


@bp.get("/images/<name>.png")
def image(name: str) -> Response:
    record(switches(), b"")
    return Response(PNG, content_type="image/png")
