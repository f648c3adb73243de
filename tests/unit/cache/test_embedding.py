"""The gateway as a library: the app factory, and mounting in a host Flask app."""

from __future__ import annotations

import json
import sys

import pytest
import requests
from flask import Flask

from gateway import Gateway, create_app, make_blueprint
from gateway.web.jsonprovider import OrjsonProvider
from tests.support import free_port, start


def test_factory_honours_its_config() -> None:
    assert create_app({"TESTING": True}).testing
    assert not create_app().testing
    app = create_app({"GATEWAY_READ_TIMEOUT": 12})
    assert app.extensions["gateway"].settings.read_timeout == 12.0


def test_env_and_config_file_layering(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text("GATEWAY_READ_TIMEOUT = 5\nGATEWAY_POOL_MAXSIZE = 7\nGATEWAY_CONNECT_TIMEOUT = 2\n")
    monkeypatch.setenv("GATEWAY_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("GATEWAY_POOL_MAXSIZE", "9")
    settings = create_app({"GATEWAY_CONNECT_TIMEOUT": 1}).extensions["gateway"].settings
    assert (settings.read_timeout, settings.pool_maxsize, settings.connect_timeout) == (5.0, 9, 1.0)


def test_init_app_leaves_the_host_alone() -> None:
    host = Flask("host")
    provider_class = type(host.json)
    handlers_before = dict(host.error_handler_spec)
    Gateway().init_app(host)
    host.register_blueprint(make_blueprint(), url_prefix="/llm")
    assert type(host.json) is provider_class and not isinstance(host.json, OrjsonProvider)
    assert host.error_handler_spec.get(None) == handlers_before.get(None)
    assert "gevent.monkey" not in sys.modules or not _socket_patched()
    assert "gateway" in host.extensions


def _socket_patched() -> bool:
    from gevent import monkey

    return monkey.is_module_patched("socket")


def test_registering_the_blueprint_initialises_the_extension() -> None:
    host = Flask("host")
    host.register_blueprint(make_blueprint(), url_prefix="/ai")
    resp = host.test_client().get("/ai/healthz")
    assert resp.status_code == 200 and resp.json["status"] == "ok"


def test_gateway_errors_in_a_host_use_the_gateway_shape() -> None:
    host = Flask("host")
    host.register_blueprint(make_blueprint(), url_prefix="/llm")
    client = host.test_client()
    resp = client.post(
        "/llm/v1/chat/completions", data=b"{", content_type="application/json", headers={"x-portkey-provider": "openai"}
    )
    assert resp.status_code == 400 and resp.json["status"] == "failure"
    resp = client.get("/llm/not-a-route")
    assert resp.status_code == 404 and resp.json["ok"] is False
    assert client.get("/elsewhere").content_type.startswith("text/html")  # the host's own 404 page


def test_lazy_stream_close_runs_the_generator_cleanup(monkeypatch) -> None:
    """Closing the WSGI response closes the upstream, without a server (Flask's lazy test client)."""
    from gateway.core.result import Result
    from gateway.web.state import GatewayState

    closed = []

    def fake_stream():
        try:
            for i in range(100):
                yield f"data: {i}\n\n".encode()
        finally:
            closed.append(True)

    class FakeRouter:
        def route(self, plan):
            return Result(200, [], stream=fake_stream(), content_type="text/event-stream", provider="openai")

    monkeypatch.setattr(GatewayState, "router", lambda self, call: FakeRouter())
    app = create_app({"TESTING": True})
    resp = app.test_client().post(
        "/v1/chat/completions",
        headers={"x-portkey-provider": "openai"},
        json={"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True},
    )
    assert resp.is_streamed
    assert next(resp.iter_encoded()) == b"data: 0\n\n"
    resp.close()
    assert closed == [True]


@pytest.fixture(scope="module")
def host_server(log_dir, mock):
    port = free_port()
    env = {"HOST_GATEWAY_PROVIDERS": json.dumps({"openai": {"base_url": mock.url + "/v1"}})}
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gevent",
        "-w",
        "1",
        "--no-control-socket",
        "-b",
        f"127.0.0.1:{port}",
        "tests.hostapp:app",
    ]
    server = start(cmd, ready_path="/llm/healthz", port=port, log_path=log_dir / "host.log", env=env)
    yield server
    server.stop()


def test_sdk_through_a_host_app_under_a_prefix(host_server) -> None:
    from openai import OpenAI

    for prefix in ("/llm", "/llm2"):
        client = OpenAI(
            base_url=f"{host_server.url}{prefix}/v1",
            api_key="k",
            max_retries=0,
            default_headers={"x-portkey-provider": "openai"},
        )
        reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "mounted"}])
        assert reply.choices[0].message.content == "echo: mounted"
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "mounted stream"}], stream=True
            )
            if c.choices
        )
        assert text == "echo: mounted stream"
    # the host's own routes, JSON provider and 404 page are untouched
    assert requests.get(host_server.url + "/").text == "host home page"
    assert requests.get(host_server.url + "/api/data").text.replace(" ", "").strip() == '{"apple":"\\u00e9","zebra":1}'
    assert requests.get(host_server.url + "/llm/v2/nothing").json()["message"] == "Not Found"
    assert requests.get(host_server.url + "/missing").headers["content-type"].startswith("text/html")
    assert "MonkeyPatchWarning" not in host_server.log()


def test_gateway_keys_are_required_when_configured() -> None:
    app = create_app({"TESTING": True, "GATEWAY_API_KEYS": ["gw-secret"]})
    client = app.test_client()
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    resp = client.post("/v1/chat/completions", json=body, headers={"x-portkey-provider": "openai"})
    assert resp.status_code == 401 and resp.json["error"]["type"] == "authentication_error"
    resp = client.post(
        "/v1/chat/completions", json=body, headers={"x-portkey-provider": "openai", "x-portkey-api-key": "wrong"}
    )
    assert resp.status_code == 401
    resp = client.post(
        "/v1/chat/completions",
        data=b"{",
        content_type="application/json",
        headers={"x-portkey-provider": "openai", "x-portkey-api-key": "gw-secret"},
    )
    assert resp.status_code == 400  # past the key check
    assert client.get("/healthz").status_code == 200
