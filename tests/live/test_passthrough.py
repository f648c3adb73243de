"""End to end through gunicorn: the official openai SDK and raw HTTP against the mock provider."""

from __future__ import annotations

import hashlib
import json
import socket
import time
import uuid

import openai
import pytest
import requests

from tests.chatdata import streamed_text
from tests.support import free_port

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "hello there"}]}


def headers(**extra: str) -> dict[str, str]:
    return {"x-portkey-provider": "openai", "Authorization": "Bearer sk-live", **extra}


def scenario() -> str:
    return uuid.uuid4().hex[:10]


# -- the SDK with only base_url changed -------------------------------------------------------------


def test_sdk_chat_completion(openai_client, mockctl) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "hello there"}],
        extra_body={"vendor_field": {"keep": True}},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.usage.total_tokens > 0
    assert raw.headers["x-portkey-provider"] == "openai"
    assert raw.headers["x-portkey-last-used-option-index"] == "config"
    assert raw.headers["x-portkey-retry-attempt-count"] == "0"
    assert raw.headers["x-portkey-cache-status"] == "DISABLED"
    assert len(raw.headers["x-portkey-trace-id"]) == 32
    assert raw.headers["x-request-id"].startswith("req-")  # provider headers pass through
    received = mockctl.requests()[-1]
    assert received["headers"]["authorization"] == "Bearer sk-test-key"
    assert not any(k.startswith("x-portkey") for k in received["headers"])
    assert json.loads(received["body"])["vendor_field"] == {"keep": True}  # unknown fields are never dropped


def test_sdk_stream(openai_client) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "stream me please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = streamed_text(chunks)
    assert text == "echo: stream me please"
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_sdk_embeddings_models_and_completions(openai_client) -> None:
    emb = openai_client.embeddings.create(model="mock-embed", input=["a", "b", "c"])
    assert [d.index for d in emb.data] == [0, 1, 2] and len(emb.data[0].embedding) == 8
    assert {m.id for m in openai_client.models.list()} == {"mock-model", "mock-embed"}
    comp = openai_client.completions.create(model="gpt-test", prompt="say hi")
    assert comp.choices[0].text == "echo: say hi"
    streamed = "".join(
        c.choices[0].text for c in openai_client.completions.create(model="gpt-test", prompt="say hi", stream=True)
    )
    assert streamed == "echo: say hi"


# -- streaming framing ---------------------------------------------------------------------------


def test_stream_framing_and_headers(gateway) -> None:
    with requests.post(
        gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True}, headers=headers(), stream=True, timeout=10
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["cache-control"] == "no-cache"
        assert resp.headers["x-accel-buffering"] == "no"
        assert resp.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in resp.headers
        body = resp.content
    assert body.endswith(b"data: [DONE]\n\n")
    assert body.count(b"\n\n") == 8  # role, 5 content chunks, finish, [DONE]


def test_stream_is_relayed_as_it_arrives(gateway, mockctl) -> None:
    base = mockctl.base(chunks=6, chunk_delay_ms=150)
    started = time.monotonic()
    arrivals = []
    with requests.post(
        gateway.url + "/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers=headers(**{"x-portkey-custom-host": base}),
        stream=True,
        timeout=10,
    ) as resp:
        for chunk in resp.iter_content(chunk_size=None):
            if chunk:
                arrivals.append(time.monotonic() - started)
    total = arrivals[-1]
    assert total > 0.7
    assert arrivals[0] < 0.15, "the first event must not wait for the rest"
    assert len(arrivals) >= 5, "events must arrive separately, not buffered into one write"


def test_crlf_and_split_events_are_relayed_intact(openai_client, mockctl) -> None:
    client = openai_client.with_options(
        default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mockctl.base(crlf=1, split=1)}
    )
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "split up"}], stream=True
        )
        if c.choices
    )
    assert text == "echo: split up"


