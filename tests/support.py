"""Start and stop real server processes (the gateway and the mock provider) for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running server process."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        """Return what the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, text: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until ``text`` appears ``count`` times in the log (request lines are written in batches)."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def worker_pids(self) -> list[int]:
        """Return the pids of the process's children (gunicorn workers)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        """Stop the process gracefully, then forcefully."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(
    cmd: list[str],
    *,
    ready_path: str,
    port: int,
    log_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    scheme: str = "http",
    verify: str | bool = True,
) -> Server:
    """Start ``cmd`` and wait until ``GET ready_path`` answers 200 (``verify``: the CA bundle for https)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OPENAI_", "ANTHROPIC_"))}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    log = open(log_path, "ab")
    process = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"{scheme}://127.0.0.1:{port}"
    server = Server(process, url, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{cmd[:4]} exited with {process.returncode}:\n{server.log()}")
        try:
            if requests.get(url + ready_path, timeout=1, verify=verify).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{cmd[:4]} did not become ready in {timeout}s:\n{server.log()}")


def start_mock(log_dir: Path, workers: int = 1, tls: tuple[Path, Path] | None = None) -> Server:
    """Start the mock provider under gunicorn with gevent workers (over TLS with ``tls``: cert and key files)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gevent",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "1",
        "--no-control-socket",
        "--log-level",
        "warning",
        "tests.mockprovider.app:app",
    ]
    if tls is None:
        return start(cmd, ready_path="/_mock/health", port=port, log_path=log_dir / f"mock-{port}.log")
    cert, key = tls
    cmd[-1:-1] = ["--certfile", str(cert), "--keyfile", str(key)]
    log_path = log_dir / f"mock-tls-{port}.log"
    return start(cmd, ready_path="/_mock/health", port=port, log_path=log_path, scheme="https", verify=str(cert))


def start_redis(log_dir: Path) -> Server:
    """Start a throwaway ``redis-server`` on loopback (no persistence)."""
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    log_path = log_dir / f"redis-{port}.log"
    log = open(log_path, "ab")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = Server(process, f"redis://127.0.0.1:{port}/0", log_path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server did not start:\n{server.log()}")


def start_gateway(log_dir: Path, env: dict[str, str] | None = None, workers: int = 1) -> Server:
    """Start the gateway with the project's ``gunicorn.conf.py``."""
    port = free_port()
    full_env = {"GATEWAY_WORKERS": str(workers), "GATEWAY_GRACEFUL_TIMEOUT": "2", **(env or {})}
    cmd = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    return start(cmd, ready_path="/healthz", port=port, log_path=log_dir / f"gateway-{port}.log", env=full_env)


def sdk_client(gateway: Server, provider: str, key: str = "sk-test-key", **headers: str):
    """An official ``openai`` SDK client for ``provider`` through ``gateway`` (only the base URL changed)."""
    from openai import OpenAI

    return OpenAI(
        base_url=gateway.url + "/v1",
        api_key=key,
        max_retries=0,
        default_headers={"x-portkey-provider": provider, **headers},
    )


def scenario_id() -> str:
    """A fresh mock scenario id: the mock records (and switches) each id's requests apart."""
    return uuid.uuid4().hex[:10]


def mock_host(mockctl, path: str = "/v1", **switches: object) -> str:
    """The mock's base URL with ``switches``, ending in ``path`` instead of ``/v1`` (the provider's own URL shape)."""
    return mockctl.base(**switches).removesuffix("/v1") + path


def mock_client(
    gateway: Server,
    mockctl,
    provider: str,
    *,
    key: str = "sk-test-key",
    path: str = "/v1",
    headers: dict[str, str] | None = None,
    sid: str | None = None,
    **switches: object,
):
    """An SDK client for ``provider`` pointed at the mock under a fresh scenario id; returns it and the id.

    The mock is the provider's custom host (``path`` as in ``mock_host``) with ``switches``;
    ``headers`` are further ``x-portkey-*`` headers; ``sid`` is a scenario id chosen beforehand.
    """
    sid = sid or scenario_id()
    host = mock_host(mockctl, path, id=sid, **switches)
    return sdk_client(gateway, provider, key=key, **{"x-portkey-custom-host": host, **(headers or {})}), sid


def mock_headers(
    mockctl, provider: str, *, path: str = "/v1", key: str = "k", sid: str | None = None, **switches: object
) -> dict[str, str]:
    """Headers for a plain ``requests`` call to ``provider`` on the mock, as ``mock_client`` sets them."""
    return {
        "x-portkey-provider": provider,
        "Authorization": f"Bearer {key}",
        "x-portkey-custom-host": mock_host(mockctl, path, id=sid or scenario_id(), **switches),
    }
