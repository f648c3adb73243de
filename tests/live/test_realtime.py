"""Realtime WebSocket sessions through the gateway under gunicorn, against the mock's realtime endpoints.

Sessions are opened with the official openai SDK (``client.realtime.connect``) and, where the SDK
hides the frames (binary messages, fragments, pings, subprotocols, close codes, a dropped TCP
connection), with the ``websockets`` client the SDK itself uses.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.support import sdk_client

MODEL = "gpt-realtime"
API_VERSION = "2024-10-01-preview"
USER_ITEM = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello there"}]}


@pytest.fixture(scope="module")
def entra_id() -> str:
    return "rtent-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def rt_gateway(gateway_factory, mockctl, entra_id):
    """A gateway of its own (its sockets are counted), with the Entra authority pointed at the mock."""
    return gateway_factory(GATEWAY_AZURE_AUTHORITY_HOST=f"{mockctl.url}/s/id={entra_id}")


def new_id() -> str:
    return uuid.uuid4().hex[:10]


def ws_url(gateway, query: str = f"model={MODEL}") -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/realtime" + (f"?{query}" if query else "")


def openai_headers(mockctl, sid: str, key: str | None = "sk-test-key", **switches) -> dict[str, str]:
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": mockctl.base(id=sid, **switches)}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def azure_headers(mockctl, sid: str, **extra: str) -> dict[str, str]:
    return {
        "x-portkey-custom-host": mockctl.base(id=sid).removesuffix("/v1"),
        "x-portkey-azure-resource-name": "contoso",
        "x-portkey-azure-deployment-id": "gpt4o-realtime",
        "x-portkey-azure-api-version": API_VERSION,
        **extra,
    }


@contextmanager
def watchdog(conn, seconds: float = 10.0) -> Iterator[None]:
    """Close ``conn`` if the block outlives ``seconds``: a lost event fails the test instead of hanging it."""
    timer = threading.Timer(seconds, conn.close)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def converse(conn) -> list:
    """Send a user item and ask for a response; return the events up to ``response.done``."""
    conn.conversation.item.create(item=USER_ITEM)
    conn.response.create()
    events = []
    for event in conn:
        events.append(event)
        if event.type == "response.done":
            return events
    raise AssertionError("the session ended before response.done")


def raw_events(ws, until: str) -> list[dict]:
    """Read JSON events from a raw connection up to the first of type ``until``."""
    events = []
    while True:
        events.append(json.loads(ws.recv(timeout=5)))
        if events[-1]["type"] == until:
            return events


def mock_events(mockctl, sid: str, kind: str, count: int = 1, timeout: float = 3.0) -> list[dict]:
    """Wait until the mock has recorded ``count`` events of ``kind`` for ``sid``; return them."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in mockctl.events(sid) if e["event"] == kind]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def refusal(url: str, headers: dict[str, str], **kwargs) -> tuple[int, dict, dict]:
    """Open a WebSocket expected to be refused; return the status, headers and JSON body of the answer."""
    with pytest.raises(InvalidStatus) as caught:
        ws_connect(url, additional_headers=headers, open_timeout=10, **kwargs)
    response = caught.value.response
    return response.status_code, {k.lower(): v for k, v in response.headers.raw_items()}, json.loads(response.body)


def test_openai_session_with_the_sdk(rt_gateway, mockctl) -> None:
    sid = new_id()
    client = sdk_client(rt_gateway, "openai", key="sk-live-1", **{"x-portkey-custom-host": mockctl.base(id=sid)})
    with client.realtime.connect(model=MODEL) as conn, watchdog(conn):
        first = conn.recv()
        assert first.type == "session.created" and first.session.model == MODEL
        conn.session.update(session={"type": "realtime", "instructions": "be brief"})
        assert conn.recv().type == "session.updated"
        events = converse(conn)
    types = [e.type for e in events]
    assert types[:2] == ["conversation.item.added", "conversation.item.done"]
    assert types[-1] == "response.done" and "response.output_text.done" in types
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) == 5 and "".join(deltas) == "echo: hello there"
    assert events[-1].response.usage.output_tokens == len("echo: hello there")

    [seen] = mockctl.requests(sid)
    assert seen["path"] == "/v1/realtime" and seen["query"] == f"model={MODEL}"
    assert seen["headers"]["authorization"] == "Bearer sk-live-1"
    assert "openai-beta" not in seen["headers"]
    assert not [name for name in seen["headers"] if name.startswith("x-portkey-")]
    received = [e["type"] for e in mockctl.events(sid) if e["event"] == "ws_message"]
    assert received == ["session.update", "conversation.item.create", "response.create"]
    [closed] = mock_events(mockctl, sid, "ws_closed")
    assert (closed["code"], closed["by"]) == (1000, "client")


