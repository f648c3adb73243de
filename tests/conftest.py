"""Shared fixtures: in-process apps built from the factory, and live gunicorn servers.

Live servers are real processes: the mock provider (gunicorn, gevent) and the gateway
(gunicorn with the project's ``gunicorn.conf.py``). They start once per session; tests that
need other settings start their own gateway with ``gateway_factory``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from gateway import create_app
from tests.support import Server, sdk_client, start_gateway, start_mock, start_redis


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's provider and gateway variables out of the tests."""
    for key in list(os.environ):
        if key.startswith(("OPENAI_", "ANTHROPIC_", "GATEWAY_", "FLASK_GATEWAY_", "PORTKEY_")):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def app():
    """A standalone app in testing mode."""
    application = create_app({"TESTING": True, "GATEWAY_RETRY_BASE_DELAY": 0.01})
    yield application
    application.extensions["gateway"].close()


@pytest.fixture
def client(app):
    """Flask's test client for ``app``."""
    return app.test_client()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def mock(log_dir: Path) -> Iterator[Server]:
    """The mock provider, running under gunicorn."""
    server = start_mock(log_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(log_dir: Path) -> Iterator[Server]:
    """A real redis-server on loopback."""
    server = start_redis(log_dir)
    yield server
    server.stop()


class MockControl:
    """Read what the mock provider received and how its streams ended."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.url = server.url

    def base(self, **switches: object) -> str:
        """Return a base URL (ending in ``/v1``) that applies ``switches``."""
        if not switches:
            return self.url + "/v1"
        segment = ",".join(f"{k}={v}" for k, v in switches.items())
        return f"{self.url}/s/{segment}/v1"

    def requests(self, scenario: str = "default") -> list[dict]:
        return requests.get(self.url + "/_mock/requests", params={"id": scenario}, timeout=5).json()

    def events(self, scenario: str = "default") -> list[dict]:
        return requests.get(self.url + "/_mock/events", params={"id": scenario}, timeout=5).json()


@pytest.fixture(scope="session")
def mockctl(mock: Server) -> MockControl:
    return MockControl(mock)


def provider_env(mock: Server, **extra: str) -> dict[str, str]:
    """Environment pointing the OpenAI-compatible providers used in tests at the mock."""
    providers = {pid: {"base_url": mock.url + "/v1"} for pid in ("openai", "groq", "together-ai", "anthropic")}
    return {"GATEWAY_PROVIDERS": json.dumps(providers), "GATEWAY_RETRY_BASE_DELAY": "0.05", **extra}


@pytest.fixture(scope="session")
def gateway_factory(log_dir: Path, mock: Server) -> Iterator[Callable[..., Server]]:
    """Start extra gateways with their own settings; all are stopped at session end."""
    started: list[Server] = []

    def factory(workers: int = 1, **env: str) -> Server:
        server = start_gateway(log_dir, env=provider_env(mock, **env), workers=workers)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def gateway(gateway_factory: Callable[..., Server]) -> Server:
    """The default live gateway (one gevent worker) pointed at the mock provider."""
    return gateway_factory(GATEWAY_STREAM_IDLE_TIMEOUT="2")


@pytest.fixture
def openai_client(gateway: Server):
    """An official ``openai`` client whose only change is the base URL (plus the provider header)."""
    return sdk_client(gateway, "openai")
