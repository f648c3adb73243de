"""The worker's response: the head goes out with the first body chunk; chunks are framed and sent one by one."""

from __future__ import annotations

import time
from email.utils import formatdate
from types import SimpleNamespace

from gunicorn.config import Config

from gateway.web.response_writer import OneWriteResponse, http_date


class RecordingSocket:
    """Takes every ``send`` whole, or at most ``take`` bytes of it; records each system-call-sized write."""

    def __init__(self, take: int | None = None) -> None:
        self.take = take
        self.sends: list[bytes] = []
        self.sendalls: list[bytes] = []

    def send(self, data: bytes) -> int:
        data = bytes(data)[: self.take] if self.take else bytes(data)
        self.sends.append(data)
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.sendalls.append(bytes(data))

    def wire(self) -> bytes:
        return b"".join(self.sends + self.sendalls)


def response(method: str = "POST", version: tuple[int, int] = (1, 1), take: int | None = None):
    req = SimpleNamespace(method=method, version=version, should_close=lambda: False)
    sock = RecordingSocket(take)
    return OneWriteResponse(req, sock, Config()), sock


def test_a_json_answer_is_one_send_with_the_head():
    resp, sock = response()
    body = b'{"id":"chatcmpl-1"}'
    resp.start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    resp.write(body)
    resp.close()
    assert len(sock.sends) == 1 and not sock.sendalls
    head, _, rest = sock.sends[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Length: 19" in lines and b"Connection: keep-alive" in lines
    assert any(line.startswith(b"Date: ") for line in lines)
    assert rest == body


def test_a_stream_sends_the_head_with_the_first_event_then_each_event_as_it_comes():
    resp, sock = response()
    resp.start_response("200 OK", [("Content-Type", "text/event-stream")])
    resp.write(b"data: 1\n\n")
    assert len(sock.sends) == 1 and sock.sends[0].endswith(b"\r\n\r\n9\r\ndata: 1\n\n\r\n")
    assert b"Transfer-Encoding: chunked" in sock.sends[0]
    resp.write(b"data: [DONE]\n\n")
    resp.close()
    assert sock.sends[1:] == [b"e\r\ndata: [DONE]\n\n\r\n", b"0\r\n\r\n"]


def test_a_head_answer_sends_the_head_alone():
    resp, sock = response(method="HEAD")
    resp.start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "5")])
    resp.write(b"hello")
    resp.close()
    assert len(sock.sends) == 1 and sock.sends[0].endswith(b"Content-Length: 5\r\n\r\n")


def test_an_empty_answer_still_sends_its_head():
    resp, sock = response()
    resp.start_response("204 No Content", [])
    resp.close()
    assert len(sock.sends) == 1 and sock.sends[0].startswith(b"HTTP/1.1 204 No Content\r\n")


def test_what_one_send_leaves_goes_out_with_sendall():
    resp, sock = response(take=10)
    body = b"x" * 100
    resp.start_response("200 OK", [("Content-Length", "100")])
    resp.write(body)
    assert sock.wire().endswith(b"\r\n\r\n" + body)
    assert len(sock.sends) == 1 and len(sock.sendalls) == 1


def test_http_1_0_answers_are_not_chunked():
    resp, sock = response(version=(1, 0))
    resp.start_response("200 OK", [])
    resp.write(b"abc")
    assert sock.sends[0].startswith(b"HTTP/1.0 200 OK\r\n") and sock.sends[0].endswith(b"\r\n\r\nabc")


def test_the_date_is_the_current_http_date():
    before = formatdate(int(time.time()), usegmt=True)
    value = http_date()
    after = formatdate(int(time.time()), usegmt=True)
    assert value in (before, after)
