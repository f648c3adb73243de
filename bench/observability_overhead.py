"""CPU per request with the request log (JSON) and Prometheus metrics on, against the same run without them.

    python bench/observability_overhead.py [--requests 1000] [--rounds 7] [--concurrency 4]

Three single-worker gateways against one mock provider, loaded in alternating rounds so machine noise
falls on all of them alike: ``bare`` (no records, no log, no metrics), ``records`` (the record built and
stored in SQLite; no log, no metrics), ``full`` (records, JSON lines on stdout and metrics) and
``records-again`` (``records`` once more, to show the run's noise). CPU is the
gateway processes' user+system time over the requests sent (gunicorn master and worker), the median
over rounds. The issue-13 budget is ``full - records <= 0.05 ms`` per request (median of the rounds'
differences). Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import Server, start_gateway, start_mock  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}).encode()
CONFIGS = {
    "bare": {"GATEWAY_RECORDS_MAX": "0", "GATEWAY_LOG_FORMAT": "off", "GATEWAY_METRICS": "false"},
    "records": {"GATEWAY_LOG_FORMAT": "off", "GATEWAY_METRICS": "false"},
    "full": {"GATEWAY_LOG_FORMAT": "json"},
    # the same settings as ``records``: how far two identical gateways differ in this run (the noise)
    "records-again": {"GATEWAY_LOG_FORMAT": "off", "GATEWAY_METRICS": "false"},
}


def cpu_seconds(server: Server) -> float:
    total = 0
    for pid in [server.process.pid, *server.worker_pids()]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def load(server: Server, headers: dict[str, str], count: int, concurrency: int) -> int:
    """Send ``count`` chats over ``concurrency`` keep-alive connections; return the failures."""
    host = server.url.removeprefix("http://")
    left = [count]
    failures = [0]
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, timeout=30)
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            conn.request("POST", "/v1/chat/completions", body=BODY, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                with lock:
                    failures[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per gateway per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="obs-bench-"))
    mock = start_mock(logs, workers=2)
    gateways: dict[str, Server] = {}
    try:
        providers = json.dumps({"openai": {"base_url": mock.url + "/v1"}})
        for name, env in CONFIGS.items():
            env = {**env, "GATEWAY_PROVIDERS": providers, "GATEWAY_RECORDS_DB": str(logs / f"{name}.sqlite3")}
            gateways[name] = start_gateway(logs, env=env, workers=1)
        headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-b", "x-portkey-provider": "openai"}
        for server in gateways.values():  # warm up: imports, pools, price lookups
            load(server, headers, 200, args.concurrency)
        rounds: dict[str, list[float]] = {name: [] for name in gateways}
        for _ in range(args.rounds):
            for name, server in gateways.items():
                before = cpu_seconds(server)
                failed = load(server, headers, args.requests, args.concurrency)
                rounds[name].append((cpu_seconds(server) - before) * 1000 / args.requests)
                if failed:
                    raise SystemExit(f"{name}: {failed} requests failed")
        # Each round loads every gateway back to back, so a round's differences share its machine load.
        per = {name: statistics.median(values) for name, values in rounds.items()}
        gaps = {
            name: statistics.median(a - b for a, b in zip(rounds[name], rounds["records"], strict=True))
            for name in gateways
        }
        print(f"Observability overhead: {args.rounds} rounds x {args.requests} chats, c={args.concurrency}, 1 worker")
        print()
        print("| gateway | CPU per request, median (ms) | vs records-only, median of rounds (ms) |")
        print("|---|---|---|")
        for name in gateways:
            print(f"| {name} | {per[name]:.3f} | {gaps[name]:+.3f} |")
        print()
        budget = gaps["full"]
        print(f"JSON log + metrics: {budget:+.3f} ms per request (budget +0.050): {'ok' if budget <= 0.05 else 'OVER'}")
    finally:
        for server in gateways.values():
            server.stop()
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