def test_beta_header_is_forwarded_when_the_client_sends_it(rt_gateway, mockctl) -> None:
    sid = new_id()
    client = sdk_client(rt_gateway, "openai", **{"x-portkey-custom-host": mockctl.base(id=sid, text="beta hi")})
    with client.realtime.connect(model=MODEL, extra_headers={"OpenAI-Beta": "realtime=v1"}) as conn, watchdog(conn):
        assert conn.recv().type == "session.created"
        conn.send({"type": "conversation.item.create", "item": USER_ITEM})
        conn.send({"type": "response.create"})
        events = []
        while not events or events[-1]["type"] != "response.done":
            events.append(json.loads(conn.recv_bytes()))
    assert events[0]["type"] == "conversation.item.created"
    assert "".join(e["delta"] for e in events if e["type"] == "response.text.delta") == "beta hi"
    assert mockctl.requests(sid)[0]["headers"]["openai-beta"] == "realtime=v1"


def test_binary_fragments_and_pings_cross_the_gateway(rt_gateway, mockctl) -> None:
    sid = new_id()
    with ws_connect(ws_url(rt_gateway), additional_headers=openai_headers(mockctl, sid)) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "session.created"
        payload = bytes(range(256)) * 300  # 76.8 kB, several reads on every hop
        ws.send(payload)
        echoed = ws.recv(timeout=5)
        assert isinstance(echoed, bytes) and echoed == payload
        item = json.dumps({"type": "conversation.item.create", "item": USER_ITEM})
        ws.send(iter([item[:20], item[20:50], item[50:]]))  # one text message in three frames
        ws.send(json.dumps({"type": "response.create"}))
        events = raw_events(ws, "response.done")
        assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "echo: hello there"
        assert ws.ping(b"are you there").wait(5)
    messages = [e for e in mockctl.events(sid) if e["event"] == "ws_message"]
    assert messages[0] == {**messages[0], "type": "binary", "size": len(payload)}
    assert [m["type"] for m in messages[1:]] == ["conversation.item.create", "response.create"]


def test_large_messages_both_ways_at_once_do_not_stall(rt_gateway, mockctl) -> None:
    sid = new_id()
    blob, count = os.urandom(1 << 20), 8
    headers = openai_headers(mockctl, sid)
    with ws_connect(ws_url(rt_gateway), additional_headers=headers, max_size=None) as ws:
        ws.recv(timeout=5)
        sender = threading.Thread(target=lambda: [ws.send(blob) for _ in range(count)])
        sender.start()  # the client writes while the mock echoes: both directions full at once
        echoes = [ws.recv(timeout=20) for _ in range(count)]
        sender.join(20)
    assert len(echoes) == count and all(echo == blob for echo in echoes)


def test_browser_subprotocols_carry_the_key_and_the_beta_flag(rt_gateway, mockctl) -> None:
    sid = new_id()
    headers = openai_headers(mockctl, sid, key=None)
    protocols = ["realtime", "openai-insecure-api-key.sk-from-browser", "openai-beta.realtime-v1"]
    with ws_connect(ws_url(rt_gateway), additional_headers=headers, subprotocols=protocols) as ws:
        assert ws.subprotocol == "realtime"
        assert json.loads(ws.recv(timeout=5))["type"] == "session.created"
    [seen] = mockctl.requests(sid)
    assert seen["headers"]["authorization"] == "Bearer sk-from-browser"
    assert seen["headers"]["sec-websocket-protocol"] == "realtime, openai-beta.realtime-v1"
    [opened] = mock_events(mockctl, sid, "ws_open")
    assert opened["subprotocol"] == "realtime" and opened["beta"] is True


def test_azure_session_via_headers(rt_gateway, mockctl) -> None:
    sid = new_id()
    client = sdk_client(rt_gateway, "azure-openai", key="az-key-1", **azure_headers(mockctl, sid))
    with client.realtime.connect(model=MODEL) as conn, watchdog(conn):
        assert conn.recv().session.model == "gpt4o-realtime"
        events = converse(conn)
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "echo: hello there"
    [seen] = mockctl.requests(sid)
    assert seen["path"] == "/openai/realtime"
    assert seen["query"] == f"api-version={API_VERSION}&deployment=gpt4o-realtime"
    assert seen["headers"]["api-key"] == "az-key-1" and "authorization" not in seen["headers"]


