"""Azure OpenAI's non-chat endpoints through the gateway, with the official openai SDK (not ``AzureOpenAI``).

The SDK talks plain OpenAI to ``<gateway>/v1``; the ``x-portkey-azure-*`` headers make the gateway
route images and audio to the deployment and files, batches and fine-tuning jobs to the resource,
with ``api-version`` and Azure auth. The mock (``tests/mockprovider/azure.py``) checks both and
records what arrived (multipart calls as a summary of fields and file digests). ``route`` itself,
including the Responses URLs, is checked against the ``routes`` of ``tests/fixtures/azure.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import uuid
import wave
from pathlib import Path

import openai
import pytest
import requests

from tests.support import mock_client
from tests.unit.translators.test_golden import target_of
from translators.azure import translator as azure_translator

API_VERSION = "2024-10-21"
FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "azure.json").read_text())
PNG = bytes.fromhex("89504e470d0a1a0a") + b"\x00" * 64


# --- route(): golden cases -----------------------------------------------------------------------


def test_chat_family_stays_with_build_request() -> None:
    assert [
        fn
        for fn in ("chatComplete", "complete", "embed", "uploadFile", "moderate", "responses")
        if azure_translator.TRANSLATOR.supports(fn)
    ] == ["chatComplete", "complete", "embed"]


@pytest.mark.parametrize(
    ("fn", "version", "expected"),
    [
        ("createTranscription", "v1", "dep-1"),
        ("imageGenerate", "v1", "dep-1"),
        ("chatComplete", "v1", "dep-1"),
        ("responses", "2025-04-01-preview", "dep-1"),
        ("imageGenerate", API_VERSION, None),
        ("createFinetune", "v1", None),
        ("uploadFile", "v1", None),
    ],
)
def test_body_model_names_the_deployment_where_azure_wants_it(fn: str, version: str, expected: str | None) -> None:
    options = {"resource_name": "contoso", "deployment_id": "dep-1", "api_version": version}
    target = target_of(FIXTURE, {"target": {"options": options}})
    assert azure_translator.TRANSLATOR.body_model(fn, target) == expected


# --- live: helpers -------------------------------------------------------------------------------


def client(gateway, mockctl, *, version=API_VERSION, deployment="dep-1", key="az-key", headers=None, **switches):
    """An openai SDK client for azure-openai through ``gateway``; returns it and its mock scenario id."""
    azure = {
        "x-portkey-azure-resource-name": "contoso",
        "x-portkey-azure-api-version": version,
        **({"x-portkey-azure-deployment-id": deployment} if deployment else {}),
        **(headers or {}),
    }
    return mock_client(gateway, mockctl, "azure-openai", key=key, path="", headers=azure, **switches)


def overrides(**params) -> dict[str, str]:
    return {"x-portkey-config": json.dumps({"override_params": params})}


def wav_bytes(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A valid mono 16-bit PCM WAV file holding a 440 Hz tone."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def sent_headers(c: openai.OpenAI) -> dict[str, str]:
    """The headers the SDK client sends (for calls the SDK has no method for)."""
    headers = {k: v for k, v in c.default_headers.items() if isinstance(v, str) and k.lower() != "content-type"}
    return {**headers, "Authorization": f"Bearer {c.api_key}"}


def received(mockctl, sid: str, index: int = 0) -> dict:
    return mockctl.requests(sid)[index]


def summary(entry: dict) -> dict:
    """The mock's record of a multipart call: content type, fields and file digests."""
    return json.loads(entry["body"])


# --- live: images and audio (deployment paths) ---------------------------------------------------


def test_image_generation_goes_to_the_deployment(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, deployment="dalle3")
    raw = c.images.with_raw_response.generate(model="dall-e-3", prompt="a red fox", size="1024x1024", n=1)
    image = raw.parse()
    assert image.data[0].url.endswith("img-0.png") and image.data[0].revised_prompt == "a red fox"
    assert raw.headers["x-portkey-provider"] == "azure-openai"
    entry = received(mockctl, sid)
    assert (entry["method"], entry["path"]) == ("POST", "/openai/deployments/dalle3/images/generations")
    assert entry["query"] == f"api-version={API_VERSION}"
    assert entry["headers"]["api-key"] == "az-key" and "authorization" not in entry["headers"]
    assert json.loads(entry["body"]) == {"model": "dall-e-3", "prompt": "a red fox", "size": "1024x1024", "n": 1}


