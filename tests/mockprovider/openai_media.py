"""OpenAI's non-chat endpoints: images, audio, files, batches, fine-tuning jobs and moderations.

Every route needs ``Authorization: Bearer <key>`` (401 in OpenAI's shape otherwise) and
answers in the shapes the official SDK parses. Multipart uploads are parsed with Werkzeug into
a sink that counts and hashes each file part in blocks (memory stays flat for any size) and
keeps files up to 1 MiB; a call is recorded *after* its whole body was read, with the first
file's size and sha256 and, as its body, the summary
``{"content_type", "fields", "files": [{"name", "filename", "content_type", "size", "sha256"}]}``,
so a retried upload shows the same digest twice. Scripted failures (``status``, ``fail_times``)
apply after recording.

- ``images/generations`` (JSON), ``images/edits`` (``image`` or ``image[]`` PNG/JPEG/WebP +
  ``prompt``), ``images/variations`` (PNG ``image``).
- ``audio/speech``: binary audio in ``chunks`` pieces of 4 KiB, ``chunk_delay_ms`` apart;
  ``x-mock-sha256`` carries the digest of the whole body.
- ``audio/transcriptions|translations``: ``file`` must be a RIFF/WAVE file; its duration is
  echoed in the text (``json``, ``text``, ``verbose_json``, ``srt``, ``vtt``, or SSE with
  ``stream=true``).
- ``files``: upload, list (``purpose``, ``limit``), retrieve, delete, content (streamed with a
  ``Content-Length``; kept uploads are returned as sent, others as a repeating 64 KiB pattern
  of the recorded size; ``file-bytes-<N>`` is a pattern file of N bytes; ``cut_after`` cuts it).
- ``batches``: create (``input_file_id`` must exist), list, retrieve (a new batch completes on
  its first retrieve, with an output file answering each input line), cancel.
- ``fine_tuning/jobs``: create, list, retrieve, cancel, events, checkpoints.
- ``moderations``: text or multimodal input; text mentioning violence is flagged.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import struct
import time
from collections.abc import Iterator
from typing import Any

import orjson
from flask import Blueprint, Response, request
from werkzeug.formparser import FormDataParser

from tests.mockprovider import openai_wire
from tests.mockprovider.common import begin, begin_json, json_response, record, sse_stream, stream, switches

bp = Blueprint("mock_openai_media", __name__)

KEEP = 1024 * 1024
PATTERN = bytes(range(256)) * 256
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
IMAGE_MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg", b"RIFF": "webp"}
SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
                "wav": "audio/wav", "pcm": "audio/pcm"}  # fmt: skip
CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
              "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
              "violence/graphic")  # fmt: skip
VIOLENT = ("kill", "attack", "hurt")

_ids = itertools.count(1)
FILES: dict[str, dict[str, Any]] = {}
CONTENT: dict[str, bytes] = {}
BATCHES: dict[str, dict[str, Any]] = {}
JOBS: dict[str, dict[str, Any]] = {}


def _new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}{int(time.time() * 1000) % 100000:05d}"


def error(status: int, message: str, param: str | None = None, code: str | None = None) -> Response:
    kind = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}.get(status)
    body = {"error": {"message": message, "type": kind or "invalid_request_error", "param": param, "code": code}}
    return json_response(body, status)


def _unauthorised() -> Response | None:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return error(401, "You didn't provide an API key. You need to provide your API key in an Authorization header "
                     "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")  # fmt: skip
    return None


def _missing(name: str) -> Response:
    return error(400, f"Missing required parameter: '{name}'.", name, "missing_required_parameter")


def _gate(raw: bytes = b"", size: int | None = None, digest: str | None = None) -> Response | None:
    """Record the call, apply the delay and scripted failures, then check auth."""
    failure = begin(switches(), raw, size=size, digest=digest)
    return failure if failure is not None else _unauthorised()


def _json_call(*required: str) -> tuple[dict[str, Any], Response | None]:
    """Read and gate a JSON call, then check that its ``required`` parameters are there."""
    _, body, early = begin_json()
    if early is None:
        early = _unauthorised() or next((_missing(name) for name in required if not body.get(name)), None)
    return body, early


def _public(record_: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record_.items() if not k.startswith("_")}


def _list(store: dict[str, dict[str, Any]], keep: Any = lambda item: True) -> Response:
    """Gate the call, then answer one page of the list, newest first, honouring ``limit`` and ``after``."""
    if (early := _gate()) is not None:
        return early
    sid = switches().id
    items = [_public(r) for r in reversed(store.values()) if r["_sid"] == sid and keep(r)]
    return json_response(openai_wire.list_page(items, request.args))


# -- multipart --------------------------------------------------------------------------------------


class Sink:
    """Where Werkzeug writes one file part: counted and hashed as it arrives; the first ``KEEP`` bytes kept."""

    def __init__(self, *_: Any, **__: Any) -> None:
        self.size = 0
        self.hash = hashlib.sha256()
        self.kept = bytearray()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self.hash.update(data)
        if len(self.kept) < KEEP:
            self.kept += data[: KEEP - len(self.kept)]
        return len(data)

    def seek(self, *_: Any) -> int:
        return 0

    def tell(self) -> int:
        return self.size

    @property
    def content(self) -> bytes | None:
        """The whole file when it was small enough to keep."""
        return bytes(self.kept) if self.size <= KEEP else None


def read_form() -> tuple[dict[str, Any], list[dict[str, Any]], Response | None]:
    """Parse and record a multipart call; return its fields, file summaries and any early answer."""
    sw = switches()
    if request.mimetype != "multipart/form-data":
        record(sw, request.get_data()[:4096])
        return {}, [], error(400, f"Invalid content type {request.mimetype!r}: expected multipart/form-data")
    parser = FormDataParser(stream_factory=Sink, max_form_memory_size=None, silent=False)
    try:
        _, form, parts = parser.parse_from_environ(request.environ)
    except ValueError as exc:
        record(sw, b"")
        return {}, [], error(400, f"Could not parse multipart form: {exc}")
    fields = {k: (v[0] if len(v) == 1 else v) for k, v in form.lists()}
    files = []
    for name, storage in parts.items(multi=True):
        sink: Sink = storage.stream
        files.append({"name": name, "filename": storage.filename, "content_type": storage.mimetype,
                      "size": sink.size, "sha256": sink.hash.hexdigest(), "_sink": sink})  # fmt: skip
    summary = {"content_type": request.mimetype, "fields": fields, "files": [_public(f) for f in files]}
    first = files[0] if files else {"size": 0, "sha256": hashlib.sha256().hexdigest()}
    return fields, files, _gate(orjson.dumps(summary), size=first["size"], digest=first["sha256"])


def _file(files: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((f for f in files if f["name"] in (name, f"{name}[]")), None)


# -- images -----------------------------------------------------------------------------------------


def images(n: int, prompt: str, model: str, response_format: str | None) -> Response:
    b64 = response_format == "b64_json" or (response_format is None and model.startswith("gpt-image"))
    item = {"b64_json": PNG_1PX} if b64 else {"url": "https://mock.openai.test/images/img.png"}
    data = [{**item, "revised_prompt": prompt} for _ in range(n)]
    out: dict[str, Any] = {"created": int(time.time()), "data": data}
    if model.startswith("gpt-image"):
        out["usage"] = {"input_tokens": 10, "output_tokens": 100 * n, "total_tokens": 10 + 100 * n,
                        "input_tokens_details": {"text_tokens": 10, "image_tokens": 0}}  # fmt: skip
    return json_response(out)


@bp.post("/v1/images/generations")
def image_generations() -> Response:
    body, early = _json_call("prompt")
    if early is not None:
        return early
    return images(int(body.get("n") or 1), body["prompt"], body.get("model") or "dall-e-2", body.get("response_format"))


@bp.post("/v1/images/edits")
@bp.post("/v1/images/variations")
def image_edits() -> Response:
    fields, files, early = read_form()
    if early is not None:
        return early
    edit = request.path.endswith("/edits")
    image = _file(files, "image")
    if image is None:
        return _missing("image")
    head = bytes(image["_sink"].kept[:4])
    kind = next((k for magic, k in IMAGE_MAGIC.items() if head.startswith(magic)), None)
    if kind is None or (not edit and kind != "png"):
        return error(400, "Invalid image file or mode for image 1, please check your image file.", "image",
                     "invalid_image_format")  # fmt: skip
    if edit and not fields.get("prompt"):
        return _missing("prompt")
    prompt = fields.get("prompt") or f"variation of {image['filename']}"
    return images(int(fields.get("n") or 1), prompt, fields.get("model") or "dall-e-2", fields.get("response_format"))


# -- audio ------------------------------------------------------------------------------------------


@bp.post("/v1/audio/speech")
def speech() -> Response:
    sw = switches()
    body, early = _json_call("model", "input", "voice")
    if early is not None:
        return early
    fmt = body.get("response_format") or "mp3"
    seed = f"{body['model']}|{body['voice']}|{body['input']}"
    frames = [hashlib.sha256(f"{seed}|{i}".encode()).digest() * 128 for i in range(sw.chunks)]
    response = stream(sw, frames, content_type=SPEECH_TYPES.get(fmt, "audio/mpeg"))
    response.headers["x-mock-sha256"] = hashlib.sha256(b"".join(frames)).hexdigest()
    return response


def wav_duration(head: bytes) -> float | None:
    """Seconds of audio in a RIFF/WAVE file, from its ``fmt `` byte rate and ``data`` size (None if not WAVE)."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if chunk == b"fmt " and pos + 20 <= len(head):
            byte_rate = struct.unpack("<I", head[pos + 16 : pos + 20])[0]
        elif chunk == b"data":
            return size / byte_rate if byte_rate else None
        pos += 8 + size + (size & 1)
    return None


