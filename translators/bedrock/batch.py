"""Map OpenAI batch files and Batches to Bedrock batch inference (model invocation jobs over S3) and back.

Facts (Bedrock user guide "Format and upload your batch inference data", "View the results of a batch
inference job"; API reference ``CreateModelInvocationJob``, ``GetModelInvocationJob``,
``ModelInvocationJobSummary``, ``ModelInvocationType``):

* Input lines are ``{"recordId", "modelInput"}``; ``modelInput`` is the model's ``InvokeModel`` body (job
  type ``InvokeModel``, the default) or a Converse request body (``modelInvocationType: "Converse"``).
  Converse jobs fail records that carry ``toolConfig``. Here Anthropic models get the Messages body
  (``anthropic_version: bedrock-2023-05-31``, tools and structured output included) in an InvokeModel
  job; every other model gets the Converse body in a Converse job, so one mapping serves Nova, Llama,
  Mistral, ... (the reference builds per-family InvokeModel prompts and treats Nova as Titan).
* Output goes to ``{output s3Uri}{job id}/{input file name}.out``: ``{"recordId", "modelInput",
  "modelOutput"}`` per record, or ``"error": {"errorCode", "errorMessage"}`` instead of ``modelOutput``;
  ``modelOutput`` is the InvokeModel or Converse response body.
* A job has ``jobArn``, ``modelId``, ``status`` (``Submitted``, ``Validating``, ``Scheduled``,
  ``InProgress``, ``Completed``, ``PartiallyCompleted``, ``Failed``, ``Stopping``, ``Stopped``,
  ``Expired``), ISO 8601 times (``submitTime``, ``lastModifiedTime``, ``endTime``, ``jobExpirationTime``),
  a failure ``message`` and, in newer answers, record counts. ``jobName`` matches
  ``[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\\-.]){0,63}``; ``timeoutDurationInHours`` is 24 to 168.
* Ids carry over from the reference: a file id is its S3 URI and a batch id its job ARN, each escaped
  as ``encodeURIComponent`` does. (Unlike the reference, times are seconds, statuses OpenAI's.)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

import orjson

from translators.anthropic import request as anthropic_request
from translators.anthropic import response as anthropic_response
from translators.anthropic.claude_elsewhere import BEDROCK_VERSION
from translators.bedrock.request import model_family
from translators.bedrock.response import to_chat_completion
from translators.bedrock.translator import converse_body
from translators.contract import Target, TranslationError
from translators.openai_shapes import error_envelope, new_id, now

CONVERSE = "Converse"
#: Bedrock job status -> OpenAI batch status.
STATUS = {
    "Submitted": "validating",
    "Validating": "validating",
    "Scheduled": "in_progress",
    "InProgress": "in_progress",
    "Completed": "completed",
    "PartiallyCompleted": "completed",
    "Failed": "failed",
    "Stopping": "cancelling",
    "Stopped": "cancelled",
    "Expired": "expired",
}
#: Statuses whose job wrote an output file.
WITH_OUTPUT = frozenset({"Completed", "PartiallyCompleted"})
CHAT_URLS = frozenset({"/v1/chat/completions", "/chat/completions"})
_ID_SAFE = "-_.!~*'()"


def encode_id(text: str) -> str:
    """Escape an S3 URI or job ARN as an id (as ``encodeURIComponent`` does)."""
    return quote(text, safe=_ID_SAFE)


def decode_id(value: str, scheme: str) -> str:
    """Undo ``encode_id`` until the text starts with ``scheme`` (a client may have escaped the id once more)."""
    for _ in range(3):
        if value.startswith(scheme) or "%" not in value:
            break
        value = unquote(value)
    return value


def file_uri(file_id: str) -> str:
    """The ``s3://`` URI a file id names."""
    uri = decode_id(file_id, "s3://")
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise TranslationError(f"{file_id[:200]!r} is not a bedrock file id (an escaped s3:// URI)", "file_id")
    return uri


def job_identifier(batch_id: str) -> str:
    """The job ARN (or bare job id) a batch id names."""
    identifier = decode_id(batch_id, "arn:")
    if not identifier or any(c.isspace() for c in identifier):
        raise TranslationError(f"{batch_id[:200]!r} is not a bedrock batch id", "batch_id")
    return identifier


def invocation_type(model: str) -> str | None:
    """``Converse``, or None (InvokeModel, the default) for Anthropic models."""
    return None if model_family(model) == "anthropic" else CONVERSE