def test_cut_stream_ends_with_an_error_event_not_success(gateway, mockctl, openai_client) -> None:
    host = mockctl.base(cut_after=3, chunks=8)
    with requests.post(
        gateway.url + "/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers=headers(**{"x-portkey-custom-host": host}),
        timeout=10,
    ) as resp:
        assert resp.status_code == 200
        body = resp.content
    assert b"[DONE]" not in body
    last = body.strip().split(b"\n\n")[-1]
    error = json.loads(last.removeprefix(b"data: "))["error"]
    assert error["code"] == "stream_cut" and error["message"].startswith("openai error:")
    # every event before the error is whole
    for event in body.strip().split(b"\n\n")[:-1]:
        json.loads(event.removeprefix(b"data: "))
    client = openai_client.with_options(default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": host})
    with pytest.raises(openai.APIError, match="lost mid-stream"):
        list(client.chat.completions.create(model="m", messages=CHAT["messages"], stream=True))


def test_stream_without_done_or_finish_is_reported(gateway, mockctl) -> None:
    with requests.post(
        gateway.url + "/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers=headers(**{"x-portkey-custom-host": mockctl.base(no_done=1)}),
        timeout=10,
    ) as resp:
        body = resp.content
    assert b'"code":"stream_incomplete"' in body and b"[DONE]" not in body


def test_stalled_stream_ends_with_an_error_within_the_idle_timeout(gateway, mockctl) -> None:
    host = mockctl.base(stall_after=2, stall_ms=20000)
    started = time.monotonic()
    with requests.post(
        gateway.url + "/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers=headers(**{"x-portkey-custom-host": host}),
        timeout=15,
    ) as resp:
        body = resp.content
    elapsed = time.monotonic() - started
    assert 1.8 < elapsed < 4.0, elapsed  # the gateway under test has a 2 s idle timeout
    assert b'"code":"stream_stall"' in body and b"[DONE]" not in body


def test_stream_that_fails_before_its_first_event_is_a_plain_error(gateway, mockctl) -> None:
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers=headers(**{"x-portkey-custom-host": mockctl.base(cut_after=0)}),
        timeout=10,
    )
    assert resp.status_code == 502
    assert resp.headers["content-type"] == "application/json"
    assert resp.json()["error"]["type"] == "stream_error"


def test_client_disconnect_closes_the_upstream(gateway, mockctl) -> None:
    sid = scenario()
    host = mockctl.base(id=sid, chunks=100, chunk_delay_ms=100)
    sock = socket.create_connection(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1])))
    body = json.dumps({**CHAT, "stream": True}).encode()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        b"x-portkey-provider: openai\r\nAuthorization: Bearer k\r\n"
        + f"x-portkey-custom-host: {host}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    received = b""
    while received.count(b"data: ") < 3:
        received += sock.recv(65536)
    sock.close()
    closed_at = time.time()
    deadline = time.monotonic() + 3
    events: list[dict] = []
    while time.monotonic() < deadline:
        events = mockctl.events(sid)
        if events:
            break
        time.sleep(0.05)
    assert events and events[0]["event"] == "closed", events
    assert events[0]["chunks_sent"] < 20
    assert events[0]["t"] - closed_at < 1.0


# -- errors --------------------------------------------------------------------------------------


def test_provider_error_keeps_status_in_the_openai_envelope(gateway, mockctl, openai_client) -> None:
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        json=CHAT,
        headers=headers(**{"x-portkey-custom-host": mockctl.base(status=429, retry_after="7")}),
    )
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "7"
    assert resp.headers["x-portkey-error-origin"] == "openai"
    assert resp.json() == {
        "error": {"message": "openai error: mock failure 429", "type": "mock_error", "param": None, "code": "mock_429"},
        "provider": "openai",
    }
    client = openai_client.with_options(
        default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mockctl.base(status=401)}
    )
    with pytest.raises(openai.AuthenticationError, match="openai error: mock failure 401"):
        client.chat.completions.create(**CHAT)


def test_unreachable_provider_is_502(gateway) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    resp = requests.post(
        gateway.url + "/v1/chat/completions", json=CHAT, headers=headers(**{"x-portkey-custom-host": dead}), timeout=10
    )
    assert resp.status_code == 502
    body = resp.json()
    assert body["provider"] == "openai" and "could not reach the provider" in body["error"]["message"]
    assert resp.headers["x-portkey-error-origin"] == "gateway"


