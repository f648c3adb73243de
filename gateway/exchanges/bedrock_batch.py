"""Serve OpenAI Files and Batches on Bedrock: batch inference jobs whose files live in S3.

Each endpoint call is one ``BatchExchange``: the first upstream request (sent, retried and timed by
``gateway.pipeline.ctx``) and how to finish it, sometimes with a second request. Uploads become Bedrock
records (``translators.bedrock.batch``) PUT to S3 without being held whole (``gateway.exchanges.bedrock_batch_files``).
Batch calls go to Bedrock's control plane and come back as OpenAI batch objects; cancelling stops the
job, then reads it back; ``GET /v1/batches/{id}/output`` reads the job, then streams its S3 output
file mapped line by line (so does ``files.content`` on an output file; other files are relayed as
stored). Bedrock and S3 errors come back in OpenAI's envelope with the provider's status; missing
options are 400s from the gateway. Bedrock has no file listing.

Options: ``aws_s3_bucket`` (upload target), ``aws_s3_object_key`` / ``provider_file_name`` (default
``<uuid>.jsonl``), ``aws_bedrock_model`` / ``provider_model`` (the model the records are written for;
default: the first line's model), the job's service role (``role_arn`` in the create body, else
``aws_batch_role_arn``, else ``aws_role_arn``), ``amz_server_side_encryption[_aws_kms_key_id]``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from gateway.core.errors import ProviderError
from gateway.core.outcomes import error_result, gateway_exception, provider_failure, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result, json_result
from gateway.exchanges.base import relayed_headers
from gateway.exchanges.bedrock_batch_files import output_stream, spool_records
from gateway.exchanges.endpoints import SERVED_AS, relay
from gateway.transport.client import Timeout, UpstreamResponse
from translators.bedrock import batch as mapping
from translators.bedrock.batch_http import control_request, job_path, s3_error, s3_request, sse_headers
from translators.bedrock.response import to_error
from translators.contract import HttpRequest, Target, TranslationError
from translators.openai_shapes import loads_or_none

if TYPE_CHECKING:
    from gateway.exchanges.base import ExchangeContext

#: Endpoint ids served here.
FNS = frozenset({
    "uploadFile", "retrieveFile", "retrieveFileContent", "deleteFile",
    "createBatch", "retrieveBatch", "listBatches", "cancelBatch", "getBatchOutput",
})  # fmt: skip
Finish = Callable[[UpstreamResponse, Timeout], Result]


class BatchExchange:
    """One Bedrock batch operation: its first upstream request and how to finish it."""

    sse = False

    def __init__(
        self, flow: "BatchFlow", request: HttpRequest, finish: Finish, body: Any = None, stream: bool = False
    ) -> None:
        self.flow = flow
        self.method, self.url, self.headers = request.method, request.url, request.headers
        self.body = request.body if body is None else body
        self.stream = stream
        self._finish = finish

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Finish the operation (errors of a follow-up request included)."""
        try:
            return self._finish(response, timeout)
        except TranslationError as exc:
            response.close()
            return gateway_exception(self.flow.leaf, 400, exc.message, param=exc.param)


def prepare(ctx: "ExchangeContext", leaf: Leaf) -> BatchExchange | Result:
    """Build the exchange for a files or batches call on Bedrock, or the error that prevents it."""
    fn = ctx.call.fn
    if fn not in FNS or not (leaf.spec.serves(fn) or leaf.spec.serves(SERVED_AS.get(fn, ""))):
        return gateway_exception(leaf, 400, f"{fn} is not supported by {leaf.provider}")
    try:
        flow = BatchFlow(ctx, leaf, ctx.credentials.target(leaf))
        return getattr(flow, fn)()
    except ProviderError as error:
        return error_result(leaf, error)
    except TranslationError as exc:
        return gateway_exception(leaf, 400, exc.message, param=exc.param)


