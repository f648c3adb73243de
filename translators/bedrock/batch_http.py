"""Address and sign the requests behind Bedrock batch inference: S3 objects and Bedrock's control plane.

Facts (Amazon S3 API reference ``PutObject``, ``GetObject``, ``HeadObject``, ``DeleteObject``, "Virtual
hosting of buckets", "Authenticating requests (AWS Signature Version 4)"; Bedrock API reference
``CreateModelInvocationJob``, ``GetModelInvocationJob``, ``ListModelInvocationJobs``,
``StopModelInvocationJob``):

* Objects live at ``https://{bucket}.s3.{region}.amazonaws.com/{key}`` (virtual-hosted style); a bucket
  name with dots takes path style ``https://s3.{region}.amazonaws.com/{bucket}/{key}`` because the
  wildcard certificate does not cover it. A custom host (an S3-compatible endpoint, a test double)
  takes path style too: ``{host}/{bucket}/{key}``. Keys are escaped once, ``/`` kept.
* S3 SigV4 (service ``s3``) signs the path as sent (escaped once, not twice as for other services) and
  needs ``x-amz-content-sha256``, the signed hex SHA-256 of the body, so a body on disk is hashed
  while it is written rather than held in memory. Server-side encryption: ``x-amz-server-side-encryption``
  (``AES256`` or ``aws:kms``) and ``x-amz-server-side-encryption-aws-kms-key-id``.
* The control plane is ``https://bedrock.{region}.amazonaws.com`` (a custom host replaces it):
  ``POST /model-invocation-job``, ``GET /model-invocation-job/{jobIdentifier}``, ``GET
  /model-invocation-jobs``, ``POST /model-invocation-job/{jobIdentifier}/stop``; ``jobIdentifier`` (a job
  ARN or its 12-character id) is escaped as one path segment. SigV4 service ``bedrock``, or a Bedrock
  API key as ``Authorization: Bearer`` (``aws_auth_type: apiKey``); S3 takes no API key.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any
from urllib.parse import quote

from translators.bedrock.request import signing_credentials, signing_time
from translators.bedrock.sigv4 import region_of, sign
from translators.contract import HttpRequest, Target, TranslationError
from translators.hostnames import s3_bucket
from translators.openai_shapes import error_envelope, json_bytes

#: SHA-256 of an empty body (GET, HEAD, DELETE and body-less POST requests).
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_KMS_KEY_OPTIONS = (
    "amz_server_side_encryption_aws_kms_key_id",
    "aws_server_side_encryption_kms_key_id",
    "aws_server_side_encryption_kmskey_id",
)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Return ``(bucket, key)`` of an ``s3://bucket/key`` URI; raise ``TranslationError`` otherwise."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise TranslationError(f"not an S3 object URI: {uri[:200]!r}", "file_id")
    return bucket, key


def _api_key(target: Target) -> bool:
    return str(target.option("aws_auth_type", default="")).lower() == "apikey"


def object_url(target: Target, bucket: str, key: str) -> str:
    """The URL of an S3 object (virtual-hosted style, path style for dotted buckets and custom hosts)."""
    path = quote(key, safe="/~")
    bucket = s3_bucket(bucket)
    if target.custom_host:
        return f"{target.custom_host.rstrip('/')}/{bucket}/{path}"
    region = region_of(target)
    if "." in bucket:
        return f"https://s3.{region}.amazonaws.com/{bucket}/{path}"
    return f"https://{bucket}.s3.{region}.amazonaws.com/{path}"


def sse_headers(target: Target) -> dict[str, str]:
    """Server-side encryption headers for an upload, from the ``amz_server_side_encryption*`` options."""
    headers: dict[str, str] = {}
    kms_key = target.option(*_KMS_KEY_OPTIONS)
    if kms_key:
        headers["x-amz-server-side-encryption"] = "aws:kms"
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = str(kms_key)
    mode = target.option("amz_server_side_encryption", "aws_server_side_encryption")
    if mode:
        headers["x-amz-server-side-encryption"] = str(mode)
    return headers


def s3_request(
    target: Target, method: str, uri: str, *, sha256: str = EMPTY_SHA256, headers: dict[str, str] | None = None
) -> HttpRequest:
    """A SigV4-signed S3 request for the object at ``uri`` (the caller sends a body hashing to ``sha256``)."""
    if _api_key(target):
        raise TranslationError(
            "bedrock batch files live in S3, which needs AWS credentials (aws_access_key_id and "
            "aws_secret_access_key, or aws_auth_type assumedRole); a Bedrock API key cannot sign S3 requests",
            "aws_auth_type",
        )
    bucket, key = split_s3_uri(uri)
    url = object_url(target, bucket, key)
    unsigned = {**(headers or {}), "x-amz-content-sha256": sha256}
    keys, region, timestamp = signing_credentials(target), region_of(target), signing_time(target)
    return HttpRequest(method, url, sign(method, url, unsigned, None, keys, "s3", region, timestamp, s3=True))


def control_request(
    target: Target, method: str, path: str, query: str = "", payload: dict[str, Any] | None = None
) -> HttpRequest:
    """A request to Bedrock's control plane (``path`` already escaped), SigV4-signed or with the API key."""
    region = region_of(target)
    base = (target.custom_host or f"https://bedrock.{region}.amazonaws.com").rstrip("/")
    url = base + path + (f"?{query}" if query else "")
    body = json_bytes(payload) if payload is not None else None
    headers = {"content-type": "application/json"} if body is not None else {}
    if _api_key(target):
        if not target.api_key:
            raise TranslationError("aws_auth_type apiKey needs a Bedrock API key (Authorization: Bearer)", "api_key")
        headers["authorization"] = f"Bearer {target.api_key}"
    else:
        headers = sign(method, url, headers, body, signing_credentials(target), "bedrock", region, signing_time(target))
    return HttpRequest(method, url, headers, body)


def job_path(identifier: str, action: str = "") -> str:
    """``/model-invocation-job/{jobIdentifier}[/action]`` with the identifier escaped as one segment."""
    return f"/model-invocation-job/{quote(identifier, safe='')}" + (f"/{action}" if action else "")


#: Messages for S3 errors without a body (HEAD answers).
_S3_STATUS = {403: "Forbidden", 404: "Not Found: no such S3 object", 400: "Bad Request", 412: "Precondition Failed"}
_XML_FIELD = re.compile(r"<(Code|Message)>([^<]*)</\1>")


def s3_error(status: int, body: bytes, target: Target) -> dict[str, Any]:
    """Map an S3 error (``<Error><Code/><Message/></Error>``; HEAD answers carry none) to OpenAI's envelope."""
    fields = {name: html.unescape(value).strip() for name, value in _XML_FIELD.findall(body.decode("utf-8", "replace"))}
    code, message = fields.get("Code"), fields.get("Message")
    if not code and not message:
        text = body.decode("utf-8", "replace").strip()[:500]
        message = text or _S3_STATUS.get(status, f"HTTP {status}")
    detail = f"{code}: {message}" if code and message else str(message or code)
    return error_envelope(target.provider, f"S3 answered {status}: {detail}", code=code or None)