def test_request_timeout_is_408_with_the_reference_message(gateway, mockctl) -> None:
    started = time.monotonic()
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        json=CHAT,
        timeout=10,
        headers=headers(**{"x-portkey-custom-host": mockctl.base(delay_ms=3000), "x-portkey-request-timeout": "400"}),
    )
    assert time.monotonic() - started < 1.5
    assert resp.status_code == 408
    assert resp.json() == {
        "error": {
            "message": "Request exceeded the timeout sent in the request: 400ms",
            "type": "timeout_error",
            "param": None,
            "code": None,
        }
    }


def test_read_timeout_is_504(gateway_factory, mockctl) -> None:
    gw = gateway_factory(GATEWAY_READ_TIMEOUT="1")
    resp = requests.post(
        gw.url + "/v1/chat/completions",
        json=CHAT,
        timeout=10,
        headers=headers(**{"x-portkey-custom-host": mockctl.base(delay_ms=2500)}),
    )
    assert resp.status_code == 504
    assert "no response from the provider within 1s" in resp.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        (b'{"model": "x", "messages": [', "application/json", 400, "Invalid JSON in request body"),
        (b"[1, 2]", "application/json", 400, "must be a JSON object"),
        (b"model=x", "application/x-www-form-urlencoded", 400, "Invalid content type passed"),
        (b'{"model": "x", "messages": []}', "application/json", 400, "messages: Shorter than minimum length 1."),
        (
            b'{"model": "x", "messages": [{"role": "user"}], "max_tokens": "5"}',
            "application/json",
            400,
            "max_tokens: Not a valid integer.",
        ),
        (
            b'{"model": "x", "messages": [{"role": "user"}], "stream": "true"}',
            "application/json",
            400,
            "stream: Not a valid boolean.",
        ),
    ],
)
def test_bad_bodies_are_4xx_in_the_gateway_shape(gateway, body, content_type, status, fragment) -> None:
    resp = requests.post(
        gateway.url + "/v1/chat/completions", data=body, headers=headers(**{"Content-Type": content_type}), timeout=10
    )
    assert resp.status_code == status
    payload = resp.json()
    assert payload["status"] == "failure" and fragment in payload["message"]
    assert payload["error"]["type"] == "invalid_request_error"
    assert resp.headers["x-portkey-error-origin"] == "gateway"


def test_oversized_json_body_is_413(gateway_factory) -> None:
    gw = gateway_factory(GATEWAY_MAX_JSON_BYTES="1000")
    resp = requests.post(
        gw.url + "/v1/chat/completions",
        headers=headers(),
        json={"model": "x", "messages": [{"role": "user", "content": "x" * 2000}]},
    )
    assert resp.status_code == 413 and "limit of 1000 bytes" in resp.json()["message"]