def test_image_edit_is_multipart_with_an_override_param(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, deployment="gpt-image", headers=overrides(size="512x512", quality="low"))
    image = c.images.edit(
        model="gpt-image-1", image=("fox.png", PNG, "image/png"), prompt="add a hat", size="1024x1024"
    )
    assert image.data[0].b64_json and image.data[0].revised_prompt == "add a hat"
    entry = received(mockctl, sid)
    assert entry["path"] == "/openai/deployments/gpt-image/images/edits"
    assert entry["query"] == f"api-version={API_VERSION}" and entry["headers"]["api-key"] == "az-key"
    assert entry["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    form = summary(entry)
    assert form["fields"] == {"model": "gpt-image-1", "prompt": "add a hat", "size": "512x512", "quality": "low"}
    assert form["files"] == [
        {
            "name": "image",
            "filename": "fox.png",
            "content_type": "image/png",
            "size": len(PNG),
            "sha256": hashlib.sha256(PNG).hexdigest(),
        }
    ]


def test_speech_is_streamed_binary_audio(gateway, mockctl) -> None:
    from tests.mockprovider.azure import speech_bytes

    c, sid = client(gateway, mockctl, deployment="tts", chunks=6, chunk_delay_ms=20)
    with c.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input="Hello there") as response:
        assert response.headers["content-type"] == "audio/mpeg"
        pieces = list(response.iter_bytes())
    assert b"".join(pieces) == b"".join(speech_bytes(6))
    entry = received(mockctl, sid)
    assert entry["path"] == "/openai/deployments/tts/audio/speech" and entry["query"] == f"api-version={API_VERSION}"
    assert json.loads(entry["body"]) == {"model": "tts-1", "voice": "alloy", "input": "Hello there"}
    assert mockctl.events(sid)[-1]["event"] == "completed"


def test_transcription_of_a_real_wav_with_a_multipart_override(gateway, mockctl) -> None:
    audio = wav_bytes(1.0)
    c, sid = client(gateway, mockctl, deployment="whisper", headers=overrides(language="fr", temperature=0.2))
    result = c.audio.transcriptions.create(
        model="whisper-1", file=("hello.wav", audio, "audio/wav"), response_format="verbose_json", language="en"
    )
    assert result.text == "mock transcription of 1.00s of audio"
    assert result.language == "fr" and result.duration == 1.0
    entry = received(mockctl, sid)
    assert entry["path"] == "/openai/deployments/whisper/audio/transcriptions"
    assert entry["query"] == f"api-version={API_VERSION}" and entry["headers"]["api-key"] == "az-key"
    form = summary(entry)
    assert form["fields"] == {
        "model": "whisper-1",
        "response_format": "verbose_json",
        "language": "fr",
        "temperature": "0.2",
    }
    assert form["files"][0]["name"] == "file" and form["files"][0]["sha256"] == hashlib.sha256(audio).hexdigest()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks audio.translations deprecated
def test_translation_as_plain_text(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, deployment="whisper")
    text = c.audio.translations.create(
        model="whisper-1", file=("hola.wav", wav_bytes(0.5), "audio/wav"), response_format="text"
    )
    assert text.strip() == "mock translation of 0.50s of audio"
    assert received(mockctl, sid)["path"] == "/openai/deployments/whisper/audio/translations"


def test_a_broken_wav_is_the_providers_400(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, deployment="whisper")
    with pytest.raises(openai.BadRequestError, match="azure-openai error: Invalid file format"):
        c.audio.transcriptions.create(model="whisper-1", file=("bad.wav", b"RIFF\x00\x00\x00\x00WAVEjunk", "audio/wav"))


# --- live: files, batches and fine-tuning (resource paths) ---------------------------------------


def test_files_upload_list_retrieve_content_delete(gateway, mockctl) -> None:
    content = b"".join(b'{"messages": [{"role": "user", "content": "line %d"}]}\n' % i for i in range(20000))
    c, sid = client(gateway, mockctl, deployment=None)
    created = c.files.create(file=("train.jsonl", content, "application/jsonl"), purpose="fine-tune")
    assert created.bytes == len(content) and created.purpose == "fine-tune" and created.status == "processed"
    upload = received(mockctl, sid)
    assert (upload["path"], upload["query"]) == ("/openai/files", f"api-version={API_VERSION}")
    assert upload["headers"]["api-key"] == "az-key"
    assert upload["size"] == int(upload["headers"]["content-length"]) > len(content)
    form = summary(upload)
    assert form["fields"] == {"purpose": "fine-tune"}
    assert form["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()

    assert c.files.content(created.id).content == content
    assert c.files.retrieve(created.id).filename == "train.jsonl"
    listed = c.files.list(purpose="fine-tune", limit=5)
    assert created.id in [f.id for f in listed.data]
    assert c.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError, match=f"azure-openai error: File '{created.id}' not found"):
        c.files.retrieve(created.id)
    calls = [(r["method"], r["path"], r["query"]) for r in mockctl.requests(sid)[1:]]
    assert calls == [
        ("GET", f"/openai/files/{created.id}/content", f"api-version={API_VERSION}"),
        ("GET", f"/openai/files/{created.id}", f"api-version={API_VERSION}"),
        ("GET", "/openai/files", f"api-version={API_VERSION}&limit=5&purpose=fine-tune"),
        ("DELETE", f"/openai/files/{created.id}", f"api-version={API_VERSION}"),
        ("GET", f"/openai/files/{created.id}", f"api-version={API_VERSION}"),
    ]