def model_input(body: Mapping[str, Any], model: str, target: Target) -> dict[str, Any]:
    """The ``modelInput`` of one chat request: the Anthropic Messages body, else the Converse body."""
    if invocation_type(model) is None:
        payload = anthropic_request.messages_body(body, include_model=False)
        payload.pop("stream", None)
        payload["anthropic_version"] = BEDROCK_VERSION
        beta = target.option("anthropic_beta")
        if beta:
            payload["anthropic_beta"] = [b.strip() for b in beta.split(",")] if isinstance(beta, str) else list(beta)
        return payload
    payload, _ = converse_body(body, target)
    if "toolConfig" in payload:
        raise TranslationError(
            "tools and response_format need an Anthropic model in a bedrock batch "
            "(Converse batch jobs reject toolConfig)",
            "tools",
        )
    return payload


class InputRecords:
    """Turn OpenAI batch lines into Bedrock records, one line at a time (custom ids must be unique)."""

    def __init__(self, model: str | None, target: Target) -> None:
        self.model = model
        self.target = target
        self.count = 0
        self._seen: set[str] = set()
        self._line = 0

    def line(self, raw: bytes) -> bytes:
        """Return the Bedrock record (with its newline) for one input line, or ``b""`` for a blank line."""
        self._line += 1
        if not raw.strip():
            return b""
        where = f"line {self._line}"
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise TranslationError(f"{where} of the batch file is not JSON", "file") from None
        if not isinstance(item, dict) or not isinstance(item.get("body"), dict):
            raise TranslationError(f"{where}: each line needs custom_id, method, url and a body object", "file")
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise TranslationError(f"{where}: custom_id must be a non-empty string", "file")
        if custom_id in self._seen:
            raise TranslationError(f"{where}: custom_id {custom_id[:100]!r} is not unique", "file")
        if item.get("url") not in CHAT_URLS or str(item.get("method", "POST")).upper() != "POST":
            raise TranslationError(f"{where}: bedrock batches serve POST /v1/chat/completions only", "file")
        if self.model is None:
            self.model = str(item["body"].get("model") or "")
        try:
            modelled = model_input(item["body"], self.model, self.target)
        except TranslationError as exc:
            raise TranslationError(f"{where}: {exc.message}", exc.param) from None
        self._seen.add(custom_id)
        self.count += 1
        return orjson.dumps({"recordId": custom_id, "modelInput": modelled}) + b"\n"


def job_request(
    body: Mapping[str, Any], model: str, format_model: str, role_arn: str, target: Target
) -> dict[str, Any]:
    """The CreateModelInvocationJob body for an OpenAI batch create request."""
    if body.get("endpoint") not in CHAT_URLS:
        raise TranslationError("bedrock batches serve the /v1/chat/completions endpoint only", "endpoint")
    input_uri = file_uri(str(body.get("input_file_id") or ""))
    output = body.get("output_data_config") or body.get("outputDataConfig")
    if isinstance(output, Mapping) and isinstance(output.get("s3OutputDataConfig"), Mapping):
        output_config = dict(output["s3OutputDataConfig"])
    elif isinstance(output, Mapping) and output.get("s3Uri"):
        output_config = dict(output)
    else:
        output_config = {"s3Uri": input_uri.rsplit("/", 1)[0] + "/"}
    kms_key = target.option("amz_server_side_encryption_aws_kms_key_id", "aws_server_side_encryption_kms_key_id")
    if kms_key and "s3EncryptionKeyId" not in output_config:
        output_config["s3EncryptionKeyId"] = str(kms_key)
    job: dict[str, Any] = {
        "jobName": str(body.get("job_name") or f"portkey-batch-{uuid.uuid4().hex}"),
        "roleArn": role_arn,
        "modelId": model,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri}},
        "outputDataConfig": {"s3OutputDataConfig": output_config},
    }
    kind = invocation_type(format_model)
    if kind is not None:
        job["modelInvocationType"] = kind
    window = str(body.get("completion_window") or "")
    if window.endswith("h") and window[:-1].isdigit() and 24 <= int(window[:-1]) <= 168:
        job["timeoutDurationInHours"] = int(window[:-1])
    return job


