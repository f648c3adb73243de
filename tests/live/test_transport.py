"""The upstream transport end to end: gunicorn gateway -> FastAdapter -> the mock provider (gunicorn).

One test per case the transport must keep: pooled keep-alive connections, a stale pooled
connection, the SSRF check on the connected peer address, TLS with the configured CA bundle,
connect and read timeouts, gzip and deflate answers, outbound proxies (through requests/urllib3),
chunked and sized bodies both ways, and the failure kinds. A client that disconnects closes the
provider connection: ``tests/live/test_passthrough.py::test_client_disconnect_closes_the_upstream``.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import http.server
import ipaddress
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port, scenario_id, start_mock

RESOLVER_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "resolver"
CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "hello transport"}]}


def headers(host: str, **extra: str) -> dict[str, str]:
    return {"x-portkey-provider": "openai", "Authorization": "Bearer sk-t", "x-portkey-custom-host": host, **extra}


def chat(gateway, host: str, **body: object) -> requests.Response:
    return requests.post(gateway.url + "/v1/chat/completions", json={**CHAT, **body}, headers=headers(host), timeout=15)


# -- pooled keep-alive connections --------------------------------------------------------------


def test_sequential_requests_reuse_one_pooled_connection(gateway, mockctl) -> None:
    sid = scenario_id()
    for _ in range(5):
        assert chat(gateway, mockctl.base(id=sid)).status_code == 200
    ports = {r["remote_port"] for r in mockctl.requests(sid)}
    assert len(mockctl.requests(sid)) == 5
    assert len(ports) == 1, ports


def test_concurrent_requests_open_connections_and_keep_them(gateway, mockctl) -> None:
    sid = scenario_id()
    host = mockctl.base(id=sid, delay_ms=300)
    threads = [threading.Thread(target=chat, args=(gateway, host)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = {r["remote_port"] for r in mockctl.requests(sid)}
    assert len(first) == 4  # no request waited for another one's connection
    for _ in range(3):
        assert chat(gateway, mockctl.base(id=sid)).status_code == 200
    assert {r["remote_port"] for r in mockctl.requests(sid)[4:]} <= first  # kept for the next requests


class ScriptedProvider:
    """A raw HTTP/1.1 provider on loopback: per connection, what to do with each request it reads.

    ``scripts[i]`` is the list of actions of the i-th connection: ``"answer"`` (a keep-alive JSON
    chat completion), ``"drop"`` (read the request, close without answering) or ``"idle-close"``
    (close the connection at once, before it is used again). Records ``(connection, body)``.
    """

    def __init__(self, scripts: list[list[str]]) -> None:
        self.scripts = scripts
        self.seen: list[tuple[int, bytes]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for index, script in enumerate(self.scripts):
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(index, conn, script), daemon=True).start()

    def _connection(self, index: int, conn: socket.socket, script: list[str]) -> None:
        buffer = b""
        with conn:
            for action in script:
                if action == "idle-close":
                    return
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                self.seen.append((index, body))
                if action == "drop":
                    return
                answer = json.dumps(
                    {
                        "id": "c",
                        "object": "chat.completion",
                        "created": 1,
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": f"from connection {index}"},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
                    % (len(answer), answer)
                )

    def close(self) -> None:
        self.listener.close()


def test_a_pooled_connection_the_provider_closed_while_idle_is_not_used(gateway) -> None:
    provider = ScriptedProvider([["answer", "idle-close"], ["answer"]])
    try:
        first = chat(gateway, provider.url)
        time.sleep(1.3)  # the provider closes the idle connection; past FRESH_S the pool checks it before use
        second = chat(gateway, provider.url)
    finally:
        provider.close()
    assert first.json()["choices"][0]["message"]["content"] == "from connection 0"
    assert second.json()["choices"][0]["message"]["content"] == "from connection 1"
    assert [index for index, _ in provider.seen] == [0, 1]  # sent once


def test_a_connection_closed_just_after_it_was_pooled_is_retried_on_a_new_one(gateway) -> None:
    provider = ScriptedProvider([["answer", "idle-close"], ["answer"]])
    try:
        first = chat(gateway, provider.url)
        time.sleep(0.1)  # closed by the provider, but fresher than FRESH_S: sent, found dead, sent again
        second = chat(gateway, provider.url)
    finally:
        provider.close()
    assert first.status_code == 200 and second.status_code == 200
    assert second.json()["choices"][0]["message"]["content"] == "from connection 1"
    assert [index for index, _ in provider.seen] == [0, 1]


def test_a_stale_pooled_connection_is_retried_once_on_a_new_one(gateway) -> None:
    # the provider reads the second request on the kept connection and closes it unanswered
    provider = ScriptedProvider([["answer", "drop"], ["answer"]])
    try:
        first = chat(gateway, provider.url)
        second = chat(gateway, provider.url)
    finally:
        provider.close()
    assert first.status_code == 200 and second.status_code == 200
    assert second.json()["choices"][0]["message"]["content"] == "from connection 1"
    assert [index for index, _ in provider.seen] == [0, 0, 1]
    assert provider.seen[1][1] == provider.seen[2][1]  # the same body, sent again whole


# -- the SSRF check on the connected peer address -----------------------------------------------


#: A public-looking name that the gateways of these tests resolve to 127.0.0.1 (DNS rebinding).
REBOUND_NAME = "rebound.example.net"


def rebinding_gateway(gateway_factory, **env: str):
    """A gateway whose resolver answers ``REBOUND_NAME`` with 127.0.0.1 (``tests/fixtures/resolver``)."""
    return gateway_factory(PYTHONPATH=str(RESOLVER_FIXTURE), TEST_RESOLVE=f"{REBOUND_NAME}=127.0.0.1", **env)


def test_a_name_resolving_to_a_private_address_is_refused_before_a_byte_is_sent(gateway_factory, mock) -> None:
    gw = rebinding_gateway(gateway_factory, GATEWAY_TRUSTED_HOSTS="trusted.example")  # loopback is not trusted
    sid = scenario_id()
    port = urlsplit(mock.url).port
    resp = chat(gw, f"http://{REBOUND_NAME}:{port}/s/id={sid}/v1")
    assert resp.status_code == 400
    assert "Invalid custom host" in resp.text
    assert requests.get(mock.url + "/_mock/requests", params={"id": sid}, timeout=5).json() == []


def test_a_trusted_network_lets_the_connected_address_through(gateway_factory, mock, mockctl) -> None:
    gw = rebinding_gateway(gateway_factory, GATEWAY_TRUSTED_HOSTS="127.0.0.0/8")
    sid = scenario_id()
    port = urlsplit(mock.url).port
    assert chat(gw, f"http://{REBOUND_NAME}:{port}/s/id={sid}/v1").status_code == 200
    assert len(mockctl.requests(sid)) == 1


# -- TLS with the configured CA bundle ----------------------------------------------------------


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself (its own CA bundle), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway test provider")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "provider.pem", folder / "provider.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_mock(tmp_path_factory) -> Iterator[tuple[object, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder)
    server = start_mock(folder, tls=(cert, key))
    yield server, cert
    server.stop()


def test_tls_to_a_provider_signed_by_the_configured_ca_bundle(gateway_factory, tls_mock) -> None:
    server, cert = tls_mock
    gw = gateway_factory(GATEWAY_CA_BUNDLE=str(cert))
    sid = scenario_id()
    resp = chat(gw, f"{server.url}/s/id={sid}/v1")
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == "echo: hello transport"
    stream = chat(gw, f"{server.url}/s/id={sid},chunks=3/v1", stream=True)
    assert stream.status_code == 200
    assert stream.text.rstrip().endswith("data: [DONE]")


def test_tls_to_a_provider_the_ca_bundle_does_not_know_is_a_connect_failure(gateway, tls_mock) -> None:
    server, _ = tls_mock
    sid = scenario_id()
    resp = chat(gateway, f"{server.url}/s/id={sid}/v1")
    assert resp.status_code == 502
    assert resp.json()["error"]["type"] == "upstream_unavailable"
    assert "certificate" in resp.json()["error"]["message"].lower()
    assert (
        requests.get(server.url + "/_mock/requests", params={"id": sid}, timeout=5, verify=str(tls_mock[1])).json()
        == []
    )


# -- timeouts and failure kinds -----------------------------------------------------------------


def test_a_refused_connection_is_502_upstream_unavailable(gateway) -> None:
    resp = chat(gateway, f"http://127.0.0.1:{free_port()}/v1")
    assert resp.status_code == 502
    assert resp.json()["error"]["type"] == "upstream_unavailable"


def test_no_answer_within_the_read_timeout_is_504(gateway_factory, mockctl) -> None:
    gw = gateway_factory(GATEWAY_READ_TIMEOUT="0.5")
    started = time.monotonic()
    resp = chat(gw, mockctl.base(delay_ms=3000))
    assert resp.status_code == 504
    assert resp.json()["error"]["type"] == "upstream_timeout"
    assert time.monotonic() - started < 2.5


def test_a_provider_that_closes_without_answering_is_502(gateway) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):  # the first try and the one retry of a connection that died
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        resp = chat(gateway, f"http://127.0.0.1:{port}/v1")
    finally:
        listener.close()
    assert resp.status_code == 502
    assert resp.json()["error"]["type"] == "upstream_unavailable"


def test_a_malformed_answer_is_502(gateway) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 two hundred OK\r\nbroken\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        resp = chat(gateway, f"http://127.0.0.1:{port}/v1")
    finally:
        listener.close()
    assert resp.status_code == 502


# -- gzip and deflate ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_answers_are_decoded(gateway, mockctl, encoding) -> None:
    resp = chat(gateway, mockctl.base(encoding=encoding))
    assert resp.status_code == 200
    assert "content-encoding" not in resp.headers
    assert resp.json()["choices"][0]["message"]["content"] == "echo: hello transport"
    stream = chat(gateway, mockctl.base(encoding=encoding, chunks=4), stream=True)
    assert stream.status_code == 200
    plain = chat(gateway, mockctl.base(chunks=4), stream=True)
    assert stream.text.count("data: ") == plain.text.count("data: ") > 4
    assert stream.text.rstrip().endswith("data: [DONE]")


# -- outbound proxies go through requests/urllib3 -----------------------------------------------


class ForwardProxy(http.server.ThreadingHTTPServer):
    """A plain-HTTP forward proxy on loopback that records what it forwarded."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.server.seen.append(self.path)
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        upstream.request("POST", target.path, body=body, headers=forwarded)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    def log_message(self, *args: object) -> None:
        pass