def test_batches_create_retrieve_cancel_list(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, deployment=None)
    line = {"custom_id": "r1", "method": "POST", "url": "/chat/completions", "body": {"model": "gpt-4o-batch"}}
    uploaded = c.files.create(file=("batch.jsonl", json.dumps(line).encode(), "application/jsonl"), purpose="batch")
    batch = c.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h", metadata={"team": "blue"}
    )
    assert batch.status == "validating" and batch.input_file_id == uploaded.id
    assert c.batches.retrieve(batch.id).id == batch.id
    assert c.batches.cancel(batch.id).status == "cancelling"
    page = c.batches.list(limit=1)
    assert [b.id for b in page.data] == [batch.id]
    calls = [(r["method"], r["path"], r["query"]) for r in mockctl.requests(sid)[1:]]
    assert calls == [
        ("POST", "/openai/batches", f"api-version={API_VERSION}"),
        ("GET", f"/openai/batches/{batch.id}", f"api-version={API_VERSION}"),
        ("POST", f"/openai/batches/{batch.id}/cancel", f"api-version={API_VERSION}"),
        ("GET", "/openai/batches", f"api-version={API_VERSION}&limit=1"),
    ]
    sent = json.loads(mockctl.requests(sid)[1]["body"])
    assert sent == {
        "input_file_id": uploaded.id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "metadata": {"team": "blue"},
    }


def test_batch_output_is_two_routed_requests(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, deployment=None)
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/chat/completions",
            "body": {"model": "gpt-4o-batch", "messages": [{"role": "user", "content": f"question {i}"}]},
        }
        for i in range(3)
    ]
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    uploaded = c.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch")
    batch = c.batches.create(
        input_file_id=uploaded.id, endpoint="/chat/completions", completion_window="24h", metadata={"mock": "complete"}
    )
    assert batch.status == "completed" and batch.request_counts.total == 3
    output = requests.get(f"{gateway.url}/v1/batches/{batch.id}/output", headers=sent_headers(c), timeout=10)
    assert output.status_code == 200
    answers = [json.loads(line) for line in output.content.splitlines()]
    assert [a["custom_id"] for a in answers] == ["r0", "r1", "r2"]
    assert answers[2]["response"]["body"]["choices"][0]["message"]["content"] == "echo: question 2"
    calls = [(r["method"], r["path"], r["query"], r["headers"]["api-key"]) for r in mockctl.requests(sid)[2:]]
    assert calls == [
        ("GET", f"/openai/batches/{batch.id}", f"api-version={API_VERSION}", "az-key"),
        ("GET", f"/openai/files/{batch.output_file_id}/content", f"api-version={API_VERSION}", "az-key"),
    ]


def test_fine_tuning_jobs_create_list_cancel(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, deployment=None, headers=overrides(suffix="gw"))
    uploaded = c.files.create(file=("train.jsonl", b'{"messages": []}\n', "application/jsonl"), purpose="fine-tune")
    first = c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=uploaded.id)
    second = c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=uploaded.id, seed=7)
    assert first.status == "pending" and first.suffix == "gw" and second.seed == 7
    page = c.fine_tuning.jobs.list(limit=1, after=second.id)
    assert [j.id for j in page.data] == [first.id]
    events = c.fine_tuning.jobs.list_events(first.id)
    assert events.data[0].message == "Job pending"
    assert c.fine_tuning.jobs.cancel(first.id).status == "cancelled"
    requests_seen = mockctl.requests(sid)
    assert json.loads(requests_seen[1]["body"]) == {
        "model": "gpt-4o-mini-2024-07-18",
        "training_file": uploaded.id,
        "suffix": "gw",
    }
    calls = [(r["method"], r["path"], r["query"]) for r in requests_seen[3:]]
    assert calls == [
        ("GET", "/openai/fine_tuning/jobs", f"api-version={API_VERSION}&after={second.id}&limit=1"),
        ("GET", f"/openai/fine_tuning/jobs/{first.id}/events", f"api-version={API_VERSION}"),
        ("POST", f"/openai/fine_tuning/jobs/{first.id}/cancel", f"api-version={API_VERSION}"),
    ]


def test_v1_api_version_uses_openai_v1_paths_without_api_version(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, version="v1", deployment=None)
    uploaded = c.files.create(file=("b.jsonl", b"{}\n", "application/jsonl"), purpose="batch")
    c.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    c.batches.list(limit=3)
    calls = [(r["method"], r["path"], r["query"]) for r in mockctl.requests(sid)]
    assert calls == [
        ("POST", "/openai/v1/files", ""),
        ("POST", "/openai/v1/batches", ""),
        ("GET", "/openai/v1/batches", "limit=3"),
    ]


