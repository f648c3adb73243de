"""OpenAI's non-chat endpoints end to end through gunicorn, with the official openai SDK.

Images, audio, files, batches (with the gateway's ``/output`` download), fine-tuning jobs and
moderations go to ``openai`` and OpenAI-compatible providers (``groq``, ``lemonfox-ai``) on the
mock (``tests/mockprovider/openai_media.py``), which records each upload's size and sha256 after
reading it whole. Also covered: override params on multipart fields, a retried upload resent
from the spooled form, fallback, the generic proxy for assistants and threads, bad input, a
truncated download, and 500 MB each way through one worker whose RSS must stay flat.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import requests
from openai import OpenAI

from tests.support import mock_client, mock_headers, scenario_id

# The SDK marks translations, variations and the Assistants API deprecated; they are still served.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PNG = bytes.fromhex("89504e470d0a1a0a") + b"\x00\x00\x00\x0dIHDR" + os.urandom(200)
PATTERN = bytes(range(256)) * 256
BIG = 500 * 1024 * 1024


def client(gateway, mockctl, provider: str = "openai", key: str = "sk-live", **switches) -> tuple[OpenAI, str]:
    return mock_client(gateway, mockctl, provider, key=key, **switches)


def config_client(gateway, config: dict) -> OpenAI:
    """An SDK client whose requests are routed by ``x-portkey-config``."""
    headers = {"x-portkey-config": json.dumps(config)}
    return OpenAI(base_url=gateway.url + "/v1", api_key="sk-live", max_retries=0, default_headers=headers)


def wav_bytes(seconds: float, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV file with a 440 Hz tone."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(
            b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(frames))
        )
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def last_form(mockctl, sid: str) -> dict:
    return json.loads(mockctl.requests(sid)[-1]["body"])


def gateway_error(resp: requests.Response, status: int, fragment: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == "failure" and fragment in body["message"], body
    assert body["error"]["type"] == "invalid_request_error"
    assert resp.headers["x-portkey-error-origin"] == "gateway"
    return body


# -- images -------------------------------------------------------------------------------------------


def test_images_generate(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    raw = c.images.with_raw_response.generate(model="dall-e-3", prompt="a red fox", n=2, size="1024x1024")
    result = raw.parse()
    assert [d.url for d in result.data] == ["https://mock.openai.test/images/img.png"] * 2
    assert result.data[0].revised_prompt == "a red fox"
    assert raw.headers["x-portkey-provider"] == "openai"
    received = mockctl.requests(sid)[0]
    assert received["path"] == "/v1/images/generations"
    assert received["headers"]["authorization"] == "Bearer sk-live"
    assert json.loads(received["body"]) == {"model": "dall-e-3", "prompt": "a red fox", "n": 2, "size": "1024x1024"}


def test_images_edit_and_variation(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    mask = PNG[:-10]
    edited = c.images.edit(
        model="gpt-image-1", image=("fox.png", PNG, "image/png"), mask=("mask.png", mask, "image/png"), prompt="a hat"
    )
    assert edited.data[0].b64_json and edited.usage.total_tokens == 110
    form = last_form(mockctl, sid)
    assert form["fields"] == {"model": "gpt-image-1", "prompt": "a hat"}
    assert [(f["name"], f["filename"], f["size"], f["sha256"]) for f in form["files"]] == [
        ("image", "fox.png", len(PNG), sha(PNG)),
        ("mask", "mask.png", len(mask), sha(mask)),
    ]
    # several input images go as image[] parts
    two = c.images.edit(
        model="gpt-image-1", image=[("a.png", PNG, "image/png"), ("b.png", PNG, "image/png")], prompt="x"
    )
    assert len(two.data) == 1
    assert [f["name"] for f in last_form(mockctl, sid)["files"]] == ["image[]", "image[]"]
    varied = c.images.create_variation(image=("fox.png", PNG, "image/png"), n=3, response_format="url")
    assert len(varied.data) == 3 and varied.data[0].revised_prompt == "variation of fox.png"
    assert mockctl.requests(sid)[-1]["path"] == "/v1/images/variations"
    with pytest.raises(openai.BadRequestError, match="openai error: Invalid image file"):
        c.images.create_variation(image=("fox.jpg", b"\xff\xd8\xff\xe0 jpeg", "image/jpeg"))


def test_fallback_from_a_failing_target_for_images_generate(gateway, mockctl) -> None:
    first, second = scenario_id(), scenario_id()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "openai", "custom_host": mockctl.base(id=first, status=500)},
            {"provider": "lemonfox-ai", "custom_host": mockctl.base(id=second), "api_key": "lf-key"},
        ],
    }
    raw = config_client(gateway, config).images.with_raw_response.generate(prompt="a lemon", response_format="b64_json")
    assert raw.parse().data[0].b64_json
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert raw.headers["x-portkey-provider"] == "lemonfox-ai"
    assert len(mockctl.requests(first)) == 1
    assert mockctl.requests(second)[0]["headers"]["authorization"] == "Bearer lf-key"


# -- audio --------------------------------------------------------------------------------------------


def test_speech_is_relayed_as_it_arrives(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl, chunks=6, chunk_delay_ms=200)
    started = time.monotonic()
    arrivals, received = [], b""
    with c.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input="Hello there") as r:
        assert r.headers["content-type"] == "audio/mpeg"
        expected = r.headers["x-mock-sha256"]
        for chunk in r.iter_bytes():
            arrivals.append(time.monotonic() - started)
            received += chunk
    assert len(received) == 6 * 4096 and sha(received) == expected
    assert arrivals[-1] > 0.95
    assert arrivals[0] < 0.5, "the first audio bytes must reach the client before the upstream finishes"
    assert len(arrivals) >= 4, "chunks must be relayed separately, not buffered"
    assert json.loads(mockctl.requests(sid)[0]["body"]) == {"model": "tts-1", "voice": "alloy", "input": "Hello there"}
    wav = c.audio.speech.create(model="tts-1", voice="nova", input="hi", response_format="wav")
    assert wav.response.headers["content-type"] == "audio/wav" and len(wav.read()) == 6 * 4096


def test_speech_error_before_any_audio(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, status=500)
    with pytest.raises(openai.InternalServerError, match="openai error: mock failure 500"):
        c.audio.speech.create(model="tts-1", voice="alloy", input="hi")


def test_transcription_of_a_real_wav_file(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    audio = wav_bytes(1.5)
    verbose = c.audio.transcriptions.create(
        model="whisper-1",
        file=("hello.wav", audio, "audio/wav"),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
    )
    assert verbose.duration == 1.5 and verbose.text == "transcribe hello.wav with whisper-1: 1.50 seconds"
    assert verbose.words and verbose.segments[0].end == 1.5
    form = last_form(mockctl, sid)
    assert form["fields"] == {
        "model": "whisper-1",
        "response_format": "verbose_json",
        "timestamp_granularities[]": ["word", "segment"],
        "language": "en",
    }
    assert (form["files"][0]["size"], form["files"][0]["sha256"]) == (len(audio), sha(audio))
    text = c.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", wav_bytes(0.25), "audio/wav"), response_format="text"
    )
    assert text.strip() == "transcribe a.wav with whisper-1: 0.25 seconds"
    english = c.audio.translations.create(model="whisper-1", file=("hola.wav", wav_bytes(0.5), "audio/wav"))
    assert english.text == "translate hola.wav with whisper-1: 0.50 seconds"
    with pytest.raises(openai.BadRequestError, match="openai error: Invalid file format"):
        c.audio.transcriptions.create(model="whisper-1", file=("bad.wav", b"RIFF\0\0\0\0AVI junk", "audio/wav"))


def test_streamed_transcription_events(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    events = list(
        c.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("s.wav", wav_bytes(0.75), "audio/wav"), stream=True
        )
    )
    assert [e.type for e in events][-1] == "transcript.text.done"
    deltas = "".join(e.delta for e in events if e.type == "transcript.text.delta")
    assert deltas == events[-1].text == "transcribe s.wav with gpt-4o-transcribe: 0.75 seconds"
    form = {"model": (None, "gpt-4o-transcribe"), "stream": (None, "true"), "file": ("s.wav", wav_bytes(0.1))}
    resp = _post(gateway, "/v1/audio/transcriptions", files=form)
    assert resp.headers["content-type"] == "text/event-stream"
    assert (resp.headers["cache-control"], resp.headers["x-accel-buffering"]) == ("no-cache", "no")
    assert resp.text.endswith('"usage":{"type":"duration","seconds":1}}\n\n')


def test_override_params_reach_the_multipart_fields(gateway, mockctl) -> None:
    sid = scenario_id()
    config = {"provider": "openai", "custom_host": mockctl.base(id=sid), "override_params": {"model": "whisper-large"}}
    c = config_client(gateway, config)
    result = c.audio.transcriptions.create(model="whisper-1", file=("o.wav", wav_bytes(0.5), "audio/wav"))
    assert result.text == "transcribe o.wav with whisper-large: 0.50 seconds"
    assert last_form(mockctl, sid)["fields"] == {"model": "whisper-large"}
    speech = c.audio.speech.create(model="tts-1", voice="alloy", input="hi")  # JSON bodies too
    speech.read()
    assert json.loads(mockctl.requests(sid)[-1]["body"])["model"] == "whisper-large"


def test_groq_and_lemonfox_audio(gateway, mockctl) -> None:
    groq, groq_sid = client(gateway, mockctl, provider="groq", key="gsk-test")
    result = groq.audio.transcriptions.create(model="whisper-large-v3", file=("g.wav", wav_bytes(0.5), "audio/wav"))
    assert result.text == "transcribe g.wav with whisper-large-v3: 0.50 seconds"
    received = mockctl.requests(groq_sid)[0]
    assert received["headers"]["authorization"] == "Bearer gsk-test"
    assert received["path"] == "/v1/audio/transcriptions"
    english = groq.audio.translations.create(model="whisper-large-v3", file=("g.wav", wav_bytes(0.5), "audio/wav"))
    assert english.text.startswith("translate g.wav")
    lemon, lemon_sid = client(gateway, mockctl, provider="lemonfox-ai", key="lf-test")
    audio = lemon.audio.speech.create(model="tts-1", voice="sarah", input="hello", response_format="mp3")
    assert len(audio.read()) == 5 * 4096
    text = lemon.audio.transcriptions.create(model="whisper-1", file=("l.wav", wav_bytes(1.0), "audio/wav"))
    assert text.text == "transcribe l.wav with whisper-1: 1.00 seconds"
    assert {r["headers"]["authorization"] for r in mockctl.requests(lemon_sid)} == {"Bearer lf-test"}
    with pytest.raises(openai.BadRequestError, match="imageEdit is not supported by groq"):
        groq.images.edit(image=("x.png", PNG, "image/png"), prompt="x")
    assert len(mockctl.requests(groq_sid)) == 2


# -- files --------------------------------------------------------------------------------------------


def test_files_create_list_retrieve_content_delete(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    content = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n' * 3
    created = c.files.create(file=("input.jsonl", content, "application/jsonl"), purpose="batch")
    assert (created.bytes, created.filename, created.purpose, created.status) == (
        len(content),
        "input.jsonl",
        "batch",
        "processed",
    )
    other = c.files.create(file=("notes.txt", b"notes", "text/plain"), purpose="user_data")
    assert [f.id for f in c.files.list()] == [other.id, created.id]
    assert [f.id for f in c.files.list(purpose="batch")] == [created.id]
    assert c.files.retrieve(created.id).bytes == len(content)
    downloaded = c.files.with_raw_response.content(created.id)
    assert downloaded.parse().read() == content
    assert downloaded.headers["content-length"] == str(len(content))
    assert downloaded.headers["content-type"] == "application/octet-stream"
    assert c.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError, match=f"openai error: No such File: {created.id}"):
        c.files.retrieve(created.id)
    form = json.loads(mockctl.requests(sid)[0]["body"])
    assert form["fields"] == {"purpose": "batch"} and form["files"][0]["sha256"] == sha(content)


def test_a_download_that_breaks_off_is_not_a_clean_end(gateway, mockctl) -> None:
    size = 1024 * 1024
    url = mockctl.base(cut_after=4)
    received = 0
    resp = requests.get(
        gateway.url + f"/v1/files/file-bytes-{size}/content",
        headers={"x-portkey-provider": "openai", "Authorization": "Bearer k", "x-portkey-custom-host": url},
        stream=True,
        timeout=10,
    )
    assert resp.status_code == 200 and resp.headers["content-length"] == str(size)
    with resp, pytest.raises(requests.exceptions.RequestException):
        for chunk in resp.iter_content(65536):
            received += len(chunk)
    assert 0 < received < size


# -- batches ------------------------------------------------------------------------------------------


def test_batches_create_retrieve_list_cancel_and_output(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    lines = [{"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions", "body": {}} for i in range(3)]
    source = c.files.create(file=("in.jsonl", b"\n".join(json.dumps(x).encode() for x in lines)), purpose="batch")
    batch = c.batches.create(input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert (batch.status, batch.input_file_id) == ("validating", source.id)
    done = c.batches.retrieve(batch.id)
    assert done.status == "completed" and done.output_file_id and done.request_counts.completed == 3
    headers = mock_headers(mockctl, "openai", key="sk-live", sid=sid)
    resp = requests.get(gateway.url + f"/v1/batches/{batch.id}/output", headers=headers, timeout=10)
    assert resp.status_code == 200 and resp.headers["x-portkey-provider"] == "openai"
    output = [json.loads(line) for line in resp.text.splitlines()]
    assert [o["custom_id"] for o in output] == ["req-0", "req-1", "req-2"]
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"] == "answer 0"
    assert [r["path"] for r in mockctl.requests(sid)[-2:]] == [
        f"/v1/batches/{batch.id}",
        f"/v1/files/{done.output_file_id}/content",
    ]
    second = c.batches.create(input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert c.batches.cancel(second.id).status == "cancelling"
    assert c.batches.retrieve(second.id).status == "cancelled"
    assert [b.id for b in c.batches.list()] == [second.id, batch.id]
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a batch with status 'completed'"):
        c.batches.cancel(batch.id)
    missing = requests.get(gateway.url + f"/v1/batches/{second.id}/output", headers=headers, timeout=10)
    assert missing.status_code == 400
    assert (
        missing.json()["error"]["message"] == f"openai error: batch {second.id} has no output file (status: cancelled)"
    )
    unknown = requests.get(gateway.url + "/v1/batches/batch_nope/output", headers=headers, timeout=10)
    assert (
        unknown.status_code == 404 and unknown.json()["error"]["message"] == "openai error: No such batch: batch_nope"
    )


# -- fine-tuning, moderations -------------------------------------------------------------------------


def test_fine_tuning_jobs(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl)
    first = c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file="file-train")
    second = c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file="file-train", suffix="v2", seed=7)
    assert (first.status, second.seed, second.suffix) == ("validating_files", 7, "v2")
    assert [j.id for j in c.fine_tuning.jobs.list()] == [second.id, first.id]
    page = c.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in page.data] == [second.id] and page.has_more
    assert c.fine_tuning.jobs.retrieve(first.id).status == "running"
    assert c.fine_tuning.jobs.cancel(first.id).status == "cancelled"
    events = c.fine_tuning.jobs.list_events(first.id, limit=10)
    assert [e.message for e in events.data] == [
        "Validating training file: file-train",
        f"Created fine-tuning job: {first.id}",
    ]
    assert c.fine_tuning.jobs.checkpoints.list(first.id).data == []
    with pytest.raises(openai.NotFoundError):
        c.fine_tuning.jobs.retrieve("ftjob-missing")


def test_moderations(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    result = c.moderations.create(model="omni-moderation-latest", input=["I will kill the process", "hello"])
    assert [r.flagged for r in result.results] == [True, False]
    assert result.results[0].categories.violence is True and result.results[0].category_scores.violence > 0.9
    assert result.model == "omni-moderation-2024-09-26"
    multimodal = c.moderations.create(
        input=[{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]
    )
    assert multimodal.results[0].category_applied_input_types.violence == ["image", "text"]
    assert json.loads(mockctl.requests(sid)[0]["body"])["input"] == ["I will kill the process", "hello"]


# -- assistants and threads through the generic proxy -------------------------------------------------


def test_assistants_and_threads_go_through_the_proxy(gateway, mockctl) -> None:
    c, sid = client(gateway, mockctl)
    raw = c.beta.assistants.with_raw_response.create(model="gpt-4o", name="helper", instructions="be kind")
    echo = raw.http_response.json()
    assert raw.headers["x-mock-echo"] == "1"
    assert (echo["method"], echo["path"]) == ("POST", "/v1/assistants")
    thread = c.beta.threads.with_raw_response.create(messages=[{"role": "user", "content": "hi"}])
    assert thread.http_response.json()["path"] == "/v1/threads"
    received = mockctl.requests(sid)
    assert [r["headers"]["openai-beta"] for r in received] == ["assistants=v2", "assistants=v2"]
    assert json.loads(received[0]["body"]) == {"model": "gpt-4o", "name": "helper", "instructions": "be kind"}


# -- routing: a retried upload ------------------------------------------------------------------------


def test_retry_on_503_resends_the_whole_upload(gateway, mockctl) -> None:
    sid = scenario_id()
    config = {
        "provider": "openai",
        "custom_host": mockctl.base(id=sid, status=503, fail_times=1),
        "retry": {"attempts": 2, "on_status_codes": [503]},
    }
    data = os.urandom(3 * 1024 * 1024)
    raw = config_client(gateway, config).files.with_raw_response.create(file=("big.bin", data), purpose="user_data")
    assert raw.parse().bytes == len(data)
    assert raw.headers["x-portkey-retry-attempt-count"] == "1"
    received = mockctl.requests(sid)
    assert [(r["size"], r["sha256"]) for r in received] == [(len(data), sha(data))] * 2


# -- bad input ----------------------------------------------------------------------------------------


def _post(gateway, path: str, **kwargs) -> requests.Response:
    headers = {"x-portkey-provider": "openai", "Authorization": "Bearer k", **kwargs.pop("headers", {})}
    return requests.post(gateway.url + path, headers=headers, timeout=30, **kwargs)


def test_bad_uploads_are_4xx_in_the_gateway_shape(gateway) -> None:
    resp = _post(gateway, "/v1/audio/transcriptions", json={"model": "whisper-1", "file": "x"})
    gateway_error(resp, 400, "/v1/audio/transcriptions takes multipart/form-data, not application/json")
    assert resp.json()["error"]["code"] == "invalid_content_type"
    resp = _post(gateway, "/v1/audio/transcriptions", files={"model": (None, "whisper-1")})
    assert gateway_error(resp, 400, "Missing required file part: file")["error"]["param"] == "file"
    resp = _post(gateway, "/v1/audio/transcriptions", files={"model": (None, "whisper-1"), "file": (None, "text")})
    gateway_error(resp, 400, "Form part 'file' must be a file upload")
    resp = _post(gateway, "/v1/audio/transcriptions", files={"file": ("a.wav", b"RIFF")})
    gateway_error(resp, 400, "Missing required form field: model")
    resp = _post(gateway, "/v1/images/edits", files={"prompt": (None, "x"), "image[]": ("a.png", PNG)})
    assert resp.status_code == 200, resp.text  # image[] satisfies "image"
    resp = _post(gateway, "/v1/files", data=b"--x\r\n", headers={"Content-Type": "multipart/form-data"})
    gateway_error(resp, 400, "the content type has no boundary")
    resp = _post(
        gateway, "/v1/files", data=b"--x\r\nContent-Disp", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    gateway_error(resp, 400, "no form parts could be read")
    resp = _post(gateway, "/v1/images/generations", json={"model": "dall-e-3"})
    gateway_error(resp, 400, "prompt")
    resp = _post(gateway, "/v1/files", files={"purpose": (None, "b" * 600_000), "file": ("s.jsonl", b"{}")})
    gateway_error(resp, 413, "A form text field is larger than 500000 bytes")


def test_oversized_uploads_are_413(gateway_factory, mockctl) -> None:
    gw = gateway_factory(GATEWAY_MAX_UPLOAD_BYTES="100000")
    host = {"x-portkey-custom-host": mockctl.base()}
    files = {"purpose": (None, "batch"), "file": ("big.jsonl", b"x" * 200_000)}
    resp = _post(gw, "/v1/files", files=files, headers=host)
    assert (
        gateway_error(resp, 413, "Upload is larger than the limit of 100000 bytes")["error"]["code"]
        == "upload_too_large"
    )
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n' + b"x" * 200_000 + b"\r\n--b--\r\n"
    )

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    resp = _post(gw, "/v1/files", data=chunked(), headers={**host, "Content-Type": "multipart/form-data; boundary=b"})
    gateway_error(resp, 413, "limit of 100000 bytes")
    small = _post(gw, "/v1/files", files={"purpose": (None, "batch"), "file": ("s.jsonl", b"{}")}, headers=host)
    assert small.status_code == 200 and small.json()["bytes"] == 2


def test_a_slow_non_streamed_answer_gets_the_read_timeout_not_the_stream_idle_timeout(gateway, mockctl) -> None:
    c, _ = client(gateway, mockctl, delay_ms=2500)  # the shared gateway's stream idle timeout is 2 s
    assert c.images.generate(prompt="slow").data


# -- 500 MB each way, flat memory -----------------------------------------------------------------------


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class PeakRSS:
    """Sample a process's resident size every 10 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.base = rss(pid)
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss(self.pid))

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss(self.pid))

    @property
    def growth(self) -> int:
        return self.peak - self.base


