"""The ``/v1/*`` pass-through when the provider's body breaks off mid-way: the client's connection is
aborted, never ended cleanly, so the client cannot take a truncated body for a whole one."""

from __future__ import annotations

import socket
import time

import pytest
import requests

SIZE = 1024 * 1024  # the mock's pattern file; cut_after=3 sends three 64 KiB blocks, then drops the connection


def proxied(mockctl, **switches) -> tuple[str, dict[str, str]]:
    headers = {
        "x-portkey-provider": "openai",
        "Authorization": "Bearer sk-live",
        "x-portkey-custom-host": mockctl.base(**switches),
    }
    return f"/v1/proxy/files/file-bytes-{SIZE}/content", headers


def test_a_whole_body_passes_through(gateway, mockctl) -> None:
    path, headers = proxied(mockctl)
    response = requests.get(gateway.url + path, headers=headers, timeout=20)
    assert response.status_code == 200 and len(response.content) == SIZE


def test_a_body_cut_upstream_aborts_the_client_connection(gateway, mockctl) -> None:
    path, headers = proxied(mockctl, cut_after=3)
    with (
        requests.get(gateway.url + path, headers=headers, stream=True, timeout=20) as response,
        pytest.raises(requests.exceptions.ChunkedEncodingError),
    ):
        assert response.status_code == 200
        for _ in response.iter_content(65536):
            pass


def test_raw_http_sees_no_terminating_chunk_after_a_cut(gateway, mockctl) -> None:
    path, headers = proxied(mockctl, cut_after=3)
    port = int(gateway.url.rsplit(":", 1)[1])
    head = f"GET {path} HTTP/1.1\r\nHost: gw\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                block = sock.recv(65536)
            except ConnectionResetError:
                break
            if not block:
                break
            data += block
    assert data.startswith(b"HTTP/1.1 200")
    _, _, body = data.partition(b"\r\n\r\n")
    assert 0 < len(body) < SIZE
    assert not body.endswith(b"0\r\n\r\n"), "a cut body must not be ended like a complete one"