def test_azure_query_parameters_and_the_v1_api(rt_gateway, mockctl) -> None:
    sid = new_id()
    headers = {"x-portkey-provider": "azure-openai", "api-key": "not-forwarded", "Authorization": "Bearer az-key-2"}
    headers.update(azure_headers(mockctl, sid))
    query = "api-version=2025-04-01-preview&deployment=from-query"
    with ws_connect(ws_url(rt_gateway, query), additional_headers=headers) as ws:
        assert json.loads(ws.recv(timeout=5))["session"]["model"] == "from-query"
    headers["x-portkey-azure-api-version"] = "v1"
    with ws_connect(ws_url(rt_gateway), additional_headers=headers) as ws:
        assert json.loads(ws.recv(timeout=5))["session"]["model"] == MODEL
    first, second = mockctl.requests(sid)
    assert (first["path"], first["query"]) == ("/openai/realtime", f"{query.split('&')[0]}&deployment=from-query")
    assert (second["path"], second["query"]) == ("/openai/v1/realtime", f"model={MODEL}")
    assert first["headers"]["api-key"] == "az-key-2"


def test_azure_entra_token_is_fetched_for_the_session(rt_gateway, mockctl, entra_id) -> None:
    sid = new_id()
    entra = {
        "x-portkey-azure-auth-mode": "entra",
        "x-portkey-azure-entra-tenant-id": "tenant-rt",
        "x-portkey-azure-entra-client-id": "app-rt",
        "x-portkey-azure-entra-client-secret": "s3cret",
    }
    client = sdk_client(rt_gateway, "azure-openai", key="unused", **azure_headers(mockctl, sid, **entra))
    with client.realtime.connect(model=MODEL) as conn, watchdog(conn):
        assert conn.recv().type == "session.created"
    [seen] = mockctl.requests(sid)
    assert seen["headers"]["authorization"].startswith("Bearer entra-tenant-rt-")
    assert "api-key" not in seen["headers"]
    assert [r["path"] for r in mockctl.requests(entra_id)] == ["/tenant-rt/oauth2/v2.0/token"]


def test_upstream_refusal_answers_the_handshake(rt_gateway, mockctl) -> None:
    sid = new_id()
    client = sdk_client(rt_gateway, "openai", key="sk-bad-key", **{"x-portkey-custom-host": mockctl.base(id=sid)})
    with pytest.raises(InvalidStatus) as caught:
        client.realtime.connect(model=MODEL).enter()
    response = caught.value.response
    assert response.status_code == 401
    assert response.headers["x-portkey-error-origin"] == "openai"
    body = json.loads(response.body)
    assert body["error"]["message"] == "openai error: Incorrect API key provided: sk-bad***."
    assert body["error"]["code"] == "invalid_api_key" and body["provider"] == "openai"

    status, headers, body = refusal(ws_url(rt_gateway), openai_headers(mockctl, sid, status=429, retry_after=7))
    assert (status, headers["retry-after"], body["error"]["message"]) == (429, "7", "openai error: mock failure 429")
    status, _, body = refusal(ws_url(rt_gateway, ""), openai_headers(mockctl, sid))
    assert status == 400 and "model" in body["error"]["message"]

    azure = {"x-portkey-provider": "azure-openai", "Authorization": "Bearer bad-key", **azure_headers(mockctl, sid)}
    status, _, body = refusal(ws_url(rt_gateway), azure)
    assert status == 401 and body["error"]["message"].startswith("azure-openai error: Access denied")
    assert not mock_events(mockctl, sid, "ws_open", timeout=0)


def test_client_close_code_reaches_the_upstream(rt_gateway, mockctl) -> None:
    sid = new_id()
    ws = ws_connect(ws_url(rt_gateway), additional_headers=openai_headers(mockctl, sid))
    ws.recv(timeout=5)
    closed_at = time.time()
    ws.close(code=4001, reason="user hung up")
    [closed] = mock_events(mockctl, sid, "ws_closed")
    assert (closed["code"], closed["reason"], closed["by"]) == (4001, "user hung up", "client")
    assert closed["t"] - closed_at < 1.0


def test_dropped_client_connection_closes_the_upstream(rt_gateway, mockctl) -> None:
    sid = new_id()
    ws = ws_connect(ws_url(rt_gateway), additional_headers=openai_headers(mockctl, sid))
    ws.recv(timeout=5)
    dropped_at = time.time()
    ws.socket.shutdown(socket.SHUT_RDWR)  # no close frame: the client just vanishes
    ws.socket.close()
    [closed] = mock_events(mockctl, sid, "ws_closed")
    assert (closed["code"], closed["reason"], closed["by"]) == (1001, "client went away", "client")
    assert closed["t"] - dropped_at < 1.0


def test_upstream_close_code_reaches_the_client(rt_gateway, mockctl) -> None:
    sid = new_id()
    with ws_connect(ws_url(rt_gateway), additional_headers=openai_headers(mockctl, sid)) as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps({"type": "mock.close", "code": 4002, "reason": "session expired"}))
        with pytest.raises(ConnectionClosed) as caught:
            ws.recv(timeout=5)
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4002, "session expired")
    [closed] = mock_events(mockctl, sid, "ws_closed")
    assert (closed["code"], closed["by"]) == (4002, "server")


