"""OpenAI Files and Batches on Bedrock batch inference, through gunicorn with the official openai SDK.

The mock (``tests/mockprovider/bedrock_batch.py``) keeps S3 objects and model invocation jobs in
memory and verifies every SigV4 signature (S3's rules for ``s3``, the Bedrock mock's for the control
plane), so a passing call proves what the gateway signed and sent. Tests move jobs along with the
mock's control route, which also writes the output file a finished Bedrock job would.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from urllib.parse import quote

import openai
import pytest
import requests

from tests.mockprovider import bedrock as mock
from tests.support import mock_client, mock_host, scenario_id, sdk_client

BUCKET = "mock-batch-bucket"
NOVA = "amazon.nova-lite-v1:0"
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
ROLE = "arn:aws:iam::123456789012:role/BedrockBatchRole"
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def aws(key: str = mock.ACCESS_KEY, secret: str = mock.SECRET_KEY, **options: str) -> dict[str, str]:
    headers = {
        "x-portkey-aws-region": "us-west-2",
        "x-portkey-aws-access-key-id": key,
        "x-portkey-aws-secret-access-key": secret,
    }
    return headers | {f"x-portkey-{name.replace('_', '-')}": value for name, value in options.items()}


def client(gateway, mockctl, *, model: str | None = NOVA, bucket: str | None = BUCKET, headers=None, **switches):
    """An SDK client for bedrock with the batch options; returns it and its mock scenario id."""
    options = {**({"aws_s3_bucket": bucket} if bucket else {}), **({"aws_bedrock_model": model} if model else {})}
    return mock_client(
        gateway, mockctl, "bedrock", key="sk-unused", path="", headers=headers or aws(**options), **switches
    )


def line(custom_id: str, text: str, **body) -> dict:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "any", "messages": messages, "max_tokens": 64, **body},
    }


def jsonl(*items: dict) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


THREE = jsonl(line("req-1", "first"), line("req-2", "please FAIL"), line("req-3", "third"))


def stored(mockctl, uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    response = requests.get(f"{mockctl.url}/_mock/s3/{bucket}/{key}", timeout=5)
    assert response.status_code == 200, uri
    return response.content


def move(mockctl, batch_id: str, status: str, **extra) -> dict:
    job_id = batch_id.rsplit("%2F", 1)[-1]
    response = requests.post(f"{mockctl.url}/_mock/bedrock-batch/jobs/{job_id}", json={"status": status, **extra})
    assert response.status_code == 200
    return response.json()


def raw_get(c: openai.OpenAI, path: str) -> requests.Response:
    """A GET the SDK has no method for, with the SDK client's headers (the id escaped as the SDK does)."""
    headers = {k: v for k, v in c.default_headers.items() if isinstance(v, str)}
    return requests.get(f"{c.base_url}{path}", headers=headers, timeout=10)


def upload(c: openai.OpenAI, content: bytes = THREE, name: str = "batch.jsonl"):
    return c.files.create(file=(name, content, "application/jsonl"), purpose="batch")


def create_batch(c: openai.OpenAI, uploaded, **extra_body):
    """A chat-completions batch of the ``uploaded`` file, run by ``ROLE``."""
    return c.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_body={"role_arn": ROLE, **extra_body},
    )


# -- files ---------------------------------------------------------------------------------------


def test_upload_writes_converse_records_to_s3_with_a_valid_s3_signature(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    uploaded = upload(c)
    put = mockctl.requests(sid)[0]
    bucket, key = put["path"].lstrip("/").split("/")
    assert (put["method"], bucket) == ("PUT", BUCKET) and uuid.UUID(key.removesuffix(".jsonl"))
    uri = f"s3://{BUCKET}/{key}"
    assert uploaded.id == quote(uri, safe="-_.!~*'()") and uploaded.filename == uri
    assert (uploaded.object, uploaded.purpose, uploaded.status, uploaded.bytes) == (
        "file",
        "batch",
        "processed",
        put["size"],
    )
    auth = put["headers"]["authorization"]
    assert f"Credential={mock.ACCESS_KEY}/" in auth and "/us-west-2/s3/aws4_request" in auth
    assert "x-amz-content-sha256" in auth.split("SignedHeaders=")[1].split(",")[0]
    assert put["headers"]["x-amz-content-sha256"] == put["sha256"]
    records = [json.loads(x) for x in stored(mockctl, uri).splitlines()]
    assert [r["recordId"] for r in records] == ["req-1", "req-2", "req-3"]
    first = records[0]["modelInput"]
    assert first == {
        "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": "first"}]}],
        "inferenceConfig": {"maxTokens": 64},
    }


