"""The gateway under gunicorn against clients that misbehave at the HTTP level (issue 15, items 5, 6, 7, 9).

Every check talks raw HTTP over a socket, so nothing between the test and gunicorn tidies the bytes.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.support import Server

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def address(server: Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def exchange(server: Server, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send ``raw`` and read until the server closes (or ``timeout``)."""
    with socket.create_connection(address(server), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                block = sock.recv(65536)
            except TimeoutError:
                break
            if not block:
                break
            data += block
        return data


def read_response(sock: socket.socket) -> bytes:
    """Read one response with a Content-Length from a keep-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    _, headers, body = parse(data)
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return data


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def assert_gateway_error(raw: bytes, status: int) -> dict:
    got, headers, body = parse(raw)
    assert got == status, raw[:300]
    assert headers["content-type"] == "application/json"
    assert headers["x-portkey-error-origin"] == "gateway"
    length = int(headers["content-length"])
    assert len(body) == length, "nothing may follow the error body"
    document = json.loads(body)
    assert document["status"] == "failure"
    assert set(document["error"]) == {"message", "type", "param", "code"}
    return document


@pytest.fixture(scope="module")
def hardened(gateway_factory) -> Server:
    return gateway_factory(
        GATEWAY_WORKER_CONNECTIONS="60",
        GATEWAY_HEADER_TIMEOUT="1",
        GATEWAY_MAX_IDLE_CONNECTIONS="30",
        GATEWAY_ACCESSLOG="-",
        GATEWAY_ACCESSLOG_FORMAT='%(h)s "%(r)s" %(s)s q=%(q)s auth=%({authorization}i)s',
    )


@pytest.fixture(scope="module")
def crowded(gateway_factory) -> Server:
    """Default deadlines (10 s to send a head, 75 s keep-alive), a small connection pool, no idle cap."""
    return gateway_factory(GATEWAY_WORKER_CONNECTIONS="60")


# -- item 5: an invalid chunked body is the client's fault --------------------------------------------


def test_invalid_chunked_request_body_is_a_json_400(hardened: Server) -> None:
    body = json.dumps(CHAT).encode()
    raw = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"x-portkey-provider: openai\r\nAuthorization: Bearer sk-test\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"zz\r\n"
        + body
        + b"\r\n0\r\n\r\n"
    )
    document = assert_gateway_error(exchange(hardened, raw), 400)
    assert "chunked" in document["message"]


def test_chunked_body_broken_after_a_valid_chunk_is_a_400(hardened: Server) -> None:
    body = json.dumps(CHAT).encode()
    raw = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"x-portkey-provider: openai\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(body[:10]):x}\r\n".encode()
        + body[:10]
        + b"XX"
        + body[10:]
    )
    assert_gateway_error(exchange(hardened, raw), 400)


# -- item 6: gunicorn's own rejections are JSON ------------------------------------------------------


def test_a_12_kib_config_header_is_accepted(hardened: Server, mock: Server) -> None:
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [{"provider": "openai", "api_key": "sk-test", "override_params": {"user": "u" * 12000}}],
    }
    response = requests.post(
        hardened.url + "/v1/chat/completions", json=CHAT, headers={"x-portkey-config": json.dumps(config)}, timeout=10
    )
    assert response.status_code == 200, response.text


def test_an_oversized_header_is_a_json_431(hardened: Server) -> None:
    raw = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nx-portkey-config: " + b"a" * 40000 + b"\r\n\r\n"
    document = assert_gateway_error(exchange(hardened, raw), 431)
    assert "32768" in document["message"]
    assert document["error"]["code"] == "headers_too_large"


def test_a_non_ascii_request_line_is_a_json_400(hardened: Server) -> None:
    raw = "GET /v1/mod\u00e9ls\u4e2d HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    assert_gateway_error(exchange(hardened, raw), 400)


def test_a_duplicate_content_type_is_a_json_400(hardened: Server) -> None:
    body = json.dumps(CHAT).encode()
    raw = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Type: text/plain\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    assert_gateway_error(exchange(hardened, raw), 400)


def test_an_overlong_request_line_is_a_json_414(hardened: Server) -> None:
    raw = b"GET /v1/models?x=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_gateway_error(exchange(hardened, raw), 414)


# -- item 7: slow and idle clients cannot starve the worker ------------------------------------------


def test_a_request_head_must_arrive_within_the_header_deadline(hardened: Server) -> None:
    with socket.create_connection(address(hardened), timeout=6) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(8):  # trickle a header byte every 0.3 s: still cut at the deadline
            try:
                sock.sendall(b"x")
            except OSError:
                break
            time.sleep(0.3)
        try:
            rest = sock.recv(1024)
        except (TimeoutError, ConnectionResetError):
            rest = b"<open>"
        waited = time.monotonic() - started
    assert rest == b"", "the server should have closed the connection"
    assert waited < 5


def test_held_open_idle_connections_cannot_block_a_new_request(crowded: Server) -> None:
    # 3x the worker's connection pool, all idle: without a bound the pool fills, gunicorn stops
    # accepting and a new request waits behind them (10 s, the header deadline, at the least).
    idle = []
    try:
        for _ in range(180):
            sock = socket.create_connection(address(crowded), timeout=5)
            idle.append(sock)
        time.sleep(0.3)
        started = time.monotonic()
        response = requests.post(
            crowded.url + "/v1/chat/completions",
            json=CHAT,
            headers={"x-portkey-provider": "openai", "Authorization": "Bearer sk-test"},
            timeout=4,
        )
        assert response.status_code == 200
        assert time.monotonic() - started < 4
    finally:
        for sock in idle:
            sock.close()


def test_keep_alive_connections_beyond_the_bound_are_closed_oldest_first(hardened: Server) -> None:
    session_socks = []
    try:
        for _ in range(40):  # 40 keep-alive connections after one request each; the bound is 30
            sock = socket.create_connection(address(hardened), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            session_socks.append(sock)
        time.sleep(0.3)
        closed = 0
        for sock in session_socks:
            sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError):
                closed += sock.recv(1) == b""
        assert 10 <= closed <= 12
        sock = session_socks[-1]
        sock.settimeout(5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200"), "the newest keep-alive connection still works"
    finally:
        for sock in session_socks:
            sock.close()


# -- item 9: the access log never writes a secret ----------------------------------------------------


def test_access_log_redacts_secret_query_parameters_and_credential_headers(hardened: Server) -> None:
    requests.get(
        hardened.url + "/v1/models?key=sk-query-secret-1&limit=5&api_key=sk-query-secret-2&X-Amz-Signature=abc123",
        headers={"Authorization": "Bearer sk-header-secret"},
        timeout=5,
    )
    time.sleep(0.3)
    log = hardened.log()
    assert "limit=5" in log
    assert "key=REDACTED" in log and "api_key=REDACTED" in log and "X-Amz-Signature=REDACTED" in log
    for secret in ("sk-query-secret-1", "sk-query-secret-2", "abc123", "sk-header-secret"):
        assert secret not in log


def test_rejected_request_lines_and_header_lines_are_logged_without_secrets(hardened: Server) -> None:
    bad_line = b"GET /v1/models?key=sk-line-secret-9&x=1 HTTP/1.1 extra\r\nHost: x\r\n\r\n"
    assert_gateway_error(exchange(hardened, bad_line), 400)
    bad_header = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization Bearer sk-header-line-secret\r\n\r\n"
    assert_gateway_error(exchange(hardened, bad_header), 400)
    time.sleep(0.3)
    log = hardened.log()
    assert "sk-line-secret-9" not in log and "sk-header-line-secret" not in log
    assert "key=REDACTED" in log
