"""Start the processes a benchmark run compares: the load mock, this gateway, the floor, the reference, LiteLLM.

Every system listens on loopback and is reached the same way by the same wrk script; each one says
which headers and which model names route a request to the load mock (``Route``) and which pids to
count for CPU (the whole process tree) and for memory (its request-serving processes).

The floor (``bench/floor_app.py``) is the cheapest Flask + gevent proxy: what a bare Flask app under gunicorn's
gevent workers costs on this machine, a measuring stick for the absolute targets.

The reference is ``@portkey-ai/gateway`` at the version pinned in ``bench/reference/package.json``
(with its lock file), installed once by ``npm ci`` into ``bench/.cache/reference`` and run on the
``node`` on the PATH; ``bench/reference/loopback.mjs`` binds it to 127.0.0.1 (it takes only
``--port=``). LiteLLM (``--litellm``) is installed once into a virtual environment under
``bench/.cache/`` at the version pinned below.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"
sys.path.insert(0, str(ROOT))

from tests.support import Server, free_port, start, start_gateway  # noqa: E402

REFERENCE_PACKAGE = "@portkey-ai/gateway"
# Never 1.82.7 or 1.82.8 (compromised releases), nor 1.107.0 (reported compromised).
LITELLM_VERSION = "1.80.0"
BAD_LITELLM = {"1.82.7", "1.82.8", "1.107.0"}


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and all its descendants (children read from /proc)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


@dataclass
class Route:
    """How one kind of request reaches the load mock through a system: URL path, headers, model."""

    path: str
    headers: dict[str, str]
    model: str


@dataclass
class System:
    """A running system under test."""

    name: str
    label: str
    server: Server
    router: Callable[[str, str], Route]
    serving: str = "workers"  # "workers": the children serve requests; "self": the process itself

    def route(self, kind: str, switches: str = "") -> Route:
        """How a ``kind`` request ("chat", "chat_to_anthropic", "messages_to_openai") reaches the mock
        with the mock's ``switches`` (e.g. ``chunks=8``)."""
        return self.router(kind, switches)

    @property
    def url(self) -> str:
        return self.server.url

    def cpu_pids(self) -> list[int]:
        return process_tree(self.server.process.pid)

    def rss_pids(self) -> list[int]:
        if self.serving == "self":
            return [self.server.process.pid]
        return self.server.worker_pids()

    def stop(self) -> None:
        self.server.stop()


# The mock's switch sets the benchmark uses (LiteLLM needs one configured model per set).
SWITCH_SETS = ("", "chunks=8", "chunks=64,delay_ms=10", "chunks=8,delay_ms=25")
KINDS = {  # kind -> (path, upstream protocol)
    "chat": ("/v1/chat/completions", "openai"),
    "chat_to_anthropic": ("/v1/chat/completions", "anthropic"),
    "messages_to_openai": ("/v1/messages", "openai"),
}


def mock_base(mock_url: str, switches: str) -> str:
    return mock_url + (f"/s/{switches}" if switches else "")


def portkey_router(mock_url: str) -> Callable[[str, str], Route]:
    """Routes for gateways that take Portkey headers (ours and the reference): the mock is the custom host."""

    def route(kind: str, switches: str) -> Route:
        path, upstream = KINDS[kind]
        headers = {"x-portkey-provider": upstream, "x-portkey-custom-host": mock_base(mock_url, switches) + "/v1"}
        if upstream == "anthropic":
            headers["x-api-key"] = "sk-ant-bench"
        else:
            headers["Authorization"] = "Bearer sk-bench"
        if path == "/v1/messages":
            headers["anthropic-version"] = "2023-06-01"
        return Route(path, headers, "claude-bench" if upstream == "anthropic" else "gpt-bench")

    return route


def start_loadmock(logs: Path) -> Server:
    """Start ``bench/loadmock.mjs`` on a free loopback port."""
    port = free_port()
    cmd = [node(), str(BENCH / "loadmock.mjs"), f"--port={port}"]
    return start(cmd, ready_path="/_mock/health", port=port, log_path=logs / f"loadmock-{port}.log")


def start_ours(logs: Path, mock_url: str, workers: int) -> System:
    """Start this gateway (``gunicorn.conf.py``) with ``workers`` workers; requests name the mock as custom host."""
    server = start_gateway(logs, workers=workers, env={"GATEWAY_LOGLEVEL": "warning"})
    label = f"this gateway ({workers} gevent worker{'s' * (workers != 1)})"
    return System("ours", label, server, portkey_router(mock_url))