def test_upload_for_claude_writes_messages_bodies_with_tools_and_a_session_token(gateway, mockctl) -> None:
    headers = aws(
        mock.SESSION_ACCESS_KEY,
        mock.SESSION_SECRET,
        aws_session_token=mock.SESSION_TOKEN,
        aws_s3_bucket=BUCKET,
        aws_s3_object_key="claude/input.jsonl",
        amz_server_side_encryption="AES256",
    )
    c, sid = client(gateway, mockctl, headers=headers)
    content = jsonl(line("w-1", "weather in Oslo?", tools=[WEATHER], model=SONNET), line("w-2", "hi", model=SONNET))
    uploaded = upload(c, content)
    assert uploaded.id == "s3%3A%2F%2Fmock-batch-bucket%2Fclaude%2Finput.jsonl"
    put = mockctl.requests(sid)[0]
    assert put["path"] == f"/{BUCKET}/claude/input.jsonl"
    assert put["headers"]["x-amz-security-token"] == mock.SESSION_TOKEN
    assert put["headers"]["x-amz-server-side-encryption"] == "AES256"
    record = json.loads(stored(mockctl, "s3://mock-batch-bucket/claude/input.jsonl").splitlines()[0])
    body = record["modelInput"]
    assert body["anthropic_version"] == "bedrock-2023-05-31" and "model" not in body
    assert body["system"] == [{"type": "text", "text": "Be brief."}] and body["max_tokens"] == 64
    assert body["tools"][0]["name"] == "get_weather"


def test_a_failed_put_is_retried_with_the_whole_body(gateway, mockctl) -> None:
    config = {"retry": {"attempts": 2, "on_status_codes": [503]}}
    headers = {**aws(aws_s3_bucket=BUCKET, aws_bedrock_model=NOVA), "x-portkey-config": json.dumps(config)}
    c, sid = client(gateway, mockctl, headers=headers, status=503, fail_times=1)
    uploaded = upload(c)
    first, second = mockctl.requests(sid)
    assert first["sha256"] == second["sha256"] == second["headers"]["x-amz-content-sha256"]
    assert first["size"] == second["size"] == uploaded.bytes


