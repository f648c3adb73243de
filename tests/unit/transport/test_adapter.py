"""FastAdapter as a requests adapter: what it serves itself and what it routes to the plain adapter."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from gateway.transport.adapter import FastAdapter, ResponseHeaders
from gateway.transport.ssrf import TrustedHosts


class RecordingAdapter(HTTPAdapter):
    """The plain adapter, recording which requests were routed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.routed: list[tuple[str, object]] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.routed.append((request.url, proxies))
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        answer = b"got " + body
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def session() -> Iterator[tuple[requests.Session, RecordingAdapter]]:
    plain = RecordingAdapter()
    fast = FastAdapter(TrustedHosts(["127.0.0.1"]), fallback=plain)
    s = requests.Session()
    s.trust_env = False
    s.mount("http://", fast)
    s.mount("https://", fast)
    yield s, plain
    s.close()


def test_the_session_sends_through_the_fast_adapter(session, server) -> None:
    s, plain = session
    resp = s.post(server + "/x", data=b"hello", timeout=5)
    assert resp.status_code == 200
    assert resp.content == b"got hello"
    assert resp.headers["content-type"] == "text/plain"
    assert plain.routed == []


def test_proxied_requests_are_routed_to_the_plain_adapter(session, server) -> None:
    s, plain = session
    proxies = {"http": server}  # the test server answers the proxied request itself
    resp = s.post("http://provider.example/v1/x", data=b"via proxy", proxies=proxies, timeout=5)
    assert resp.status_code == 200
    assert resp.content == b"got via proxy"
    assert plain.routed == [("http://provider.example/v1/x", proxies)]


def test_a_proxy_for_another_scheme_does_not_reroute(session, server) -> None:
    s, plain = session
    resp = s.post(server + "/x", data=b"direct", proxies={"https": "http://127.0.0.1:9"}, timeout=5)
    assert resp.content == b"got direct"
    assert plain.routed == []


def test_other_tls_options_are_routed_to_the_plain_adapter(session) -> None:
    fast = session[0].get_adapter("https://x")
    assert fast.serves("https://provider.example/v1")
    assert not fast.serves("https://provider.example/v1", verify=False)
    assert not fast.serves("https://provider.example/v1", verify="/other/bundle.pem")
    assert not fast.serves("https://provider.example/v1", cert=("c.pem", "k.pem"))
    assert not fast.serves("https://provider.example/v1", proxies={"all": "http://proxy:3128"})


@pytest.mark.parametrize("headers", [{"x-evil": "a\r\nInjected: yes"}, {"x-evil": "a\nb"}, {"x-bad\r\nname": "v"}])
def test_line_breaks_in_request_headers_are_refused(server, headers) -> None:
    fast = FastAdapter(TrustedHosts([]))
    with pytest.raises(ValueError, match="line break"):
        fast.open("POST", server + "/x", headers, b"", connect_timeout=1, read_timeout=1)


def test_response_headers_keep_repeated_fields() -> None:
    h = ResponseHeaders([("Set-Cookie", "a=1"), ("Content-Type", "x"), ("set-cookie", "b=2")])
    assert h.get("SET-COOKIE") == "a=1, b=2"
    assert h["content-type"] == "x" and "Content-Type" in h
    assert h.items() == [("Set-Cookie", "a=1"), ("Content-Type", "x"), ("set-cookie", "b=2")]
    assert h.getlist("set-cookie") == ["a=1", "b=2"]


def test_a_name_resolving_to_a_private_address_is_refused_before_any_connect(monkeypatch) -> None:
    """Resolve, check, then connect to the checked address: no TCP connection to an internal port is made."""
    import socket

    from gateway.transport.adapter import BlockedAddress, Origin

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "internal.example":  # a public-looking name answering with a loopback address
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    adapter = FastAdapter(TrustedHosts([]))
    with pytest.raises(BlockedAddress):
        adapter._connect(Origin(False, "internal.example", port, True, 4), 1.0, 1.0)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing ever connected
    listener.close()


def test_a_refused_connection_is_not_reported_as_a_timeout() -> None:
    import socket

    from gateway.transport.client import _failure

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    except requests.RequestException as exc:
        failure = _failure(exc, 3.05, 600)
    assert failure.kind == "connect" and "timeout" not in failure.detail.lower()