def test_header_errors(gateway) -> None:
    resp = requests.post(gateway.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer k"})
    assert resp.status_code == 400
    assert resp.json()["message"] == "Either x-portkey-config or x-portkey-provider header is required"
    resp = requests.post(gateway.url + "/v1/chat/completions", json=CHAT, headers={"x-portkey-provider": "nope"})
    assert (resp.status_code, resp.json()["message"]) == (400, "Invalid provider passed")
    resp = requests.post(
        gateway.url + "/v1/chat/completions",
        json=CHAT,
        headers=headers(**{"x-portkey-custom-host": "http://169.254.169.254/latest"}),
    )
    assert (resp.status_code, resp.json()["message"]) == (400, "Invalid custom host")
    bad_config = '{"strategy": {"mode": "x"}, "targets": [{"provider": "openai"}]}'
    resp = requests.post(gateway.url + "/v1/chat/completions", json=CHAT, headers={"x-portkey-config": bad_config})
    assert resp.status_code == 400 and resp.json()["errors"][0].startswith("path: strategy,mode")


def test_trace_id_is_echoed_or_generated(gateway) -> None:
    resp = requests.post(
        gateway.url + "/v1/chat/completions", json=CHAT, headers=headers(**{"x-portkey-trace-id": "trace-123"})
    )
    assert resp.headers["x-portkey-trace-id"] == "trace-123"
    bad = requests.post(gateway.url + "/v1/chat/completions", data=b"{", headers=headers())
    assert len(bad.headers["x-portkey-trace-id"]) == 32


def test_forward_headers_and_provider_option_headers(gateway, mockctl) -> None:
    sid = scenario()
    requests.post(
        gateway.url + "/v1/chat/completions",
        json=CHAT,
        headers=headers(
            **{
                "x-portkey-custom-host": mockctl.base(id=sid),
                "x-portkey-forward-headers": "x-tenant-id",
                "x-tenant-id": "acme",
                "x-not-forwarded": "1",
                "x-portkey-openai-organization": "org-9",
            }
        ),
    )
    received = mockctl.requests(sid)[0]["headers"]
    assert received["x-tenant-id"] == "acme" and "x-not-forwarded" not in received
    assert received["openai-organization"] == "org-9"


def test_liveness_health_and_json_404(gateway) -> None:
    assert requests.get(gateway.url + "/").text == "AI Gateway says hey!"
    assert requests.get(gateway.url + "/healthz").json()["status"] == "ok"
    resp = requests.get(gateway.url + "/nope/at/all")
    assert resp.status_code == 404 and resp.json() == {"status": "failure", "message": "Not Found", "ok": False}


def test_no_monkey_patch_warning(gateway) -> None:
    log = gateway.log()
    assert "Booting worker" in log
    assert "MonkeyPatchWarning" not in log


# -- generic pass-through ------------------------------------------------------------------------


def test_proxy_get_with_query_and_headers(gateway) -> None:
    resp = requests.get(
        gateway.url + "/v1/vector_stores",
        params={"limit": "2", "purpose": "batch"},
        headers=headers(**{"OpenAI-Beta": "assistants=v2"}),
    )
    echo = resp.json()
    assert resp.status_code == 200 and resp.headers["x-mock-echo"] == "1"
    assert echo["method"] == "GET" and echo["path"] == "/v1/vector_stores" and echo["query"] == "limit=2&purpose=batch"
    assert echo["headers"]["openai-beta"] == "assistants=v2"
    assert echo["headers"]["authorization"] == "Bearer sk-live"
    assert not any(k.startswith("x-portkey") for k in echo["headers"])


def test_proxy_streams_a_binary_upload_and_download(gateway) -> None:
    payload = bytes(range(256)) * 40000  # about 10 MB
    resp = requests.post(
        gateway.url + "/v1/uploads/blob", data=payload, headers=headers(**{"Content-Type": "application/octet-stream"})
    )
    echo = resp.json()
    assert echo["size"] == len(payload) and echo["sha256"] == hashlib.sha256(payload).hexdigest()
    assert echo["headers"]["content-length"] == str(len(payload))
    with requests.get(gateway.url + "/v1/download/7000000", headers=headers(), stream=True) as down:
        digest = hashlib.sha256()
        size = 0
        for chunk in down.iter_content(chunk_size=None):
            digest.update(chunk)
            size += len(chunk)
        assert down.headers["content-type"] == "application/octet-stream"
    expected = (bytes(range(256)) * 256 * 107)[:7000000]
    assert size == 7000000 and digest.hexdigest() == hashlib.sha256(expected).hexdigest()


def test_proxy_chunked_upload_and_delete(gateway) -> None:
    def gen():
        for _ in range(10):
            yield b"x" * 1000

    echo = requests.post(gateway.url + "/v1/stuff", data=gen(), headers=headers()).json()
    assert echo["size"] == 10000
    echo = requests.delete(gateway.url + "/v1/vector_stores/vs-abc", headers=headers()).json()
    assert (echo["method"], echo["path"]) == ("DELETE", "/v1/vector_stores/vs-abc")


def test_proxy_keeps_provider_errors_raw(gateway, mockctl) -> None:
    resp = requests.get(
        gateway.url + "/v1/vector_stores", headers=headers(**{"x-portkey-custom-host": mockctl.base(status=404)})
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["message"] == "mock failure 404"
    assert resp.headers["x-portkey-error-origin"] == "openai"