def test_retrieve_download_and_delete_an_uploaded_file(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    uploaded = upload(c)
    info = c.files.retrieve(uploaded.id)
    assert (info.id, info.bytes, info.purpose) == (uploaded.id, uploaded.bytes, "batch")
    assert info.created_at > 1_600_000_000
    content = c.files.content(uploaded.id).read()
    assert content == stored(mockctl, uploaded.filename)
    assert [r["method"] for r in mockctl.requests(sid)] == ["PUT", "HEAD", "GET"]
    assert c.files.delete(uploaded.id).deleted is True
    with pytest.raises(openai.NotFoundError, match="NoSuchKey"):
        c.files.content(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        c.files.retrieve(uploaded.id)


# -- batches -------------------------------------------------------------------------------------


def test_a_batch_from_upload_to_output(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    uploaded = upload(c)
    batch = create_batch(c, uploaded)
    create = next(r for r in mockctl.requests(sid) if r["path"] == "/model-invocation-job")
    assert "/us-west-2/bedrock/aws4_request" in create["headers"]["authorization"]
    job = json.loads(create["body"])
    assert job["jobName"].startswith("portkey-batch-")
    assert {k: job[k] for k in ("roleArn", "modelId", "modelInvocationType", "timeoutDurationInHours")} == {
        "roleArn": ROLE,
        "modelId": NOVA,
        "modelInvocationType": "Converse",
        "timeoutDurationInHours": 24,
    }
    assert job["inputDataConfig"] == {"s3InputDataConfig": {"s3Uri": uploaded.filename}}
    assert job["outputDataConfig"] == {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/"}}
    assert batch.id.startswith("arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Amodel-invocation-job%2Fmockjob")
    assert (batch.status, batch.input_file_id, batch.endpoint) == ("validating", uploaded.id, "/v1/chat/completions")

    assert c.batches.retrieve(batch.id).status == "validating"
    move(mockctl, batch.id, "InProgress")
    assert c.batches.retrieve(batch.id).status == "in_progress"
    early = raw_get(c, f"/batches/{quote(batch.id, safe='')}/output")
    assert early.status_code == 400 and early.json()["error"]["code"] == "batch_output_unavailable"
    assert "no output file (status: in_progress)" in early.json()["error"]["message"]

    move(mockctl, batch.id, "PartiallyCompleted")
    done = c.batches.retrieve(batch.id)
    assert done.status == "completed" and done.completed_at and done.model == NOVA
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (3, 2, 1)
    job_id = batch.id.rsplit("%2F", 1)[-1]
    assert done.output_file_id == quote(f"s3://{BUCKET}/{job_id}/{uploaded.filename.rsplit('/', 1)[-1]}.out", safe="")

    response = raw_get(c, f"/batches/{quote(batch.id, safe='')}/output")
    assert response.status_code == 200, response.text
    lines = [json.loads(x) for x in response.content.splitlines()]
    assert [x["custom_id"] for x in lines] == ["req-1", "req-2", "req-3"]
    ok = lines[0]
    assert ok["error"] is None and ok["response"]["status_code"] == 200
    completion = ok["response"]["body"]
    assert completion["object"] == "chat.completion" and completion["model"] == NOVA
    assert completion["choices"][0]["message"]["content"] == "echo: first"
    assert completion["choices"][0]["finish_reason"] == "stop" and completion["usage"]["total_tokens"] > 0
    failed = lines[1]
    assert failed["response"]["status_code"] == 400
    assert failed["error"] == {"code": "400", "message": "Malformed input request: the mock model refused FAIL"}
    assert "the mock model refused FAIL" in failed["response"]["body"]["error"]["message"]
    # the output file id works with files.content too
    assert [json.loads(x)["custom_id"] for x in c.files.content(done.output_file_id).read().splitlines()] == [
        "req-1",
        "req-2",
        "req-3",
    ]


def test_claude_output_maps_tool_calls(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, model=SONNET)
    uploaded = upload(c, jsonl(line("t-1", "weather?", tools=[WEATHER]), line("t-2", "hello")))
    batch = create_batch(c, uploaded)
    move(mockctl, batch.id, "Completed")
    lines = [json.loads(x) for x in raw_get(c, f"/batches/{quote(batch.id, safe='')}/output").content.splitlines()]
    call = lines[0]["response"]["body"]["choices"][0]
    assert call["finish_reason"] == "tool_calls"
    assert call["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert lines[1]["response"]["body"]["choices"][0]["message"]["content"] == "echo: hello"


def test_cancel_then_list_with_sdk_paging(gateway, mockctl) -> None:
    c, sid = client(
        gateway, mockctl, headers=aws(aws_s3_bucket=BUCKET, aws_bedrock_model=NOVA, aws_batch_role_arn=ROLE)
    )
    uploaded = upload(c)
    ids = [
        c.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h").id
        for _ in range(3)
    ]
    cancelled = c.batches.cancel(ids[0])
    assert (cancelled.id, cancelled.status) == (ids[0], "cancelling") and cancelled.cancelling_at
    stop = next(r for r in mockctl.requests(sid) if r["path"].endswith("/stop"))
    assert stop["method"] == "POST" and stop["path"].startswith("/model-invocation-job/arn:aws:bedrock:")
    with pytest.raises(openai.BadRequestError, match="cannot be stopped in status Stopping"):
        c.batches.cancel(ids[0])
    move(mockctl, ids[0], "Stopped")
    assert c.batches.retrieve(ids[0]).status == "cancelled"

    page = c.batches.list(limit=2)
    assert [b.id for b in page.data] == ids[::-1][:2] and page.has_more is True
    assert [b.id for b in c.batches.list(limit=2)] == ids[::-1]  # the SDK pages with after=<last id>
    listed = [r for r in mockctl.requests(sid) if r["path"] == "/model-invocation-jobs"]
    assert "maxResults=2" in listed[0]["query"] and "submitTimeBefore=" in listed[-1]["query"]


def test_a_job_whose_records_do_not_fit_fails_with_bedrocks_message(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    uploaded = upload(c)  # Converse records (Nova)
    other, _ = client(gateway, mockctl, model=None)
    batch = create_batch(other, uploaded, model=SONNET)  # an InvokeModel job for Converse records
    failed = other.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.failed_at
    assert "anthropic_version" in failed.errors.data[0].message


# -- errors --------------------------------------------------------------------------------------


def gateway_error(exc: openai.APIStatusError) -> dict:
    return exc.response.json()


def test_missing_bucket_and_role_are_gateway_400s(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, bucket=None)
    with pytest.raises(openai.BadRequestError) as info:
        upload(c)
    assert gateway_error(info.value)["status"] == "failure"
    assert "aws_s3_bucket" in gateway_error(info.value)["message"]
    c, _ = client(gateway, mockctl)
    uploaded = upload(c)
    with pytest.raises(openai.BadRequestError) as info:
        c.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert "role_arn" in gateway_error(info.value)["message"]
    assert not list(mockctl.requests(sid))


def test_bad_lines_are_400s_naming_the_line(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match="line 2 of the batch file is not JSON"):
        upload(c, jsonl(line("a", "x")) + b"{not json\n")
    with pytest.raises(openai.BadRequestError, match="line 2: custom_id 'a' is not unique"):
        upload(c, jsonl(line("a", "x"), line("a", "y")))
    with pytest.raises(openai.BadRequestError, match="line 1: tools and response_format need an Anthropic model"):
        upload(c, jsonl(line("a", "x", tools=[WEATHER])))
    with pytest.raises(openai.BadRequestError, match="/v1/chat/completions only"):
        upload(c, jsonl({**line("a", "x"), "url": "/v1/embeddings"}))


def test_s3_and_bedrock_errors_keep_the_providers_status(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, bucket="no-such-bucket")
    with pytest.raises(openai.NotFoundError, match="NoSuchBucket: The specified bucket does not exist") as info:
        upload(c)
    assert info.value.response.json()["provider"] == "bedrock"
    c, _ = client(gateway, mockctl, headers=aws(secret="wrong", aws_s3_bucket=BUCKET))
    with pytest.raises(openai.PermissionDeniedError, match="SignatureDoesNotMatch"):
        upload(c)
    c, _ = client(gateway, mockctl, status=503)
    with pytest.raises(openai.InternalServerError) as info:
        upload(c)
    assert info.value.status_code == 503 and "S3 answered 503" in info.value.message
    c, _ = client(gateway, mockctl)
    missing = quote("arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/zzzzzzzzzzzz", safe="")
    with pytest.raises(openai.NotFoundError, match="bedrock error: The specified job .* could not be found"):
        c.batches.retrieve(missing)


def test_listing_files_is_not_a_bedrock_operation(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match="listFiles is not supported by bedrock"):
        c.files.list()


def test_stored_records_hash_matches_what_was_signed(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    uploaded = upload(c)
    body = stored(mockctl, uploaded.filename)
    assert hashlib.sha256(body).hexdigest() == mockctl.requests(sid)[0]["headers"]["x-amz-content-sha256"]
    assert uploaded.bytes == len(body)


def test_options_from_a_camel_case_config(gateway, mockctl) -> None:
    sid = scenario_id()
    config = {
        "provider": "bedrock",
        "awsAccessKeyId": mock.ACCESS_KEY,
        "awsSecretAccessKey": mock.SECRET_KEY,
        "awsRegion": "eu-central-1",
        "awsS3Bucket": BUCKET,
        "awsS3ObjectKey": f"cfg/{sid}.jsonl",
        "awsBedrockModel": NOVA,
        "customHost": mock_host(mockctl, "", id=sid),
    }
    c = sdk_client(gateway, "bedrock", key="sk-unused", **{"x-portkey-config": json.dumps(config)})
    uploaded = upload(c)
    assert uploaded.filename == f"s3://{BUCKET}/cfg/{sid}.jsonl"
    assert "/eu-central-1/s3/aws4_request" in mockctl.requests(sid)[0]["headers"]["authorization"]


def test_a_large_batch_streams_through_both_ways(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    count = 4000
    filler = "x" * 200
    content = jsonl(*(line(f"r{i:05d}", f"item {i} {filler}") for i in range(count)))
    assert len(content) > 1_000_000  # the form part and the transformed records both go to disk
    uploaded = upload(c, content)
    batch = create_batch(c, uploaded)
    move(mockctl, batch.id, "Completed")
    with requests.get(
        f"{c.base_url}/batches/{quote(batch.id, safe='')}/output",
        headers={k: v for k, v in c.default_headers.items() if isinstance(v, str)},
        stream=True,
        timeout=30,
    ) as response:
        assert response.status_code == 200
        ids = [json.loads(x)["custom_id"] for x in response.iter_lines() if x]
    assert ids == [f"r{i:05d}" for i in range(count)]


# -- the pure mapping (translators/bedrock_batch*.py) ----------------------------------------------


def _target(**options):
    from translators.contract import Target

    base = {"aws_access_key_id": mock.ACCESS_KEY, "aws_secret_access_key": mock.SECRET_KEY, "aws_region": "us-west-2"}
    return Target(provider="bedrock", options={**base, **options}, strict=True)


@pytest.mark.parametrize(
    ("bedrock", "openai_status"),
    [
        ("Submitted", "validating"),
        ("Validating", "validating"),
        ("Scheduled", "in_progress"),
        ("InProgress", "in_progress"),
        ("Completed", "completed"),
        ("PartiallyCompleted", "completed"),
        ("Failed", "failed"),
        ("Stopping", "cancelling"),
        ("Stopped", "cancelled"),
        ("Expired", "expired"),
    ],
)
def test_status_mapping(bedrock: str, openai_status: str) -> None:
    from translators.bedrock.batch import to_batch

    job = {
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl",
        "status": bedrock,
        "submitTime": "2024-05-01T10:00:00.000Z",
        "lastModifiedTime": "2024-05-01T11:00:00Z",
        "endTime": "2024-05-01T12:00:00Z",
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://b/in/data.jsonl"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/out/"}},
    }
    batch = to_batch(job)
    assert batch["status"] == openai_status
    assert batch["created_at"] == 1714557600 and batch["input_file_id"] == "s3%3A%2F%2Fb%2Fin%2Fdata.jsonl"
    has_output = bedrock in ("Completed", "PartiallyCompleted")
    assert batch["output_file_id"] == ("s3%3A%2F%2Fb%2Fout%2Fabcdefghijkl%2Fdata.jsonl.out" if has_output else None)
    ended = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}
    if openai_status in ended:
        assert batch[ended[openai_status]] == 1714564800


def test_job_request_output_config_variants_and_limits() -> None:
    from translators.bedrock.batch import job_request

    body = {"input_file_id": "s3%3A%2F%2Fb%2Fdir%2Fin.jsonl", "endpoint": "/v1/chat/completions"}
    target = _target(amz_server_side_encryption_aws_kms_key_id="kms-1")
    job = job_request({**body, "completion_window": "48h"}, SONNET, SONNET, ROLE, target)
    assert job["outputDataConfig"] == {"s3OutputDataConfig": {"s3Uri": "s3://b/dir/", "s3EncryptionKeyId": "kms-1"}}
    assert "modelInvocationType" not in job and job["timeoutDurationInHours"] == 48
    given = job_request(
        {**body, "output_data_config": {"s3Uri": "s3://o/x/"}, "job_name": "j1"}, NOVA, NOVA, ROLE, _target()
    )
    assert given["outputDataConfig"] == {"s3OutputDataConfig": {"s3Uri": "s3://o/x/"}} and given["jobName"] == "j1"
    assert given["modelInvocationType"] == "Converse" and "timeoutDurationInHours" not in given
    from translators.contract import TranslationError

    with pytest.raises(TranslationError, match="/v1/chat/completions endpoint only"):
        job_request({**body, "endpoint": "/v1/embeddings"}, NOVA, NOVA, ROLE, _target())
    with pytest.raises(TranslationError, match="not a bedrock file id"):
        job_request({**body, "input_file_id": "file-abc"}, NOVA, NOVA, ROLE, _target())


def test_output_lines_for_every_record_shape() -> None:
    from translators.bedrock.batch import output_line

    converse = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "max_tokens"}
    converse["usage"] = {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}
    line_ = output_line({"recordId": "a", "modelOutput": converse}, NOVA, _target())
    body = line_["response"]["body"]
    assert body["model"] == NOVA and body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["prompt_tokens"] == 3 and line_["custom_id"] == "a" and line_["error"] is None
    message = {"id": "msg_1", "type": "message", "model": "claude", "content": [{"type": "text", "text": "yo"}]}
    line_ = output_line({"recordId": "b", "modelOutput": {**message, "stop_reason": "end_turn"}}, SONNET, _target())
    assert (
        line_["response"]["request_id"] == "msg_1"
        and line_["response"]["body"]["choices"][0]["message"]["content"] == "yo"
    )
    line_ = output_line({"recordId": "c", "error": {"errorCode": 429, "errorMessage": "slow down"}}, NOVA, _target())
    assert line_["response"]["status_code"] == 429 and line_["error"] == {"code": "429", "message": "slow down"}
    line_ = output_line({"recordId": "d"}, NOVA, _target())
    assert line_["response"]["status_code"] == 500 and line_["error"]["code"] == "record_failed"
    native = {"generation": "text", "stop_reason": "stop"}
    assert output_line({"recordId": "e", "modelOutput": native}, NOVA, _target())["response"]["body"] == native


def test_ids_decode_when_escaped_twice_and_blank_lines_are_skipped() -> None:
    from translators.bedrock.batch import InputRecords, file_uri, job_identifier

    assert file_uri("s3%253A%252F%252Fb%252Fk.jsonl") == "s3://b/k.jsonl"
    assert file_uri(quote("s3://b/a%20b.jsonl", safe="")) == "s3://b/a%20b.jsonl"  # a % in the key stays
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl"
    assert job_identifier(quote(arn, safe="")) == arn
    records = InputRecords(None, _target())
    assert records.line(b"\r\n") == b""
    out = json.loads(records.line(json.dumps(line("x", "hi", model=SONNET)).encode() + b"\r\n"))
    assert records.model == SONNET and out["modelInput"]["anthropic_version"] == "bedrock-2023-05-31"


def test_s3_addressing_signing_and_errors() -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from translators.bedrock.batch_http import control_request, job_path, object_url, s3_error, s3_request
    from translators.contract import Target

    target = _target()
    assert object_url(target, "plain", "a b/c.jsonl") == "https://plain.s3.us-west-2.amazonaws.com/a%20b/c.jsonl"
    assert object_url(target, "with.dots", "k") == "https://s3.us-west-2.amazonaws.com/with.dots/k"
    pinned = Target(provider="bedrock", options=target.options, credentials={"signing_time": "20240501T100000Z"})
    signed = s3_request(pinned, "GET", "s3://plain/a b/c.jsonl")
    check = AWSRequest(
        method="GET", url=signed.url, headers={k: v for k, v in signed.headers.items() if k != "authorization"}
    )
    check.context["timestamp"] = "20240501T100000Z"
    signer = S3SigV4Auth(Credentials(mock.ACCESS_KEY, mock.SECRET_KEY), "s3", "us-west-2")
    expected = signer.signature(signer.string_to_sign(check, signer.canonical_request(check)), check)
    assert signed.headers["authorization"].endswith(f"Signature={expected}")
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl"
    assert job_path(arn, "stop") == f"/model-invocation-job/{quote(arn, safe='')}/stop"
    stop = control_request(pinned, "POST", job_path(arn, "stop"))
    assert stop.url.startswith("https://bedrock.us-west-2.amazonaws.com/model-invocation-job/arn%3Aaws%3A")
    xml = b"<Error><Code>AccessDenied</Code><Message>Access &amp; Denied</Message></Error>"
    assert (
        s3_error(403, xml, target)["error"]["message"]
        == "bedrock error: S3 answered 403: AccessDenied: Access & Denied"
    )
    assert s3_error(404, b"", target)["error"]["message"].endswith("Not Found: no such S3 object")


def test_a_key_with_reserved_characters_is_escaped_once_and_signed_as_sent(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, headers=aws(aws_s3_bucket=BUCKET, aws_s3_object_key="my dir/a+b=c.jsonl"))
    uploaded = upload(c)
    assert uploaded.filename == f"s3://{BUCKET}/my dir/a+b=c.jsonl"
    assert c.files.retrieve(uploaded.id).bytes == uploaded.bytes
    put = mockctl.requests(sid)[0]
    assert put["path"] == f"/{BUCKET}/my dir/a+b=c.jsonl"  # the mock's decoded view of /my%20dir/a%2Bb%3Dc.jsonl
