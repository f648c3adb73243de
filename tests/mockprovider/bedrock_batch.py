"""Amazon S3 objects and Bedrock batch inference (model invocation jobs), in memory, SigV4 verified.

S3 (path style, as a custom host receives it): ``PUT|GET|HEAD|DELETE /<bucket>/<key>`` for the buckets in
``BUCKETS``, signed for service ``s3`` with S3's rules (the path signed as sent, the signed
``x-amz-content-sha256`` checked against the body); errors are S3's XML ``<Error><Code/><Message/>``
(HEAD errors without a body). Requests to other paths that are not S3-signed get Flask's plain 404, so
the other protocols' routes are not shadowed.

Bedrock control plane (``verify("bedrock")`` of the Bedrock mock, JSON errors with ``x-amzn-errortype``):
``POST /model-invocation-job`` (checks the required fields and their patterns; a job whose input is
missing or whose records do not fit its invocation type is created, then ``Failed`` with a message, as
Bedrock validates asynchronously), ``GET /model-invocation-job/<id or ARN>``, ``GET
/model-invocation-jobs`` (``maxResults``, ``nextToken``, ``sortOrder``, ``submitTimeBefore``; jobs are
scoped to the scenario id, as AWS scopes them to an account), ``POST /model-invocation-job/<id>/stop``.

Test control: ``POST /_mock/bedrock-batch/jobs/<job id>`` with ``{"status", "message"?}`` moves a job;
``Completed``/``PartiallyCompleted`` also write its output file (records whose text holds ``FAIL`` get
an ``error``; Anthropic records with tools get a ``tool_use``) and ``manifest.json.out``, and set the
record counts. ``GET|PUT /_mock/s3/<bucket>/<key>`` reads or places an object unsigned.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import orjson
from botocore.auth import S3SigV4Auth
from flask import Blueprint, Response, abort, request

from tests.mockprovider import anthropic as anthropic_mock
from tests.mockprovider.bedrock import (
    _AUTH,
    _check,
    _start,
    amz_time,
    converse_answer,
    credentials,
    error,
    has_session_token,
    raw_target,
    reply_of,
    signature_matches,
    verify,
)
from tests.mockprovider.common import json_response, record, scripted_failure, switches
from tests.mockprovider.switches import Switches

bp = Blueprint("mock_bedrock_batch", __name__)

BUCKETS = frozenset({"mock-batch-bucket", "mock-output-bucket"})
ACCOUNT = "123456789012"
#: ``(bucket, key)`` -> object: body, content type, last modified (epoch), headers kept.
OBJECTS: dict[tuple[str, str], dict[str, Any]] = {}
#: job id -> job (``scenario`` is the mock's own field, never sent).
JOBS: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()
_job_ids = itertools.count(1)
_last_submit = [0.0]
_JOB_NAME = re.compile(r"^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}$")
_ROLE_ARN = re.compile(r"^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$")
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_ACTIVE = ("Submitted", "Validating", "Scheduled", "InProgress")


def iso(at: float) -> str:
    """AWS's ISO 8601 timestamp (milliseconds, ``Z``)."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- S3 ------------------------------------------------------------------------------------------


def s3_error(status: int, code: str, message: str) -> Response:
    """An S3 error: XML, or no body for HEAD."""
    if request.method == "HEAD":
        return Response(status=status, headers={"x-amz-request-id": "MOCKREQ"})
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message><RequestId>MOCKREQ</RequestId></Error>"
    )
    return Response(body, status=status, content_type="application/xml")