def _seconds(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


def output_uri(job: Mapping[str, Any]) -> str | None:
    """The S3 URI of the job's output file, once it has one (None for folder inputs)."""
    if job.get("status") not in WITH_OUTPUT:
        return None
    source = ((job.get("inputDataConfig") or {}).get("s3InputDataConfig") or {}).get("s3Uri") or ""
    folder = ((job.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}).get("s3Uri") or ""
    arn = str(job.get("jobArn") or "")
    if not source or source.endswith("/") or not folder or not arn:
        return None
    return f"{folder.rstrip('/')}/{arn.rsplit('/', 1)[-1]}/{source.rsplit('/', 1)[-1]}.out"


def to_batch(job: Mapping[str, Any], *, endpoint: str = "/v1/chat/completions") -> dict[str, Any]:
    """Map a Bedrock job (GetModelInvocationJob answer or list summary) to an OpenAI batch object."""
    status = str(job.get("status") or "Submitted")
    mapped = STATUS.get(status, "in_progress")
    source = ((job.get("inputDataConfig") or {}).get("s3InputDataConfig") or {}).get("s3Uri") or ""
    output = output_uri(job)
    ended = _seconds(job.get("endTime"))
    changed = _seconds(job.get("lastModifiedTime"))
    hours = job.get("timeoutDurationInHours")
    batch: dict[str, Any] = {
        "id": encode_id(str(job.get("jobArn") or "")),
        "object": "batch",
        "endpoint": endpoint,
        "model": job.get("modelId"),
        "errors": None,
        "input_file_id": encode_id(source) if source else None,
        "completion_window": f"{hours}h" if isinstance(hours, int) else "24h",
        "status": mapped,
        "output_file_id": encode_id(output) if output else None,
        "error_file_id": None,
        "created_at": _seconds(job.get("submitTime")) or 0,
        "in_progress_at": None,
        "expires_at": _seconds(job.get("jobExpirationTime")),
        "finalizing_at": None,
        "completed_at": ended if mapped == "completed" else None,
        "failed_at": (ended or changed) if mapped == "failed" else None,
        "expired_at": (ended or changed) if mapped == "expired" else None,
        "cancelling_at": changed if mapped == "cancelling" else None,
        "cancelled_at": (ended or changed) if mapped == "cancelled" else None,
        "metadata": {"job_name": job["jobName"]} if job.get("jobName") else None,
    }
    if job.get("message"):
        error = {"code": status, "message": str(job["message"]), "param": None, "line": None}
        batch["errors"] = {"object": "list", "data": [error]}
    if isinstance(job.get("totalRecordCount"), int):
        batch["request_counts"] = {
            "total": job["totalRecordCount"],
            "completed": int(job.get("successRecordCount") or 0),
            "failed": int(job.get("errorRecordCount") or 0),
        }
    return batch


def to_batch_list(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Map a ListModelInvocationJobs answer to an OpenAI list of batches."""
    data = [to_batch(job) for job in raw.get("invocationJobSummaries") or [] if isinstance(job, Mapping)]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": bool(raw.get("nextToken")),
    }


def created_batch(arn: str, job: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The batch object for a job just created (CreateModelInvocationJob answers only its ARN)."""
    created = now()
    summary = {**job, "jobArn": arn, "status": "Submitted", "submitTime": created}
    batch = to_batch(summary, endpoint=str(body.get("endpoint") or "/v1/chat/completions"))
    if isinstance(body.get("metadata"), Mapping):
        batch["metadata"] = {**dict(body["metadata"]), "job_name": job.get("jobName")}
    return batch


def to_file(uri: str, size: int, created_at: int | None, purpose: str = "batch") -> dict[str, Any]:
    """An OpenAI file object for an S3 object."""
    return {
        "id": encode_id(uri),
        "object": "file",
        "bytes": size,
        "created_at": created_at or now(),
        "filename": uri,
        "purpose": "batch_output" if uri.endswith(".out") else purpose,
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }


def output_line(record: Mapping[str, Any], model: str, target: Target) -> dict[str, Any]:
    """Map one Bedrock output record to an OpenAI batch output line."""
    custom_id = record.get("recordId")
    error = record.get("error")
    output = record.get("modelOutput")
    if isinstance(error, Mapping) or not isinstance(output, Mapping):
        error = error if isinstance(error, Mapping) else {"errorMessage": "the record has no modelOutput"}
        code = error.get("errorCode")
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        message = str(error.get("errorMessage") or f"record failed with error {code}")
        request_id = new_id("req")
        envelope = error_envelope(target.provider, message, code=code)
        return {
            "id": new_id("batch_req"),
            "custom_id": custom_id,
            "response": {"status_code": status, "request_id": request_id, "body": envelope},
            "error": {"code": str(code if code is not None else "record_failed"), "message": message},
        }
    if isinstance(output.get("output"), Mapping):
        body = to_chat_completion(output, target, {"model": model})
    elif output.get("type") == "message" and isinstance(output.get("content"), list):
        body = anthropic_response.to_chat_completion(output, target)
        body["model"] = body.get("model") or model
    else:
        body = dict(output)  # a native answer of a shape this gateway does not map
    request_id = str(output.get("id") or new_id("req"))
    return {
        "id": new_id("batch_req"),
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": request_id, "body": body},
        "error": None,
    }