def test_an_outbound_proxy_is_used_through_requests(gateway_factory, mockctl) -> None:
    proxy = ForwardProxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        gw = gateway_factory(GATEWAY_PROXIES=json.dumps({"http": url}))
        sid = scenario_id()
        resp = chat(gw, mockctl.base(id=sid))
        assert resp.status_code == 200, resp.text
        assert resp.json()["choices"][0]["message"]["content"] == "echo: hello transport"
        assert proxy.seen == [mockctl.base(id=sid) + "/chat/completions"]
    finally:
        proxy.shutdown()
        proxy.server_close()


# -- bodies both ways ---------------------------------------------------------------------------


def test_chunked_and_sized_uploads_reach_the_provider_whole(gateway, mockctl) -> None:
    block = os.urandom(300_000)
    digest = hashlib.sha256(block * 3).hexdigest()
    url = gateway.url + "/v1/some/upload"
    hdrs = {**headers(mockctl.base()), "Content-Type": "application/octet-stream"}
    sized = requests.post(url, data=block * 3, headers=hdrs, timeout=15).json()
    assert sized["size"] == 900_000 and sized["sha256"] == digest
    assert sized["headers"]["content-length"] == "900000"
    chunked = requests.post(url, data=(block for _ in range(3)), headers=hdrs, timeout=15).json()
    assert chunked["size"] == 900_000 and chunked["sha256"] == digest
    assert chunked["headers"].get("transfer-encoding") == "chunked"


def test_chunked_and_sized_answers_reach_the_client_whole(gateway, mockctl) -> None:
    size = 3 * 1024 * 1024 + 17
    with requests.get(
        gateway.url + f"/v1/download/{size}", headers=headers(mockctl.base()), stream=True, timeout=15
    ) as resp:  # the mock streams it (chunked)
        assert resp.status_code == 200
        got = sum(len(c) for c in resp.iter_content(65536))
    assert got == size
    long = "x" * 200_000  # echoed back in a sized JSON answer
    answer = chat(gateway, mockctl.base(), messages=[{"role": "user", "content": long}])
    assert answer.json()["choices"][0]["message"]["content"] == "echo: " + long