def big_open_files(pid: int, over: int = 100 * 2**20) -> list[str]:
    """Files over ``over`` bytes the process holds open (a spooled upload is an unlinked temp file)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if fd.stat().st_size > over:
                found.append(os.readlink(fd))
        except OSError:
            pass
    return found


def upload(gw, host: str, size: int) -> tuple[requests.Response, str]:
    """POST a ``size``-byte file as multipart from a generator (chunked, the test process stays small)."""
    digest = hashlib.sha256()
    block = os.urandom(1024 * 1024)

    def body() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
        left = size
        while left:
            piece = block[: min(left, len(block))]
            digest.update(piece)
            left -= len(piece)
            yield piece
        yield b"\r\n--b--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=b", "x-portkey-custom-host": host}
    resp = _post(gw, "/v1/files", data=body(), headers=headers)
    return resp, digest.hexdigest()


def download(gw, host: str, size: int) -> tuple[int, str]:
    digest, got = hashlib.sha256(), 0
    with requests.get(
        gw.url + f"/v1/files/file-bytes-{size}/content",
        headers={"x-portkey-provider": "openai", "Authorization": "Bearer k", "x-portkey-custom-host": host},
        stream=True,
        timeout=60,
    ) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_content(1024 * 1024):
            digest.update(chunk)
            got += len(chunk)
    return got, digest.hexdigest()


def pattern_sha256(size: int) -> str:
    digest, left = hashlib.sha256(), size
    while left:
        piece = PATTERN[: min(left, len(PATTERN))]
        digest.update(piece)
        left -= len(piece)
    return digest.hexdigest()


def test_500_mb_up_and_down_with_flat_worker_memory(gateway_factory, mockctl) -> None:
    gw = gateway_factory()
    (pid,) = gw.worker_pids()
    sid = scenario_id()
    host = mockctl.base(id=sid)
    warm, _ = upload(gw, host, 20 * 1024 * 1024)  # load every code path (and size the heap) first
    assert warm.status_code == 200
    download(gw, host, 20 * 1024 * 1024)

    started = time.monotonic()
    with PeakRSS(pid) as up:
        resp, digest = upload(gw, host, BIG)
    up_seconds = time.monotonic() - started
    assert resp.status_code == 200, resp.text
    assert resp.json()["bytes"] == BIG
    received = mockctl.requests(sid)[-1]
    assert (received["size"], received["sha256"]) == (BIG, digest)
    assert int(received["headers"]["content-length"]) > BIG  # re-encoded with an exact length, not chunked
    assert big_open_files(pid) == [], "the spooled upload must be closed (and so deleted) when the request ends"

    started = time.monotonic()
    with PeakRSS(pid) as down:
        got, digest = download(gw, host, BIG)
    down_seconds = time.monotonic() - started
    assert (got, digest) == (BIG, pattern_sha256(BIG))

    print(f"\n500 MB upload {up_seconds:.1f}s, worker RSS +{up.growth / 2**20:.1f} MB (base {up.base / 2**20:.0f} MB)")
    print(f"500 MB download {down_seconds:.1f}s, worker RSS +{down.growth / 2**20:.1f} MB")
    assert up.growth < 50 * 2**20, up.growth
    assert down.growth < 50 * 2**20, down.growth
