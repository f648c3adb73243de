"""The gunicorn classes of ``gateway.web.server`` without a server: redaction and JSON rejection pages."""

from __future__ import annotations

import io
import json
import logging

from gunicorn.config import Config

from gateway.web.server import RedactingLogger, json_error_page, redact_query


def test_redact_query_replaces_only_secret_values() -> None:
    assert redact_query("/v1/x?key=sk-1&a=2") == "/v1/x?key=REDACTED&a=2"
    assert redact_query("GET /v1/m?api_key=s&limit=5 HTTP/1.1") == "GET /v1/m?api_key=REDACTED&limit=5 HTTP/1.1"
    assert (
        redact_query("Token=1&ACCESS_TOKEN=2&x-amz-signature=3")
        == "Token=REDACTED&ACCESS_TOKEN=REDACTED&x-amz-signature=REDACTED"
    )
    assert redact_query("/a/b=c?d=e") == "/a/b=c?d=e"
    assert redact_query(None) is None


def test_logger_exceptions_carry_no_exception_text_and_no_query_secret() -> None:
    logger = RedactingLogger(Config())
    out = io.StringIO()
    logger.error_log.addHandler(logging.StreamHandler(out))
    try:
        raise ValueError("Invalid header value b'Bearer sk-secret-xyz'")
    except ValueError:
        logger.exception("Error handling request %s %s", "GET", "/v1/x?key=sk-q-secret")
    text = out.getvalue()
    assert "ValueError" in text and "sk-secret-xyz" not in text and "sk-q-secret" not in text


def test_json_error_page_is_a_complete_http_response_in_the_gateway_shape() -> None:
    raw = json_error_page(431, "Request Header Fields Too Large", {"line": 8190, "field": 32768, "fields": 64})
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Content-Type: application/json" in head and b"x-portkey-error-origin: gateway" in head
    assert f"Content-Length: {len(body)}".encode() in head
    document = json.loads(body)
    assert document["status"] == "failure" and document["error"]["code"] == "headers_too_large"
    assert "32768" in document["message"]


def test_a_kept_alive_connection_waits_for_the_next_turn_of_the_loop(monkeypatch) -> None:
    """After an answer, the worker lets every other ready greenlet run before that connection goes on."""
    import gevent

    from gateway.web import server

    monkeypatch.setattr(server, "serve_request", lambda *args: True)
    ran: list[str] = []

    def other() -> None:
        ran.append("other connection")

    def connection() -> None:
        gevent.spawn(other)  # ready to run, as a connection whose bytes have arrived is
        assert server.GatewayWorker.handle_request(None, "listener", None, None, None) is True
        ran.append("next request")

    gevent.spawn(connection).join(timeout=5)
    assert ran == ["other connection", "next request"]


def test_a_closing_connection_does_not_wait(monkeypatch) -> None:
    import gevent

    from gateway.web import server

    monkeypatch.setattr(server, "serve_request", lambda *args: False)
    ran: list[str] = []

    def connection() -> None:
        gevent.spawn(lambda: ran.append("other connection"))
        assert server.GatewayWorker.handle_request(None, "listener", None, None, None) is False
        ran.append("done")

    gevent.spawn(connection).join(timeout=5)
    assert ran[0] == "done"


def test_in_each_turn_every_connection_whose_bytes_arrived_runs() -> None:
    """Unlike ``gevent.sleep(0)``, a turn includes a poll: a connection whose request has arrived is
    served in it, before the busy connection's turn after that."""
    import gevent
    from gevent import socket as gsocket

    from gateway.web.server import next_turn

    ran: list[str] = []
    near, far = gsocket.socketpair()
    try:

        def reader() -> None:
            for _ in range(3):
                near.recv(1)
                ran.append("reader")

        waiting = gevent.spawn(reader)
        gevent.sleep(0.01)  # the reader now waits on its socket

        def busy() -> None:
            for _ in range(3):
                far.send(b"x")  # a request for the reader arrives while this greenlet runs
                next_turn()
                ran.append("busy")

        gevent.spawn(busy).join(timeout=5)
        waiting.join(timeout=5)
    finally:
        near.close()
        far.close()
    assert ran.count("reader") == 3
    assert ran.index("reader") < 2, ran  # served in the busy connection's first turn, not after all three
