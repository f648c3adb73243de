"""Azure OpenAI wire format: deployment and ``v1`` routes, plus Entra ID and managed-identity token routes.

Deployment routes (``/openai/deployments/<dep>/chat/completions|completions|embeddings``) need
the ``api-version`` query; ``/openai/v1/...`` routes need a body ``model``. Both need an
``api-key`` header or ``Authorization: Bearer <token>`` with a token this mock issued. Bodies
and streams are OpenAI's (``openai_wire``); errors use Azure's ``{"error": {"code", "message"}}``.
Token routes: ``POST /<tenant>/oauth2/v2.0/token`` (client credentials; the secret
``bad-secret`` is refused) and ``GET /metadata/identity/oauth2/token`` (needs ``Metadata: true``).
Point ``GATEWAY_AZURE_AUTHORITY_HOST`` / ``GATEWAY_AZURE_IMDS_ENDPOINT`` at them (a ``/s/id=X``
prefix records the token requests under ``X``).

Non-chat endpoints, each under ``/openai/...`` (``api-version`` required) and ``/openai/v1/...``:
deployment routes ``images/generations`` (JSON), ``images/edits`` (multipart ``image`` +
``prompt``), ``audio/speech`` (binary audio, streamed), ``audio/transcriptions|translations``
(multipart ``file``; WAV files are parsed; JSON or text per ``response_format``); resource routes
``files`` (multipart upload spooled to disk and copied in blocks; list, retrieve, delete, content
streamed from disk), ``batches`` and ``fine_tuning/jobs`` (create, list with ``limit``/``after``,
retrieve, cancel; job events; a batch with ``metadata.mock == "complete"`` completes at once, with
an output file of chat completions). Multipart requests are recorded as a JSON summary
``{"content_type", "fields", "files": [{"name", "filename", "content_type", "size", "sha256"}]}``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from flask import Blueprint, Response, request

from tests.mockprovider import openai_wire
from tests.mockprovider.common import (
    begin,
    begin_json,
    data_events,
    json_body,
    json_response,
    record,
    sse_stream,
    stream,
    switches,
)

bp = Blueprint("mock_azure", __name__)

_lock = threading.Lock()
_counter = itertools.count(1)
ISSUED: set[str] = set()
DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an "
    "active subscription and use a correct regional API endpoint for your resource."
)


def error_body(status: int, message: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code or str(status), "message": message or f"mock failure {status}"}}


def _issue(prefix: str) -> str:
    token = f"{prefix}-{next(_counter)}"
    with _lock:
        ISSUED.add(token)
    return token


def _auth_problem() -> Response | None:
    if request.headers.get("api-key"):
        return None
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        with _lock:
            known = auth[7:] in ISSUED
        if known:
            return None
        return _bad("Bearer token is invalid or expired", 401, "PermissionDenied")
    return _bad(DENIED, 401, "401")


def _answer(kind: str, body: dict[str, Any]) -> Response:
    sw = switches()
    if kind == "embeddings":
        return json_response(openai_wire.embeddings(body), headers={"apim-request-id": "mock-apim"})
    if kind == "completions":
        if body.get("stream") is True:
            return sse_stream(sw, data_events(openai_wire.completion_stream(body, sw)))
        return json_response(openai_wire.completion(body, sw))
    if body.get("stream") is True:
        return sse_stream(sw, data_events(openai_wire.chat_stream(body, sw)))
    return json_response(openai_wire.chat_completion(body, sw), headers={"apim-request-id": "mock-apim"})


_KINDS = {"chat/completions": "chat", "completions": "completions", "embeddings": "embeddings"}


@bp.post("/openai/deployments/<deployment>/<path:rest>")
def deployment_call(deployment: str, rest: str) -> Response:
    _, body, failure = begin_json(error_body)
    if failure is not None:
        return failure
    if rest not in _KINDS or not request.args.get("api-version"):
        return _bad("Resource not found", 404, "404")
    problem = _auth_problem()
    if problem is not None:
        return problem
    return _answer(_KINDS[rest], body)


@bp.post("/openai/v1/<path:rest>")
def v1_call(rest: str) -> Response:
    _, body, failure = begin_json(error_body)
    if failure is not None:
        return failure
    if rest not in _KINDS:
        return _bad("Resource not found", 404, "404")
    problem = _auth_problem()
    if problem is not None:
        return problem
    if not body.get("model"):
        return _bad("model is required", code="BadRequest")
    return _answer(_KINDS[rest], body)


def _token_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


@bp.post("/<tenant>/oauth2/v2.0/token")
def entra_token(tenant: str) -> Response:
    sw = switches()
    record(sw, request.get_data())
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return _token_error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type")
    if not form.get("client_id") or not form.get("scope"):
        return _token_error(400, "invalid_request", "AADSTS900144: client_id and scope are required")
    if form.get("client_secret") in (None, "", "bad-secret"):
        return _token_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    token = _issue(f"entra-{tenant}")
    return json_response({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})


@bp.get("/metadata/identity/oauth2/token")
def managed_token() -> Response:
    sw = switches()
    record(sw, b"")
    if request.headers.get("Metadata") != "true":
        return _token_error(400, "invalid_request", "Required metadata header not specified")
    if not request.args.get("api-version") or not request.args.get("resource"):
        return _token_error(400, "invalid_request", "api-version and resource are required")
    token = _issue("managed")
    expires_on = str(int(time.time()) + 86399)
    return json_response(
        {
            "access_token": token,
            "expires_in": "86399",
            "expires_on": expires_on,
            "resource": request.args["resource"],
            "token_type": "Bearer",
            "client_id": request.args.get("client_id", "system-assigned"),
        }
    )


# --- Non-chat endpoints: images, audio, files, batches, fine-tuning ------------------------------

BLOCK = 64 * 1024
FILE_PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}
BATCH_ENDPOINTS = {"/chat/completions", "/v1/chat/completions", "/embeddings", "/v1/embeddings", "/v1/responses"}
FILES: dict[str, dict[str, Any]] = {}
BATCHES: dict[str, dict[str, Any]] = {}
JOBS: dict[str, dict[str, Any]] = {}
_DISK: dict[str, str] = {}
BATCH_NULLS = ("errors", "output_file_id", "error_file_id", "in_progress_at", "finalizing_at", "completed_at")
BATCH_NULLS += ("failed_at", "expired_at", "cancelling_at", "cancelled_at")
JOB_NULLS = ("error", "fine_tuned_model", "finished_at", "trained_tokens", "estimated_finish", "integrations")
DEFAULT_HYPERPARAMETERS = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def _routes(rule: str, methods: list[str], deployment: bool = False) -> Callable[[Callable], Callable]:
    """Register ``view`` under ``/openai/deployments/<deployment>`` (or ``/openai``) and ``/openai/v1``."""

    def wrap(view: Callable) -> Callable:
        bp.route(("/openai/deployments/<deployment>" if deployment else "/openai") + rule, methods=methods)(view)
        return bp.route("/openai/v1" + rule, methods=methods)(view)

    return wrap


def _v1() -> bool:
    return request.path.startswith("/openai/v1/")


def _bad(message: str, status: int = 400, code: str = "invalidPayload") -> Response:
    return json_response(error_body(status, message, code), status)


def _gate(raw: bytes, size: int | None = None) -> Response | None:
    """Record the call, apply scripted failures, then check ``api-version`` and auth."""
    failure = begin(switches(), raw, error_body, size=size)
    if failure is not None:
        return failure
    if not _v1() and not request.args.get("api-version"):
        return _bad("Resource not found", 404, "404")
    return _auth_problem()


def _summarise(storage: Any) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    while block := storage.stream.read(BLOCK):
        digest.update(block)
        size += len(block)
    storage.stream.seek(0)
    return {"filename": storage.filename, "content_type": storage.mimetype, "size": size, "sha256": digest.hexdigest()}


def _form() -> tuple[dict[str, Any], dict[str, Any], Response | None]:
    """Parse a multipart call (file parts spooled by Werkzeug, read in blocks), record and gate it."""
    if request.mimetype != "multipart/form-data":
        record(switches(), request.stream.read(4096))
        return {}, {}, _bad(f"Invalid content type {request.mimetype!r}: multipart/form-data is required")
    fields = {k: (v[0] if len(v) == 1 else v) for k, v in request.form.lists()}
    files = {name: {"name": name, **_summarise(storage)} for name, storage in request.files.items(multi=True)}
    summary = {"content_type": request.mimetype, "fields": fields, "files": list(files.values())}
    return fields, files, _gate(orjson.dumps(summary), size=request.content_length)


def _needs_model(fields: dict[str, Any]) -> Response | None:
    return _bad("model is required", code="BadRequest") if _v1() and not fields.get("model") else None


def _image_data(n: int, fmt: str | None, prompt: str) -> list[dict[str, Any]]:
    if fmt == "url":
        return [
            {"url": f"https://mock.blob.core.windows.net/images/img-{i}.png", "revised_prompt": prompt}
            for i in range(n)
        ]
    return [{"b64_json": PNG_1PX, "revised_prompt": prompt} for _ in range(n)]


@_routes("/images/generations", ["POST"], deployment=True)
def image_generations(deployment: str | None = None) -> Response:
    raw, body = json_body()
    problem = _gate(raw) or _needs_model(body)
    if problem is not None:
        return problem
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return _bad("'prompt' is a required property")
    data = _image_data(int(body.get("n") or 1), body.get("response_format", "url"), body["prompt"])
    return json_response({"created": int(time.time()), "data": data}, headers={"apim-request-id": "mock-apim"})


@_routes("/images/edits", ["POST"], deployment=True)
def image_edits(deployment: str | None = None) -> Response:
    fields, files, problem = _form()
    problem = problem or _needs_model(fields)
    if problem is not None:
        return problem
    if "image" not in files and "image[]" not in files:
        return _bad("'image' is a required file part")
    if not fields.get("prompt"):
        return _bad("'prompt' is a required property")
    data = _image_data(int(fields.get("n") or 1), fields.get("response_format", "b64_json"), fields["prompt"])
    return json_response({"created": int(time.time()), "data": data})


AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def speech_bytes(chunks: int) -> list[bytes]:
    """The mock's audio for ``chunks`` chunks: ``ID3`` then 1 KiB of byte ``i`` per chunk ``i``."""
    return [(b"ID3" if i == 0 else b"") + bytes([i % 256]) * 1024 for i in range(chunks)]