def test_gateway_errors_come_before_any_upgrade(rt_gateway, mockctl) -> None:
    sid = new_id()
    url = ws_url(rt_gateway)
    bad_host = {**openai_headers(mockctl, sid), "x-portkey-custom-host": "http://169.254.169.254/v1"}
    status, headers, body = refusal(url, bad_host)
    assert (status, body["error"]["message"]) == (400, "Invalid custom host")
    assert headers["x-portkey-error-origin"] == "gateway"
    status, _, body = refusal(
        url, {**openai_headers(mockctl, sid), "x-portkey-custom-host": "http://metadata.internal"}
    )
    assert status == 400
    status, _, body = refusal(url, {"Authorization": "Bearer sk-1"})
    assert status == 400 and "x-portkey-provider" in body["error"]["message"]
    status, _, body = refusal(url, {**openai_headers(mockctl, sid), "x-portkey-provider": "nope"})
    assert (status, body["error"]["message"]) == (400, "Invalid provider passed")
    status, _, body = refusal(url, {**openai_headers(mockctl, sid), "x-portkey-provider": "groq"})
    assert (status, body["error"]["message"]) == (400, "realtime is not supported by groq")
    status, _, body = refusal(url, openai_headers(mockctl, sid, key=None))
    assert (status, body["error"]["code"]) == (401, "missing_api_key")
    azure_without_deployment = {"x-portkey-provider": "azure-openai", "x-api-key": "k", **azure_headers(mockctl, sid)}
    del azure_without_deployment["x-portkey-azure-deployment-id"]
    status, _, body = refusal(ws_url(rt_gateway, ""), azure_without_deployment)
    assert status == 400 and "deployment" in body["error"]["message"]
    assert mockctl.requests(sid) == []

    plain = requests.get(rt_gateway.url + "/v1/realtime", headers=openai_headers(mockctl, sid), timeout=5)
    assert plain.status_code == 426 and plain.headers["upgrade"] == "websocket"
    assert plain.json()["error"]["code"] == "websocket_required"
    upgrade_elsewhere = refusal(url.replace("/v1/realtime", "/v1/models"), openai_headers(mockctl, sid))
    assert upgrade_elsewhere[0] == 400 and "WebSocket" in upgrade_elsewhere[2]["message"]


def test_config_picks_the_first_target_that_serves_realtime(rt_gateway, mockctl) -> None:
    sid = new_id()
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "groq", "api_key": "gsk-1"},
            {"provider": "openai", "api_key": "sk-from-config", "custom_host": mockctl.base(id=sid)},
            {"provider": "openai", "api_key": "sk-second", "custom_host": mockctl.base(id=sid)},
        ],
    }
    headers = {"x-portkey-config": json.dumps(config)}
    with ws_connect(ws_url(rt_gateway), additional_headers=headers) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "session.created"
    [seen] = mockctl.requests(sid)
    assert seen["headers"]["authorization"] == "Bearer sk-from-config"


def test_concurrent_sessions_stay_apart(rt_gateway, mockctl) -> None:
    results: dict[str, str] = {}

    def session(i: int) -> None:
        sid = new_id()
        headers = openai_headers(mockctl, sid, text=f"answer {i}", chunks=3)
        with ws_connect(ws_url(rt_gateway), additional_headers=headers) as ws:
            ws.recv(timeout=5)
            ws.send(json.dumps({"type": "response.create"}))
            events = raw_events(ws, "response.done")
        results[f"answer {i}"] = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")

    threads = [threading.Thread(target=session, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == {f"answer {i}": f"answer {i}" for i in range(8)}


def _sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


def test_sessions_leave_no_sockets_behind(rt_gateway, mockctl) -> None:
    [worker] = rt_gateway.worker_pids()
    before = _sockets(worker)
    sid = new_id()
    for i in range(6):
        ws = ws_connect(ws_url(rt_gateway), additional_headers=openai_headers(mockctl, sid))
        ws.recv(timeout=5)
        if i % 2:
            ws.close()
        else:
            ws.socket.shutdown(socket.SHUT_RDWR)
            ws.socket.close()
    refusal(ws_url(rt_gateway), openai_headers(mockctl, sid, key="sk-bad-1"))
    mock_events(mockctl, sid, "ws_closed", count=6)
    deadline = time.monotonic() + 3
    while _sockets(worker) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sockets(worker) <= before


def test_servers_without_a_raw_socket_answer_501(client) -> None:
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "x-portkey-provider": "openai",
        "Authorization": "Bearer sk-1",
    }
    response = client.get("/v1/realtime?model=m", headers=upgrade)
    assert response.status_code == 501 and "gunicorn" in response.json["error"]["message"]