@bp.post("/v1/audio/transcriptions")
@bp.post("/v1/audio/translations")
def transcription() -> Response:
    sw = switches()
    fields, files, early = read_form()
    if early is not None:
        return early
    audio = _file(files, "file")
    if audio is None:
        return _missing("file")
    if not fields.get("model"):
        return _missing("model")
    duration = wav_duration(bytes(audio["_sink"].kept[:4096]))
    if duration is None:
        return error(400, "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', "
                     "'oga', 'ogg', 'wav', 'webm']", "file", "invalid_value")  # fmt: skip
    task = "translate" if request.path.endswith("/translations") else "transcribe"
    text = f"{task} {audio['filename']} with {fields['model']}: {duration:.2f} seconds"
    fmt = fields.get("response_format") or "json"
    usage = {"type": "duration", "seconds": math.ceil(duration)}
    if fields.get("stream") == "true" and task == "transcribe":
        words = text.split(" ")
        events = [{"type": "transcript.text.delta", "delta": w + (" " if i < len(words) - 1 else "")}
                  for i, w in enumerate(words)]  # fmt: skip
        events.append({"type": "transcript.text.done", "text": text, "usage": usage})
        return sse_stream(sw, [(None, orjson.dumps(e)) for e in events])
    if fmt in ("text", "srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        cue = f"{openai_wire.subtitle_time(0, sep)} --> {openai_wire.subtitle_time(duration, sep)}"
        out = {"text": text, "srt": f"1\n{cue}\n{text}\n\n", "vtt": f"WEBVTT\n\n{cue}\n{text}\n\n"}[fmt]
        return Response(out, content_type="text/plain; charset=utf-8")
    if fmt != "verbose_json":
        return json_response({"text": text, "usage": usage})
    segment = {"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": text, "tokens": [50364, 2425],
               "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.1, "no_speech_prob": 0.01}  # fmt: skip
    out = {"task": task, "language": "english", "duration": duration, "text": text, "segments": [segment],
           "usage": usage}  # fmt: skip
    if "word" in (fields.get("timestamp_granularities[]") or []):
        out["words"] = [{"word": w, "start": 0.0, "end": duration} for w in text.split(" ")]
    return json_response(out)


# -- files ------------------------------------------------------------------------------------------

PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}


def _new_file(sid: str, filename: str, purpose: str, size: int, digest: str, content: bytes | None) -> dict:
    file_id = _new_id("file-")
    now = int(time.time())
    FILES[file_id] = {"id": file_id, "object": "file", "bytes": size, "created_at": now, "expires_at": None,
                      "filename": filename, "purpose": purpose, "status": "processed", "status_details": None,
                      "_sid": sid, "_sha256": digest}  # fmt: skip
    if content is not None:
        CONTENT[file_id] = content
    return FILES[file_id]


@bp.post("/v1/files")
def upload_file() -> Response:
    sw = switches()
    fields, files, early = read_form()
    if early is not None:
        return early
    upload = _file(files, "file")
    if upload is None:
        return _missing("file")
    purpose = fields.get("purpose")
    if purpose not in PURPOSES:
        return error(400, f"'{purpose}' is not one of {sorted(PURPOSES)} - 'purpose'", "purpose", "invalid_value")
    sink: Sink = upload["_sink"]
    created = _new_file(sw.id, upload["filename"], purpose, sink.size, upload["sha256"], sink.content)
    return json_response(_public(created))


def _known(store: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any] | Response:
    if key.startswith("file-bytes-") and store is FILES:
        size = int(key.removeprefix("file-bytes-"))
        return {"id": key, "object": "file", "bytes": size, "created_at": 0, "expires_at": None, "filename": "x.bin",
                "purpose": "user_data", "status": "processed", "status_details": None}  # fmt: skip
    found = store.get(key)
    if found is None:
        return error(404, f"No such {what}: {key}", "id")
    return found


@bp.get("/v1/files")
def list_files() -> Response:
    purpose = request.args.get("purpose")
    return _list(FILES, lambda r: purpose in (None, r["purpose"]))


@bp.route("/v1/files/<file_id>", methods=["GET", "DELETE"])
def one_file(file_id: str) -> Response:
    found = _gate() or _known(FILES, file_id, "File")
    if isinstance(found, Response):
        return found
    if request.method == "DELETE":
        FILES.pop(file_id, None)
        CONTENT.pop(file_id, None)
        return json_response({"id": file_id, "object": "file", "deleted": True})
    return json_response(_public(found))


def pattern(size: int) -> Iterator[bytes]:
    """``size`` bytes of the repeating 64 KiB pattern, in 64 KiB blocks."""
    left = size
    while left > 0:
        block = PATTERN if left >= len(PATTERN) else PATTERN[:left]
        left -= len(block)
        yield block


@bp.get("/v1/files/<file_id>/content")
def file_content(file_id: str) -> Response:
    sw = switches()
    found = _gate() or _known(FILES, file_id, "File")
    if isinstance(found, Response):
        return found
    kept = CONTENT.get(file_id)
    size = len(kept) if kept is not None else found["bytes"]
    blocks = [kept[i : i + len(PATTERN)] for i in range(0, size, len(PATTERN))] if kept is not None else pattern(size)
    response = stream(sw, blocks, content_type="application/octet-stream")
    response.headers["Content-Length"] = str(size)
    return response


# -- batches ----------------------------------------------------------------------------------------


def _output_lines(batch: dict[str, Any]) -> bytes:
    lines = (CONTENT.get(batch["input_file_id"]) or b'{"custom_id": "request-1"}').splitlines()
    out = []
    for i, line in enumerate(filter(None, lines)):
        custom_id = orjson.loads(line).get("custom_id")
        choice = {"index": 0, "message": {"role": "assistant", "content": f"answer {i}"}, "finish_reason": "stop"}
        body = {"id": f"chatcmpl-b{i}", "object": "chat.completion", "choices": [choice]}
        response = {"status_code": 200, "request_id": f"req_{i}", "body": body}
        out.append(orjson.dumps({"id": f"batch_req_{i}", "custom_id": custom_id, "response": response, "error": None}))
    return b"\n".join(out) + b"\n"


@bp.post("/v1/batches")
def create_batch() -> Response:
    body, early = _json_call("input_file_id", "endpoint", "completion_window")
    if early is not None:
        return early
    if body["input_file_id"] not in FILES:
        return error(400, f"Invalid 'input_file_id': '{body['input_file_id']}'.", "input_file_id", "invalid_value")
    now = int(time.time())
    batch_id = _new_id("batch_")
    BATCHES[batch_id] = {
        "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
        "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
        "status": "validating", "output_file_id": None, "error_file_id": None, "created_at": now,
        "in_progress_at": None, "expires_at": now + 86400, "finalizing_at": None, "completed_at": None,
        "failed_at": None, "expired_at": None, "cancelling_at": None, "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": body.get("metadata"),
        "_sid": switches().id,
    }  # fmt: skip
    return json_response(_public(BATCHES[batch_id]))


@bp.get("/v1/batches")
def list_batches() -> Response:
    return _list(BATCHES)


@bp.get("/v1/batches/<batch_id>")
def retrieve_batch(batch_id: str) -> Response:
    batch = _gate() or _known(BATCHES, batch_id, "batch")
    if isinstance(batch, Response):
        return batch
    now = int(time.time())
    if batch["status"] == "validating":
        content = _output_lines(batch)
        done = len(content.splitlines())
        output = _new_file(batch["_sid"], "batch_output.jsonl", "batch_output", len(content),
                           hashlib.sha256(content).hexdigest(), content)  # fmt: skip
        batch.update(status="completed", output_file_id=output["id"], in_progress_at=now, finalizing_at=now,
                     completed_at=now, request_counts={"total": done, "completed": done, "failed": 0})  # fmt: skip
    elif batch["status"] == "cancelling":
        batch.update(status="cancelled", cancelled_at=now)
    return json_response(_public(batch))


@bp.post("/v1/batches/<batch_id>/cancel")
def cancel_batch(batch_id: str) -> Response:
    batch = _gate() or _known(BATCHES, batch_id, "batch")
    if isinstance(batch, Response):
        return batch
    if batch["status"] in ("completed", "failed", "expired", "cancelled"):
        return error(400, f"Cannot cancel a batch with status '{batch['status']}'.", None, "invalid_state")
    batch.update(status="cancelling", cancelling_at=int(time.time()))
    return json_response(_public(batch))


# -- fine-tuning ------------------------------------------------------------------------------------


@bp.post("/v1/fine_tuning/jobs")
def create_job() -> Response:
    body, early = _json_call("model", "training_file")
    if early is not None:
        return early
    job_id = _new_id("ftjob-")
    JOBS[job_id] = {
        "id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()), "error": None,
        "fine_tuned_model": None, "finished_at": None, "model": body["model"], "organization_id": "org-mock",
        "hyperparameters": {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"},
        "result_files": [], "seed": body.get("seed", 42), "status": "validating_files", "trained_tokens": None,
        "training_file": body["training_file"], "validation_file": body.get("validation_file"),
        "suffix": body.get("suffix"), "metadata": body.get("metadata"), "estimated_finish": None,
        "integrations": [], "_sid": switches().id,
    }  # fmt: skip
    return json_response(_public(JOBS[job_id]))


@bp.get("/v1/fine_tuning/jobs")
def list_jobs() -> Response:
    return _list(JOBS)


@bp.get("/v1/fine_tuning/jobs/<job_id>")
@bp.post("/v1/fine_tuning/jobs/<job_id>/cancel")
def one_job(job_id: str) -> Response:
    job = _gate() or _known(JOBS, job_id, "job")
    if isinstance(job, Response):
        return job
    if request.path.endswith("/cancel"):
        job.update(status="cancelled", finished_at=int(time.time()))
    elif job["status"] == "validating_files":
        job["status"] = "running"
    return json_response(_public(job))


@bp.get("/v1/fine_tuning/jobs/<job_id>/<any(events, checkpoints):what>")
def job_lists(job_id: str, what: str) -> Response:
    job = _gate() or _known(JOBS, job_id, "job")
    if isinstance(job, Response):
        return job
    data = []
    if what == "events":
        messages = [f"Created fine-tuning job: {job_id}", f"Validating training file: {job['training_file']}"]
        event = {"object": "fine_tuning.job.event", "created_at": job["created_at"], "level": "info", "type": "message"}
        data = [{**event, "id": f"ftevent-{job_id}-{i}", "message": m, "data": {}} for i, m in enumerate(messages)]
        data.reverse()
    limit = int(request.args.get("limit") or 20)
    return json_response({"object": "list", "data": data[:limit], "has_more": len(data) > limit})


# -- moderations ------------------------------------------------------------------------------------


def _moderation(text: str, kinds: list[str]) -> dict[str, Any]:
    flagged = any(word in text.lower() for word in VIOLENT)
    return {
        "flagged": flagged,
        "categories": {c: flagged and c == "violence" for c in CATEGORIES},
        "category_scores": {c: 0.91 if flagged and c == "violence" else 0.0001 for c in CATEGORIES},
        "category_applied_input_types": dict.fromkeys(CATEGORIES, kinds),
    }


@bp.post("/v1/moderations")
def moderations() -> Response:
    body, early = _json_call()
    if early is not None:
        return early
    value = body.get("input")
    if value in (None, "", []):
        return _missing("input")
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        text = " ".join(v.get("text", "") for v in value if v.get("type") == "text")
        kinds = sorted({"image" if v.get("type") == "image_url" else "text" for v in value})
        results = [_moderation(text, kinds)]
    else:
        results = [_moderation(str(v), ["text"]) for v in (value if isinstance(value, list) else [value])]
    model = body.get("model") or "omni-moderation-latest"
    return json_response({"id": _new_id("modr-"), "model": model.replace("latest", "2024-09-26"), "results": results})