@_routes("/audio/speech", ["POST"], deployment=True)
def speech(deployment: str | None = None) -> Response:
    raw, body = json_body()
    problem = _gate(raw) or _needs_model(body)
    if problem is not None:
        return problem
    if not body.get("input") or not body.get("voice"):
        return _bad("'input' and 'voice' are required properties")
    fmt = body.get("response_format", "mp3")
    if fmt not in AUDIO_TYPES:
        return _bad(f"Invalid response_format {fmt!r}")
    sw = switches()
    return stream(sw, speech_bytes(sw.chunks), content_type=AUDIO_TYPES[fmt])


def _duration(storage: Any) -> float | None:
    """Seconds of audio in a WAV file (``None`` for other formats); ``ValueError`` for a broken WAV."""
    head = storage.stream.read(12)
    storage.stream.seek(0)
    if not (head.startswith(b"RIFF") and head[8:12] == b"WAVE"):
        return None
    try:
        with wave.open(storage.stream, "rb") as wav:
            seconds = wav.getnframes() / float(wav.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError) as exc:
        raise ValueError(str(exc)) from None
    finally:
        storage.stream.seek(0)
    return seconds


@_routes("/audio/<any(transcriptions, translations):task>", ["POST"], deployment=True)
def audio_text(task: str, deployment: str | None = None) -> Response:
    fields, files, problem = _form()
    problem = problem or _needs_model(fields)
    if problem is not None:
        return problem
    if "file" not in files or not files["file"]["size"]:
        return _bad("'file' is a required, non-empty file part")
    try:
        seconds = _duration(request.files["file"])
    except ValueError as exc:
        return _bad(f"Invalid file format: {exc}")
    verb = "transcription" if task == "transcriptions" else "translation"
    heard = f"{seconds:.2f}s" if seconds is not None else f"{files['file']['size']} bytes"
    text = switches().text or f"mock {verb} of {heard} of audio"
    fmt = fields.get("response_format", "json")
    end = seconds or 0.0
    if fmt == "text":
        return Response(text + "\n", content_type="text/plain; charset=utf-8")
    if fmt in ("srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        span = f"{openai_wire.subtitle_time(0, sep)} --> {openai_wire.subtitle_time(end, sep)}"
        out = f"1\n{span}\n{text}\n" if fmt == "srt" else f"WEBVTT\n\n{span}\n{text}\n"
        return Response(out, content_type="text/plain; charset=utf-8")
    if fmt == "verbose_json":
        segment = {"id": 0, "seek": 0, "start": 0.0, "end": end, "text": text, "tokens": [], "temperature": 0.0}
        task_name = "transcribe" if task == "transcriptions" else "translate"
        language = fields.get("language", "english") if task == "transcriptions" else "english"
        out = {"task": task_name, "language": language, "duration": end, "text": text, "segments": [segment]}
        return json_response(out)
    if fmt != "json":
        return _bad(f"Invalid response_format {fmt!r}")
    return json_response({"text": text})


def _new_id(prefix: str) -> str:
    return f"{prefix}{next(_counter):06d}"


def _page(store: dict[str, dict[str, Any]], keep: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict:
    """A list page, newest first, honouring ``limit`` and ``after``."""
    with _lock:
        items = [item for item in reversed(store.values()) if keep(item)]
    return openai_wire.list_page(items, request.args)


def _find(store: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any] | Response:
    with _lock:
        item = store.get(key)
    return item if item is not None else _bad(f"{what} {key!r} not found", 404, "NotFound")


def _keep(store: dict[str, dict[str, Any]], item: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        store[item["id"]] = item
    return item


def _retrieve(store: dict[str, dict[str, Any]], key: str, what: str) -> Response:
    found = _gate(b"") or _find(store, key, what)
    return found if isinstance(found, Response) else json_response(found)


def _cancel(store: dict[str, dict[str, Any]], key: str, what: str, status: str, stamp: str) -> Response:
    """Move ``key`` to ``status`` and set its ``stamp`` field to now."""
    found = _gate(request.get_data()) or _find(store, key, what)
    if isinstance(found, Response):
        return found
    with _lock:
        found.update({"status": status, stamp: int(time.time())})
    return json_response(found)


@_routes("/files", ["POST"])
def upload_file() -> Response:
    fields, files, problem = _form()
    if problem is not None:
        return problem
    if fields.get("purpose") not in FILE_PURPOSES:
        return _bad(f"Invalid purpose {fields.get('purpose')!r}; expected one of {sorted(FILE_PURPOSES)}")
    if "file" not in files:
        return _bad("'file' is a required file part")
    source = request.files["file"].stream
    meta = _store(files["file"]["filename"], fields["purpose"], iter(lambda: source.read(BLOCK), b""))
    return json_response(meta, 201)


def _store(filename: str, purpose: str, blocks: Iterator[bytes]) -> dict[str, Any]:
    """Keep a file on disk (written block by block) and return its file object."""
    file_id = _new_id("file-")
    fd, path = tempfile.mkstemp(prefix="mock-azure-file-")
    size = 0
    with os.fdopen(fd, "wb") as out:
        for block in blocks:
            out.write(block)
            size += len(block)
    meta = {"id": file_id, "object": "file", "bytes": size, "created_at": int(time.time()), "filename": filename}
    meta.update(purpose=purpose, status="processed", status_details=None)
    with _lock:
        FILES[file_id] = meta
        _DISK[file_id] = path
    return meta


def _run_batch(batch: dict[str, Any]) -> None:
    """Complete ``batch`` at once: one chat completion per input line, in an output file."""

    counts = batch["request_counts"]

    def lines() -> Iterator[bytes]:
        with open(_DISK[batch["input_file_id"]], "rb") as source:
            for n, line in enumerate(source):
                counts["total"] = counts["completed"] = n + 1
                request_line = orjson.loads(line)
                reply = openai_wire.chat_completion(request_line.get("body") or {}, switches())
                response = {"status_code": 200, "request_id": f"req-{n}", "body": reply}
                out = {"id": f"batch_req_{n}", "custom_id": request_line.get("custom_id"), "response": response}
                yield orjson.dumps({**out, "error": None}) + b"\n"

    output = _store(f"{batch['id']}_output.jsonl", "batch_output", lines())
    batch.update(status="completed", completed_at=int(time.time()), output_file_id=output["id"])


@_routes("/files", ["GET"])
def list_files() -> Response:
    problem = _gate(b"")
    purpose = request.args.get("purpose")
    return problem or json_response(_page(FILES, lambda f: not purpose or f["purpose"] == purpose))


@_routes("/files/<file_id>", ["GET", "DELETE"])
def one_file(file_id: str) -> Response:
    problem = _gate(b"")
    found = problem or _find(FILES, file_id, "File")
    if isinstance(found, Response):
        return found
    if request.method == "GET":
        return json_response(found)
    with _lock:
        FILES.pop(file_id, None)
        path = _DISK.pop(file_id, None)
    if path:
        os.unlink(path)
    return json_response({"id": file_id, "object": "file", "deleted": True})


@_routes("/files/<file_id>/content", ["GET"])
def file_content(file_id: str) -> Response:
    problem = _gate(b"")
    found = problem or _find(FILES, file_id, "File")
    if isinstance(found, Response):
        return found
    path = _DISK[file_id]

    def blocks() -> Iterator[bytes]:
        with open(path, "rb") as source:
            while block := source.read(BLOCK):
                yield block

    headers = {"content-length": str(found["bytes"])}
    return Response(blocks(), content_type="application/octet-stream", headers=headers)


@_routes("/batches", ["POST"])
def create_batch() -> Response:
    raw, body = json_body()
    problem = _gate(raw)
    if problem is not None:
        return problem
    if body.get("endpoint") not in BATCH_ENDPOINTS or body.get("completion_window") != "24h":
        return _bad(f"endpoint must be one of {sorted(BATCH_ENDPOINTS)} and completion_window '24h'")
    found = _find(FILES, str(body.get("input_file_id")), "File")
    if isinstance(found, Response):
        return found
    now = int(time.time())
    batch = {
        **dict.fromkeys(BATCH_NULLS),
        **{"id": _new_id("batch_"), "object": "batch", "endpoint": body["endpoint"], "status": "validating"},
        **{"input_file_id": found["id"], "completion_window": "24h", "created_at": now, "expires_at": now + 86400},
        **{"request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": body.get("metadata")},
    }
    if (body.get("metadata") or {}).get("mock") == "complete":
        _run_batch(batch)
    return json_response(_keep(BATCHES, batch))


@_routes("/batches", ["GET"])
def list_batches() -> Response:
    return _gate(b"") or json_response(_page(BATCHES))


@_routes("/batches/<batch_id>", ["GET"])
def retrieve_batch(batch_id: str) -> Response:
    return _retrieve(BATCHES, batch_id, "Batch")


@_routes("/batches/<batch_id>/cancel", ["POST"])
def cancel_batch(batch_id: str) -> Response:
    return _cancel(BATCHES, batch_id, "Batch", "cancelling", "cancelling_at")


@_routes("/fine_tuning/jobs", ["POST"])
def create_job() -> Response:
    raw, body = json_body()
    problem = _gate(raw)
    if problem is not None:
        return problem
    if not body.get("model") or not body.get("training_file"):
        return _bad("'model' and 'training_file' are required properties")
    found = _find(FILES, str(body["training_file"]), "File")
    if isinstance(found, Response):
        return found
    job = {
        **dict.fromkeys(JOB_NULLS),
        **{"id": _new_id("ftjob-"), "object": "fine_tuning.job", "created_at": int(time.time()), "status": "pending"},
        **{"model": body["model"], "training_file": found["id"], "organization_id": "org-mock", "result_files": []},
        **{"hyperparameters": body.get("hyperparameters") or DEFAULT_HYPERPARAMETERS, "seed": body.get("seed", 42)},
        **{"validation_file": body.get("validation_file"), "suffix": body.get("suffix")},
    }
    return json_response(_keep(JOBS, job))


@_routes("/fine_tuning/jobs", ["GET"])
def list_jobs() -> Response:
    return _gate(b"") or json_response(_page(JOBS))


@_routes("/fine_tuning/jobs/<job_id>", ["GET"])
def retrieve_job(job_id: str) -> Response:
    return _retrieve(JOBS, job_id, "Fine-tuning job")


@_routes("/fine_tuning/jobs/<job_id>/events", ["GET"])
def job_events(job_id: str) -> Response:
    found = _gate(b"") or _find(JOBS, job_id, "Fine-tuning job")
    if isinstance(found, Response):
        return found
    event = {"object": "fine_tuning.job.event", "id": "ftevent-" + job_id, "created_at": found["created_at"]}
    event.update(level="info", message=f"Job {found['status']}", type="message", data={})
    return json_response({"object": "list", "data": [event], "has_more": False})


@_routes("/fine_tuning/jobs/<job_id>/cancel", ["POST"])
def cancel_job(job_id: str) -> Response:
    return _cancel(JOBS, job_id, "Fine-tuning job", "cancelled", "finished_at")


# -- Responses API (Azure serves it natively) --------------------------------------------------------

RESPONSES: dict[str, dict[str, Any]] = {}


@_routes("/responses", ["POST"])
def create_response() -> Response:
    raw = request.get_data()
    gated = _gate(raw)
    if gated is not None:
        return gated
    body = orjson.loads(raw or b"{}")
    text = f"azure: {body.get('input') if isinstance(body.get('input'), str) else 'items'}"
    answer = {
        "id": _new_id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": body.get("model", ""),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "output": [openai_wire.output_message(_new_id("msg"), text)],
    }
    _keep(RESPONSES, answer)
    if body.get("stream") is not True:
        return json_response(answer)
    return sse_stream(switches(), openai_wire.response_events(answer))


@_routes("/responses/<response_id>", ["GET", "DELETE"])
def one_response(response_id: str) -> Response:
    found = _gate(b"") or _find(RESPONSES, response_id, "Response")
    if isinstance(found, Response):
        return found
    if request.method == "DELETE":
        with _lock:
            RESPONSES.pop(response_id, None)
        return json_response({"id": response_id, "object": "response", "deleted": True})
    return json_response(found)