class BatchFlow:
    """The requests and answers of each files and batches endpoint for one leaf."""

    def __init__(self, ctx: "ExchangeContext", leaf: Leaf, target: Target) -> None:
        self.ctx = ctx
        self.call = ctx.call
        self.leaf = leaf
        self.target = target
        self.segment = self.call.path.split("/")[2] if self.call.path.count("/") >= 2 else ""

    # -- plumbing --------------------------------------------------------------------------------

    def option(self, *names: str) -> str | None:
        """The first provider option set under any of ``names``, as text."""
        value = self.target.option(*names)
        return str(value) if value not in (None, "") else None

    def send(self, request: HttpRequest, timeout: Timeout, stream: bool = False) -> UpstreamResponse:
        """Send a follow-up request (transport failures propagate to the attempt loop)."""
        return self.ctx.outbound.client.send(
            request.method,
            request.url,
            headers=request.headers,
            body=request.body,
            stream=stream,
            timeout=timeout,
            guard=self.leaf.guard_host,
        )

    def ok(self, payload: Any) -> Result:
        """A 200 JSON result."""
        return json_result(200, payload, provider=self.leaf.provider, path=self.leaf.path)

    def fail(self, response: UpstreamResponse, s3: bool = False) -> Result:
        """The provider's error in OpenAI's envelope, with its status."""
        status, body, leaf = response.status_code, response.content, self.leaf
        payload = s3_error(status, body, self.target) if s3 else to_error(status, body, self.target)
        headers = without_type(relayed_headers(response))  # retry-after and request ids included
        return provider_failure(leaf, status, payload, headers)

    def job(self, response: UpstreamResponse) -> dict[str, Any] | Result:
        """The JSON object of a 2xx control-plane answer, or the error result."""
        if response.status_code >= 300:
            return self.fail(response)
        parsed = loads_or_none(response.content)
        if not isinstance(parsed, dict):
            error = ProviderError(self.leaf.provider, 502, f"{self.leaf.provider} error: unreadable answer")
            return error_result(self.leaf, error)
        return parsed

    def s3_call(
        self, method: str, uri: str, done: Callable[[UpstreamResponse], Result], body: Any = None, **kw: Any
    ) -> BatchExchange:
        """An exchange of one S3 request; ``done`` maps its 2xx answer."""

        def finish(response: UpstreamResponse, timeout: Timeout) -> Result:
            return self.fail(response, s3=True) if response.status_code >= 300 else done(response)

        return BatchExchange(self, s3_request(self.target, method, uri, **kw), finish, body, stream=method == "GET")

    def control_call(self, request: HttpRequest, done: Callable[[dict[str, Any], Timeout], Result]) -> BatchExchange:
        """An exchange starting with one control-plane request; ``done`` maps its JSON answer."""

        def finish(response: UpstreamResponse, timeout: Timeout) -> Result:
            job = self.job(response)
            return job if isinstance(job, Result) else done(job, timeout)

        return BatchExchange(self, request, finish)

    def get_job(self, identifier: str) -> HttpRequest:
        """GetModelInvocationJob."""
        return control_request(self.target, "GET", job_path(identifier))

    # -- files (endpoint ids as method names) ---------------------------------------------------

    def uploadFile(self) -> BatchExchange:
        """Transform the batch file into Bedrock records and PUT them to S3."""
        form = self.call.form
        purpose = form.fields.get("purpose") or "batch"
        if purpose != "batch":
            raise TranslationError(f"bedrock files serve batch inference only, not purpose {purpose!r}", "purpose")
        bucket = self.option("aws_s3_bucket")
        if not bucket:
            raise TranslationError("bedrock file uploads need an S3 bucket: aws_s3_bucket (x-portkey-aws-s3-bucket)")
        key = self.option("aws_s3_object_key", "provider_file_name") or f"{uuid.uuid4()}.jsonl"
        if not key.endswith(".jsonl"):
            raise TranslationError("Bedrock batch input objects must end in .jsonl", "aws_s3_object_key")
        storage = next((s for name, s in form.files if name == "file"), form.files[0][1])
        records = mapping.InputRecords(self.option("aws_bedrock_model", "provider_model"), self.target)
        spool, digest = spool_records(storage.stream, records)
        uri = f"s3://{bucket}/{key}"
        headers = {"content-type": "application/jsonl", **sse_headers(self.target)}
        done = lambda _: self.ok(mapping.to_file(uri, spool.size, None, purpose))  # noqa: E731
        return self.s3_call("PUT", uri, done, spool, sha256=digest, headers=headers)

    def retrieveFile(self) -> BatchExchange:
        """HEAD the object: its size and time."""
        uri = mapping.file_uri(self.segment)

        def done(response: UpstreamResponse) -> Result:
            try:
                created = int(parsedate_to_datetime(response.headers.get("last-modified", "")).timestamp())
            except (TypeError, ValueError):
                created = None
            return self.ok(mapping.to_file(uri, int(response.headers.get("content-length") or 0), created))

        return self.s3_call("HEAD", uri, done)

    def deleteFile(self) -> BatchExchange:
        """DELETE the object."""
        uri = mapping.file_uri(self.segment)
        return self.s3_call("DELETE", uri, lambda _: self.ok({"id": self.segment, "object": "file", "deleted": True}))

    def retrieveFileContent(self) -> BatchExchange:
        """GET the object: output files mapped line by line, other files as stored."""
        uri = mapping.file_uri(self.segment)
        model = self.option("aws_bedrock_model", "provider_model") or ""
        if uri.endswith(".out"):
            return self.s3_call("GET", uri, lambda response: output_stream(self.leaf, self.target, response, model))
        return self.s3_call("GET", uri, lambda response: relay(self.leaf, response))

    # -- batches ---------------------------------------------------------------------------------

    def createBatch(self) -> BatchExchange:
        """CreateModelInvocationJob; answer the new batch."""
        body = {**(self.call.body or {}), **self.leaf.override_params}
        format_model = self.option("aws_bedrock_model", "provider_model") or body.get("model")
        model = body.get("model") or format_model
        if not model:
            raise TranslationError(
                "createBatch on bedrock needs the model: model in the body or aws_bedrock_model "
                "(x-portkey-aws-bedrock-model)",
                "model",
            )
        role = body.get("role_arn") or self.option("aws_batch_role_arn", "aws_role_arn")
        if not role:
            raise TranslationError(
                "createBatch on bedrock needs the service role the job runs as: role_arn in the body, or "
                "aws_batch_role_arn (x-portkey-aws-batch-role-arn)",
                "role_arn",
            )
        job = mapping.job_request(body, str(model), str(format_model or model), str(role), self.target)
        request = control_request(self.target, "POST", "/model-invocation-job", payload=job)
        return self.control_call(
            request, lambda created, _: self.ok(mapping.created_batch(str(created.get("jobArn") or ""), job, body))
        )

    def retrieveBatch(self) -> BatchExchange:
        """GetModelInvocationJob."""
        request = self.get_job(mapping.job_identifier(self.segment))
        return self.control_call(request, lambda job, _: self.ok(mapping.to_batch(job)))

    def cancelBatch(self) -> BatchExchange:
        """StopModelInvocationJob, then read the job back."""
        identifier = mapping.job_identifier(self.segment)

        def stopped(_: dict[str, Any], timeout: Timeout) -> Result:
            job = self.job(self.send(self.get_job(identifier), timeout))
            if isinstance(job, Result):  # stopped, but not readable back: say what is known
                return self.ok({"id": mapping.encode_id(identifier), "object": "batch", "status": "cancelling"})
            return self.ok(mapping.to_batch(job))

        return self.control_call(control_request(self.target, "POST", job_path(identifier, "stop")), stopped)

    def listBatches(self) -> BatchExchange:
        """ListModelInvocationJobs, newest first; ``after`` a batch id lists what was submitted before it."""
        params = parse_qs(self.call.query)
        try:
            limit = min(1000, max(1, int(params.get("limit", ["20"])[0])))
        except ValueError:
            raise TranslationError("limit must be an integer", "limit") from None
        query = {"maxResults": str(limit), "sortBy": "CreationTime", "sortOrder": "Descending"}
        after = params.get("after", [""])[0]

        def list_request() -> HttpRequest:
            return control_request(self.target, "GET", "/model-invocation-jobs", urlencode(sorted(query.items())))

        def listed(raw: dict[str, Any], _: Timeout) -> Result:
            return self.ok(mapping.to_batch_list(raw))

        if not after or "model-invocation-job" not in mapping.decode_id(after, "arn:"):
            if after:
                query["nextToken"] = after  # a Bedrock page token
            return self.control_call(list_request(), listed)

        def after_job(job: dict[str, Any], timeout: Timeout) -> Result:  # the SDK pages by the last batch id
            query["submitTimeBefore"] = str(job.get("submitTime") or "")
            raw = self.job(self.send(list_request(), timeout))
            return raw if isinstance(raw, Result) else listed(raw, timeout)

        return self.control_call(self.get_job(mapping.job_identifier(after)), after_job)

    def getBatchOutput(self) -> BatchExchange:
        """GetModelInvocationJob, then stream its output file from S3, mapped."""

        def found(job: dict[str, Any], timeout: Timeout) -> Result:
            uri = mapping.output_uri(job)
            if uri is None:
                status = mapping.STATUS.get(str(job.get("status")), job.get("status"))
                error = ProviderError(
                    self.leaf.provider,
                    400,
                    f"{self.leaf.provider} error: batch {self.segment} has no output file (status: {status})",
                    error_type="invalid_request_error",
                    code="batch_output_unavailable",
                )
                return error_result(self.leaf, error)
            content = self.send(s3_request(self.target, "GET", uri), timeout, stream=True)
            if content.status_code >= 300:
                return self.fail(content, s3=True)
            return output_stream(self.leaf, self.target, content, str(job.get("modelId") or ""))

        return self.control_call(self.get_job(mapping.job_identifier(self.segment)), found)