def verify_s3(body: bytes) -> Response | None:
    """Check an S3 SigV4 signature (path signed as sent) and the signed payload hash."""
    match = _AUTH.match(request.headers.get("authorization", ""))
    if match is None:
        return s3_error(400, "InvalidArgument", "Unsupported Authorization Type")
    creds = credentials(match["key"])
    if creds is None:
        return s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if not has_session_token(creds):
        return s3_error(403, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    if match["service"] != "s3":
        return s3_error(400, "AuthorizationHeaderMalformed", f"incorrect service {match['service']!r}; expecting 's3'")
    sha = request.headers.get("x-amz-content-sha256")
    if not sha:
        return s3_error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    if sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
        message = "The provided 'x-amz-content-sha256' header does not match what was computed."
        return s3_error(400, "XAmzContentSHA256Mismatch", message)
    stamp = request.headers.get("x-amz-date", "")
    signed_at = amz_time(stamp)
    if signed_at is None:
        return s3_error(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    if stamp[:8] != match["day"] or abs(time.time() - signed_at) > 900:
        return s3_error(403, "RequestTimeTooSkewed", "The difference between the request time and now is too large.")
    names = match["signed"].split(";")
    if not {"host", "x-amz-date", "x-amz-content-sha256"} <= set(names):
        return s3_error(403, "AccessDenied", "host, x-amz-date and x-amz-content-sha256 must be signed")
    if not signature_matches(match, creds, S3SigV4Auth, "s3", f"http://{request.host}{raw_target()}", b""):
        message = "The request signature we calculated does not match the signature you provided."
        return s3_error(403, "SignatureDoesNotMatch", message)
    return None


def put_object(bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
    """Store an object."""
    with _lock:
        OBJECTS[(bucket, key)] = {"body": body, "type": content_type, "modified": time.time()}


@bp.route("/<bucket>/<path:key>", methods=["GET", "PUT", "DELETE"])
def s3_object(bucket: str, key: str) -> Response:
    if "/s3/aws4_request" not in request.headers.get("authorization", ""):
        abort(404)  # not an S3 request: leave unknown paths as they were
    sw = switches()
    body = request.get_data()
    ordinal = record(sw, body)
    scripted = scripted_failure(sw, ordinal)
    if scripted is not None:
        return s3_error(sw.status, "InternalError" if sw.status >= 500 else "SlowDown", "mock failure")
    failure = verify_s3(body)
    if failure is not None:
        return failure
    if bucket not in BUCKETS:
        return s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
    if request.method == "PUT":
        mode = request.headers.get("x-amz-server-side-encryption")
        if mode not in (None, "AES256", "aws:kms", "aws:kms:dsse"):
            return s3_error(400, "InvalidArgument", "The encryption method specified is not supported")
        put_object(bucket, key, body, request.headers.get("content-type", "application/octet-stream"))
        etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        return Response(status=200, headers={"ETag": etag})
    with _lock:
        stored = OBJECTS.pop((bucket, key), None) if request.method == "DELETE" else OBJECTS.get((bucket, key))
    if request.method == "DELETE":
        return Response(status=204)
    if stored is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    headers = {"Last-Modified": datetime.fromtimestamp(stored["modified"], UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")}
    return Response(stored["body"], status=200, content_type=stored["type"], headers=headers)


@bp.get("/_mock/s3/<bucket>/<path:key>")
def read_object(bucket: str, key: str) -> Response:
    stored = OBJECTS.get((bucket, key))
    if stored is None:
        abort(404)
    return Response(stored["body"], content_type=stored["type"])


@bp.put("/_mock/s3/<bucket>/<path:key>")
def place_object(bucket: str, key: str) -> Response:
    put_object(bucket, key, request.get_data(), request.content_type or "application/octet-stream")
    return json_response({})


# -- Bedrock control plane -----------------------------------------------------------------------


def _find(identifier: str) -> dict[str, Any] | None:
    return JOBS.get(identifier.rsplit("/", 1)[-1])


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in ("scenario", "submitted")}


def _invalid(body: dict[str, Any]) -> str | None:
    """Why a CreateModelInvocationJob body is malformed, or None."""
    if not _JOB_NAME.match(str(body.get("jobName") or "")):
        return "1 validation error detected: Value at 'jobName' failed to satisfy constraint: Member must satisfy "
    if not _ROLE_ARN.match(str(body.get("roleArn") or "")):
        return "1 validation error detected: Value at 'roleArn' failed to satisfy constraint"
    if not body.get("modelId"):
        return "1 validation error detected: Value null at 'modelId' failed to satisfy constraint"
    source = ((body.get("inputDataConfig") or {}).get("s3InputDataConfig") or {}).get("s3Uri")
    target = ((body.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}).get("s3Uri")
    if not _S3_URI.match(str(source or "")) or not _S3_URI.match(str(target or "")):
        return "1 validation error detected: Value at 'inputDataConfig'/'outputDataConfig' failed to satisfy constraint"
    if body.get("modelInvocationType") not in (None, "InvokeModel", "Converse"):
        return "1 validation error detected: Value at 'modelInvocationType' failed to satisfy enum value set"
    hours = body.get("timeoutDurationInHours")
    if hours is not None and not (isinstance(hours, int) and 24 <= hours <= 168):
        return "1 validation error detected: Value at 'timeoutDurationInHours' failed to satisfy constraint"
    return None


def _records(uri: str) -> list[dict[str, Any]] | None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    stored = OBJECTS.get((bucket, key))
    if stored is None:
        return None
    return [orjson.loads(line) for line in stored["body"].splitlines() if line.strip()]


def _validate_records(job: dict[str, Any], records: list[dict[str, Any]]) -> str | None:
    """Why the records do not fit the job (Bedrock reports it by failing the job), or None."""
    converse = job.get("modelInvocationType") == "Converse"
    anthropic = "anthropic." in str(job["modelId"])
    for number, item in enumerate(records, 1):
        model_input = item.get("modelInput")
        if not isinstance(model_input, dict) or "recordId" not in item:
            return f"Record {number}: recordId and a modelInput object are required"
        if converse:
            problem = _check(model_input)
            if problem is not None:
                return f"Record {number}: {orjson.loads(problem.get_data()).get('message')}"
            if "toolConfig" in model_input:
                return f"Record {number}: toolConfig is not supported for the Converse invocation type"
        elif not anthropic:
            return "The mock runs InvokeModel batch jobs for Anthropic models only"
        elif model_input.get("anthropic_version") != "bedrock-2023-05-31" or "model" in model_input:
            return f"Record {number}: Malformed input request: anthropic_version bedrock-2023-05-31 required"
        elif not isinstance(model_input.get("max_tokens"), int) or not isinstance(model_input.get("messages"), list):
            return f"Record {number}: Malformed input request: #: required key [max_tokens] not found"
    return None


@bp.post("/model-invocation-job")
def create_job() -> Response:
    sw = switches()
    raw = request.get_data()
    failure = _start(sw, raw) or verify("bedrock", allow_api_key=True)
    if failure is not None:
        return failure
    body = orjson.loads(raw) if raw else {}
    problem = _invalid(body) if isinstance(body, dict) else "body must be a JSON object"
    if problem:
        return error(400, problem)
    region = re.search(r"/\d{8}/([^/]+)/", request.headers.get("authorization", ""))
    job_id = f"mockjob{next(_job_ids):05d}"
    with _lock:
        submitted = max(time.time(), _last_submit[0] + 0.001)  # strictly increasing, as the list order needs
        _last_submit[0] = submitted
        job = {
            "jobArn": f"arn:aws:bedrock:{region[1] if region else 'us-east-1'}:{ACCOUNT}:model-invocation-job/{job_id}",
            "jobName": body["jobName"],
            "modelId": body["modelId"],
            "roleArn": body["roleArn"],
            "status": "Submitted",
            "submitTime": iso(submitted),
            "lastModifiedTime": iso(submitted),
            "inputDataConfig": body["inputDataConfig"],
            "outputDataConfig": body["outputDataConfig"],
            "timeoutDurationInHours": body.get("timeoutDurationInHours", 168),
            "jobExpirationTime": iso(submitted + 3600 * body.get("timeoutDurationInHours", 168)),
            "scenario": sw.id,
            "submitted": submitted,
        }
        if body.get("modelInvocationType"):
            job["modelInvocationType"] = body["modelInvocationType"]
        records = _records(body["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
        invalid = "The input S3 object was not found" if records is None else _validate_records(job, records)
        if invalid:
            job.update(status="Failed", message=invalid, endTime=iso(submitted))
        JOBS[job_id] = job
    return json_response({"jobArn": job["jobArn"]})


@bp.get("/model-invocation-job/<path:identifier>")
def get_job(identifier: str) -> Response:
    sw = switches()
    failure = _start(sw, b"") or verify("bedrock")
    if failure is not None:
        return failure
    job = _find(identifier)
    if job is None:
        return error(404, f"The specified job {identifier} could not be found.")
    return json_response(_public(job))


@bp.post("/model-invocation-job/<path:identifier>/stop")
def stop_job(identifier: str) -> Response:
    sw = switches()
    failure = _start(sw, request.get_data()) or verify("bedrock")
    if failure is not None:
        return failure
    with _lock:
        job = _find(identifier)
        if job is None:
            return error(404, f"The specified job {identifier} could not be found.")
        if job["status"] not in _ACTIVE:
            return error(400, f"The job {identifier} cannot be stopped in status {job['status']}.")
        job.update(status="Stopping", lastModifiedTime=iso(time.time()))
    return json_response({})


@bp.get("/model-invocation-jobs")
def list_jobs() -> Response:
    sw = switches()
    failure = _start(sw, b"") or verify("bedrock")
    if failure is not None:
        return failure
    args = request.args
    size = int(args.get("maxResults", "1000"))
    if not 1 <= size <= 1000:
        return error(400, "1 validation error detected: Value at 'maxResults' failed to satisfy constraint")
    jobs = sorted((j for j in JOBS.values() if j["scenario"] == sw.id), key=lambda j: j["submitted"])
    if args.get("sortOrder", "Descending") == "Descending":
        jobs.reverse()
    if args.get("submitTimeBefore"):
        before = datetime.fromisoformat(args["submitTimeBefore"].replace("Z", "+00:00")).timestamp()
        jobs = [j for j in jobs if j["submitted"] < before - 0.0005]
    start = int(args.get("nextToken", "0")) if args.get("nextToken", "0").isdigit() else -1
    if start < 0:
        return error(400, "The pagination token is invalid.")
    page = jobs[start : start + size]
    out: dict[str, Any] = {"invocationJobSummaries": [_public(j) for j in page]}
    if start + size < len(jobs):
        out["nextToken"] = str(start + size)
    return json_response(out)


# -- test control --------------------------------------------------------------------------------


def _text(model_input: dict[str, Any]) -> str:
    texts = []
    for message in model_input.get("messages") or []:
        content = message.get("content")
        for block in [content] if isinstance(content, str) else content or []:
            texts.append(block if isinstance(block, str) else str(block.get("text", "")))
    return " ".join(texts)


def _output_record(job: dict[str, Any], item: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    model_input = item["modelInput"]
    out: dict[str, Any] = {"recordId": item["recordId"], "modelInput": model_input}
    if "FAIL" in _text(model_input):
        out["error"] = {"errorCode": 400, "errorMessage": "Malformed input request: the mock model refused FAIL"}
        return out, False
    if job.get("modelInvocationType") == "Converse":
        sw = Switches()
        out["modelOutput"] = converse_answer(reply_of(model_input, sw), sw)
    else:
        full = {**model_input, "model": str(job["modelId"]).rsplit(".", 1)[-1]}
        sw = Switches(tool_calls=1 if model_input.get("tools") else 0)
        out["modelOutput"] = anthropic_mock.message(full, anthropic_mock.answer(anthropic_mock.ask_of(full), sw), sw)
    return out, True


def _write_output(job: dict[str, Any]) -> None:
    source = job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
    folder = job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"].rstrip("/")
    bucket, _, prefix = folder.removeprefix("s3://").partition("/")
    base = (prefix + "/" if prefix else "") + job["jobArn"].rsplit("/", 1)[-1] + "/"
    results = [_output_record(job, item) for item in _records(source) or []]
    lines = b"".join(orjson.dumps(item) + b"\n" for item, _ in results)
    put_object(bucket, base + source.rsplit("/", 1)[-1] + ".out", lines)
    good = sum(1 for _, ok in results if ok)
    counts = {
        "totalRecordCount": len(results),
        "processedRecordCount": len(results),
        "successRecordCount": good,
        "errorRecordCount": len(results) - good,
    }
    put_object(bucket, base + "manifest.json.out", orjson.dumps({**counts, "inputTokenCount": 10}))
    job.update(counts)


@bp.post("/_mock/bedrock-batch/jobs/<job_id>")
def move_job(job_id: str) -> Response:
    change = request.get_json(force=True)
    with _lock:
        job = JOBS.get(job_id)
        if job is None:
            abort(404)
        now = time.time()
        job.update(status=change["status"], lastModifiedTime=iso(now))
        if change.get("message"):
            job["message"] = change["message"]
        if change["status"] not in _ACTIVE and change["status"] != "Stopping":
            job["endTime"] = iso(now)
    if change["status"] in ("Completed", "PartiallyCompleted"):
        _write_output(job)
    return json_response(_public(job))