def start_floor(logs: Path, mock_url: str, workers: int) -> System:
    """Start the floor (``bench/floor_app.py``, a bare Flask + geventhttpclient proxy) under gunicorn's stock gevent
    worker with ``workers`` workers; it takes the same Portkey headers as ours and the reference.

    gunicorn's ``http_parser`` is left at ``auto``, as ours leaves it: its C parser (``gunicorn_h1c``) when installed,
    so the floor parses requests with the same parser as ours. Worker connections and keep-alive match
    ``gunicorn.conf.py``; nothing else of ours is used.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(workers), "--worker-connections", "1000"]
    cmd += ["-b", f"127.0.0.1:{port}", "--chdir", str(BENCH), "--keep-alive", "75", "--graceful-timeout", "2"]
    cmd += ["--no-control-socket", "--log-level", "warning", "floor_app:app"]
    server = start(cmd, ready_path="/healthz", port=port, log_path=logs / f"floor-{port}.log")
    label = f"floor: bare Flask + gevent proxy ({workers} worker{'s' * (workers != 1)}, bench/floor_app.py)"
    return System("floor", label, server, portkey_router(mock_url))


def node() -> str:
    path = shutil.which("node")
    if not path:
        raise RuntimeError("node is not on the PATH (the reference gateway and the load mock need Node 20)")
    return path


def install_reference() -> Path:
    """Install the pinned reference gateway into the cache (once); return its start script."""
    folder = CACHE / "reference"
    script = folder / "node_modules" / REFERENCE_PACKAGE / "build" / "start-server.js"
    lock = BENCH / "reference" / "package-lock.json"
    stamp = folder / ".installed"
    if script.exists() and stamp.exists() and stamp.read_text() == lock.read_text():
        return script
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(BENCH / "reference" / name, folder / name)
    npm = shutil.which("npm")
    if not npm:
        raise RuntimeError("npm is not on the PATH (needed once to install the reference gateway)")
    # --ignore-scripts: the package's only install script (patch-package) has no patches to apply.
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=folder, check=True)
    stamp.write_text(lock.read_text())
    return script


def reference_version() -> str:
    path = CACHE / "reference" / "node_modules" / REFERENCE_PACKAGE / "package.json"
    return json.loads(path.read_text())["version"]


def start_reference(logs: Path, mock_url: str) -> System:
    """Start the reference gateway on Node, one process, on loopback, pointed at the mock per request."""
    script = install_reference()
    port = free_port()
    cmd = [node(), "--import", str(BENCH / "reference" / "loopback.mjs"), str(script), f"--port={port}", "--headless"]
    env = {"NODE_ENV": "production"}  # no request-log console (the --headless flag alone keeps it in the process)
    server = start(cmd, ready_path="/", port=port, log_path=logs / f"reference-{port}.log", env=env)
    label = f"reference {REFERENCE_PACKAGE}@{reference_version()} (Node {node_version()}, 1 process)"
    return System("reference", label, server, portkey_router(mock_url), serving="self")


def node_version() -> str:
    return subprocess.run([node(), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def install_litellm() -> Path:
    """Install the pinned LiteLLM proxy into its own virtual environment in the cache (once)."""
    if LITELLM_VERSION in BAD_LITELLM:
        raise RuntimeError(f"refusing LiteLLM {LITELLM_VERSION}: a compromised release")
    venv = CACHE / f"litellm-{LITELLM_VERSION}"
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"litellm[proxy]=={LITELLM_VERSION}"], check=True)
    return exe


def litellm_model(upstream: str, switches: str) -> str:
    name = "claude-bench" if upstream == "anthropic" else "gpt-bench"
    return name + (f"-{switches.replace(',', '-').replace('=', '')}" if switches else "")


def start_litellm(logs: Path, mock_url: str) -> System:
    """Start the LiteLLM proxy (one worker) with one model per upstream protocol and mock switch set."""
    exe = install_litellm()
    port = free_port()
    config = logs / "litellm.yaml"
    lines = ["model_list:"]
    for switches in SWITCH_SETS:
        base = mock_base(mock_url, switches)
        lines += [
            f"  - model_name: {litellm_model('openai', switches)}",
            f"    litellm_params: {{model: openai/gpt-bench, api_base: '{base}/v1', api_key: sk-bench}}",
            f"  - model_name: {litellm_model('anthropic', switches)}",
            f"    litellm_params: {{model: anthropic/claude-bench, api_base: '{base}', api_key: sk-ant-bench}}",
        ]
    lines.append("litellm_settings: {drop_params: true, telemetry: false}")
    config.write_text("\n".join(lines) + "\n")
    cmd = [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "NO_DOCS": "True"}
    server = start(
        cmd, ready_path="/health/liveliness", port=port, log_path=logs / f"litellm-{port}.log", env=env, timeout=120
    )

    def route(kind: str, switches: str) -> Route:
        path, upstream = KINDS[kind]
        return Route(path, {"Authorization": "Bearer sk-bench"}, litellm_model(upstream, switches))

    return System("litellm", f"LiteLLM proxy {LITELLM_VERSION} (1 worker)", server, route, serving="self")