# --- live: auth and errors -----------------------------------------------------------------------


def test_a_static_ad_token_replaces_the_key(gateway, mockctl) -> None:
    issued = requests.post(
        mockctl.url + "/tenant-x/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": "app", "client_secret": "s", "scope": "x"},
        timeout=5,
    ).json()["access_token"]
    c, sid = client(gateway, mockctl, deployment=None, headers={"x-portkey-azure-ad-token": f"Bearer {issued}"})
    c.batches.list()
    entry = received(mockctl, sid)
    assert entry["headers"]["authorization"] == f"Bearer {issued}" and "api-key" not in entry["headers"]


def test_an_entra_token_is_fetched_for_endpoints_too(gateway_factory, mockctl) -> None:
    token_sid = "azent-" + uuid.uuid4().hex[:8]
    entra_gateway = gateway_factory(GATEWAY_AZURE_AUTHORITY_HOST=f"{mockctl.url}/s/id={token_sid}")
    entra = {
        "x-portkey-azure-auth-mode": "entra",
        "x-portkey-azure-entra-tenant-id": "tenant-ep",
        "x-portkey-azure-entra-client-id": "app-ep",
        "x-portkey-azure-entra-client-secret": "s3cret",
    }
    c, sid = client(entra_gateway, mockctl, deployment="tts", key="unused", headers=entra)
    c.fine_tuning.jobs.list()
    c.audio.speech.create(model="tts-1", voice="alloy", input="hi").read()
    sent = mockctl.requests(sid)
    assert len(sent) == 2 and len(mockctl.requests(token_sid)) == 1
    assert all(r["headers"]["authorization"].startswith("Bearer entra-tenant-ep-") for r in sent)
    assert all("api-key" not in r["headers"] for r in sent)


def test_moderations_are_refused_without_a_call(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match="Moderations are not an Azure OpenAI endpoint"):
        c.moderations.create(model="omni-moderation-latest", input="hello")
    assert mockctl.requests(sid) == []


def test_a_deployment_endpoint_without_a_deployment_is_a_400(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, deployment=None)
    with pytest.raises(openai.BadRequestError, match="deployment_id"):
        c.images.generate(model="dall-e-3", prompt="x")
    assert mockctl.requests(sid) == []


def test_provider_errors_keep_azures_message_and_status(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, deployment=None)
    with pytest.raises(openai.NotFoundError, match="azure-openai error: Batch 'batch_nope' not found") as caught:
        c.batches.retrieve("batch_nope")
    assert caught.value.body["code"] == "NotFound"
    limited, sid = client(gateway, mockctl, deployment="tts", status=429)
    with pytest.raises(openai.RateLimitError, match="azure-openai error: mock failure 429"):
        limited.audio.speech.create(model="tts-1", voice="alloy", input="hi")
    assert len(mockctl.requests(sid)) >= 1


def test_an_unknown_bearer_token_is_azures_401(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, deployment=None, headers={"x-portkey-azure-ad-token": "not-issued"})
    with pytest.raises(openai.AuthenticationError, match="azure-openai error: Bearer token is invalid or expired"):
        c.files.list()


def test_v1_deployment_endpoints_name_the_deployment_as_model(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, version="v1", deployment="img-dep")
    c.images.generate(model="dall-e-3", prompt="a fox")
    c.images.edit(model="gpt-image-1", image=("fox.png", PNG, "image/png"), prompt="hat")
    first, second = mockctl.requests(sid)
    assert first["path"] == "/openai/v1/images/generations" and json.loads(first["body"])["model"] == "img-dep"
    assert second["path"] == "/openai/v1/images/edits" and summary(second)["fields"]["model"] == "img-dep"


# --- live: the Responses API is served by Azure itself -------------------------------------------


def test_responses_create_retrieve_and_stream_natively(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, version="2025-04-01-preview", deployment="resp-dep")
    made = c.responses.create(model="gpt-4o", input="hello")
    assert made.output_text == "azure: hello" and made.id.startswith("resp")
    again = c.responses.retrieve(made.id)
    assert again.id == made.id and again.output_text == "azure: hello"
    with c.responses.stream(model="gpt-4o", input="streamed") as events:
        final = events.get_final_response()
    assert final.output_text == "azure: streamed"
    calls = [(r["method"], r["path"], r["query"]) for r in mockctl.requests(sid)]
    query = "api-version=2025-04-01-preview"
    assert calls == [
        ("POST", "/openai/responses", query),
        ("GET", f"/openai/responses/{made.id}", query),
        ("POST", "/openai/responses", query),
    ]
    first = json.loads(received(mockctl, sid)["body"])
    assert first["model"] == "resp-dep" and first["input"] == "hello"
