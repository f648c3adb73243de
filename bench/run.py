"""Benchmark the gateway against direct calls to the mock provider, in one run.

Usage: ``python bench/run.py [--duration 10] [--workers 1] [--out bench/results]``

Starts the mock provider (gunicorn, gevent) and the gateway (``gunicorn.conf.py``), then measures,
for the gateway and for the mock directly: requests/s at concurrency 1 and 32, p50/p99 latency,
the latency the gateway adds, stream time-to-first-byte, CPU-ms per proxied request (from
``/proc/<worker>/stat``), worker RSS after 10k and 20k requests, the peak RSS growth of a 500 MB
upload and download, and (in-process) the CPU cost of each provider translator. Uses ``wrk`` when
installed, otherwise a Python load generator. Writes JSON and markdown tables under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import translation  # noqa: E402
from tests.live.test_endpoints import PeakRSS, download, upload  # noqa: E402
from tests.support import Server, start_gateway, start_mock  # noqa: E402

CHAT = {
    "model": "gpt-bench",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello in five words."},
    ],
}
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench", "x-portkey-provider": "openai"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """Return user+system CPU seconds used so far by ``pids``."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the full line)
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    """Return the resident set size of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def host_and_path(url: str) -> tuple[str, str]:
    """Split an ``http://`` URL into its host (with port) and its path."""
    host, _, rest = url.removeprefix("http://").partition("/")
    return host, "/" + rest


def load_result(requests: int, seconds: float, p50_ms: float, p99_ms: float, errors: int) -> dict[str, float]:
    return {
        "requests": requests,
        "seconds": seconds,
        "rps": requests / seconds,
        "p50_ms": p50_ms,
        "p99_ms": p99_ms,
        "errors": errors,
    }


class Load:
    """Run HTTP load with wrk, or with Python threads when wrk is missing."""

    def __init__(self) -> None:
        self.wrk = shutil.which("wrk")

    def run(self, url: str, body: dict[str, Any], *, concurrency: int, duration: float) -> dict[str, float]:
        """Return requests, seconds, rps, p50_ms, p99_ms and errors for one load run."""
        if self.wrk:
            return self._wrk(url, body, concurrency, duration)
        return self._python(url, body, concurrency, duration)

    def _wrk(self, url: str, body: dict[str, Any], concurrency: int, duration: float) -> dict:
        env = {**os.environ, "BENCH_BODY": json.dumps(body)}
        cmd = [
            self.wrk,
            "-t1",
            f"-c{concurrency}",
            f"-d{duration:g}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "post.lua"),
            url,
        ]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        line = next(line for line in out.splitlines() if line.startswith("BENCH "))
        requests, dur_us, p50, p99, non2xx, errors = (int(x) for x in line.split()[1:])
        return load_result(requests, dur_us / 1e6, p50 / 1000, p99 / 1000, non2xx + errors)

    def _python(self, url: str, body: dict[str, Any], concurrency: int, duration: float) -> dict:
        host, path = host_and_path(url)
        payload = json.dumps(body).encode()
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + duration

        def worker() -> None:
            conn = http.client.HTTPConnection(host, timeout=10)
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                conn.request("POST", path, body=payload, headers=HEADERS)
                resp = conn.getresponse()
                resp.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors[0] += resp.status != 200

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.monotonic() - began
        latencies.sort()
        p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
        return load_result(len(latencies), secs, p50 * 1000, p99 * 1000, errors[0])


def stream_ttfb(url: str, *, count: int, chunks: int = 20) -> dict[str, float]:
    """Measure time to the first body byte and to the end of ``count`` sequential streams."""
    host, path = host_and_path(url)
    conn = http.client.HTTPConnection(host, timeout=10)
    body = json.dumps({**CHAT, "stream": True}).encode()
    ttfb: list[float] = []
    totals: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers=HEADERS)
        resp = conn.getresponse()
        first = resp.read1(65536)
        ttfb.append(time.perf_counter() - started)
        data = first + resp.read()
        totals.append(time.perf_counter() - started)
        if not data.rstrip().endswith(b"[DONE]"):
            raise RuntimeError(f"stream did not complete: {data[-200:]!r}")
    ttfb.sort()
    return {
        "ttfb_p50_ms": statistics.median(ttfb) * 1000,
        "ttfb_p99_ms": ttfb[int(len(ttfb) * 0.99)] * 1000,
        "total_p50_ms": statistics.median(totals) * 1000,
    }


def measure_cpu(server: Server, action: Callable[[], dict]) -> tuple[dict, float]:
    """Run ``action`` and return its result and the CPU seconds ``server``'s workers spent."""
    pids = server.worker_pids()
    before = cpu_seconds(pids)
    result = action()
    return result, cpu_seconds(pids) - before


def large_bodies(gateway: Server, mock: Server, size: int) -> dict[str, float]:
    """Upload and download ``size`` bytes through one worker; return seconds and peak RSS growth."""
    (pid,) = gateway.worker_pids()[:1]
    host = mock.url + "/v1"
    upload(gateway, host, 20 * 1024 * 1024)  # warm the code paths first
    download(gateway, host, 20 * 1024 * 1024)
    started = time.monotonic()
    with PeakRSS(pid) as up:
        resp, _ = upload(gateway, host, size)
    up_seconds = time.monotonic() - started
    if resp.status_code != 200:
        raise RuntimeError(f"upload failed: {resp.status_code} {resp.text[:200]}")
    started = time.monotonic()
    with PeakRSS(pid) as down:
        got, _ = download(gateway, host, size)
    down_seconds = time.monotonic() - started
    if got != size:
        raise RuntimeError(f"download returned {got} of {size} bytes")
    return {
        "size_mb": size / 2**20,
        "upload_s": up_seconds,
        "upload_rss_growth_mb": up.growth / 2**20,
        "download_s": down_seconds,
        "download_rss_growth_mb": down.growth / 2**20,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput run")
    parser.add_argument("--workers", type=int, default=1, help="gateway workers")
    parser.add_argument("--streams", type=int, default=300, help="sequential streams for TTFB")
    parser.add_argument("--soak", type=int, default=10000, help="requests per soak phase (two phases)")
    parser.add_argument("--big-mb", type=int, default=500, help="size of the upload and download (MB; 0 skips)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    mock = start_mock(logs)
    base = mock.url + "/v1"
    gateway = start_gateway(
        logs,
        workers=args.workers,
        env={
            "GATEWAY_PROVIDERS": json.dumps({"openai": {"base_url": base}}),
        },
    )
    load = Load()
    results: dict[str, Any] = {
        "tool": "wrk" if load.wrk else "python",
        "workers": args.workers,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    try:
        direct_url = base + "/chat/completions"
        gw_url = gateway.url + "/v1/chat/completions"
        # warm both paths (connection pools, imports, JIT-less caches)
        load.run(direct_url, CHAT, concurrency=4, duration=2)
        load.run(gw_url, CHAT, concurrency=4, duration=2)
        sides = (
            ("direct", mock, direct_url, "mock_cpu_ms_per_request"),
            ("gateway", gateway, gw_url, "cpu_ms_per_request"),
        )
        for conc in (1, 32):
            for side, server, url, cpu_key in sides:
                run, cpu = measure_cpu(
                    server, lambda u=url, c=conc: load.run(u, CHAT, concurrency=c, duration=args.duration)
                )
                run[cpu_key] = cpu * 1000 / max(1, run["requests"])
                results[f"{side}_c{conc}"] = run
        results["added_p50_ms_c1"] = results["gateway_c1"]["p50_ms"] - results["direct_c1"]["p50_ms"]
        results["added_p99_ms_c1"] = results["gateway_c1"]["p99_ms"] - results["direct_c1"]["p99_ms"]

        stream_direct = stream_ttfb(base.replace("/v1", "/s/chunks=20/v1") + "/chat/completions", count=args.streams)
        stream_gw, cpu = measure_cpu(gateway, lambda: stream_ttfb(gw_url, count=args.streams))
        stream_gw["cpu_ms_per_stream"] = cpu * 1000 / args.streams
        results["stream_direct"] = stream_direct
        results["stream_gateway"] = stream_gw
        results["stream_ttfb_added_ms"] = stream_gw["ttfb_p50_ms"] - stream_direct["ttfb_p50_ms"]

        workers = gateway.worker_pids()
        soak = []
        done = 0
        for phase in (1, 2):
            while done < phase * args.soak:
                done += load.run(gw_url, CHAT, concurrency=32, duration=2)["requests"]
            soak.append(max(rss_mb(pid) for pid in workers))
        results["soak_requests"] = done
        results["rss_mb_after_10k"], results["rss_mb_after_20k"] = soak
        results["rss_growth_mb"] = soak[1] - soak[0]
        if args.big_mb:
            results["large_bodies"] = large_bodies(gateway, mock, args.big_mb * 2**20)
    finally:
        gateway.stop()
        mock.stop()

    results["translation"] = translation.measure()
    args.out.mkdir(parents=True, exist_ok=True)
    table = render(results) + "\n" + translation.render(results["translation"])
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "latest.md").write_text(table)
    print(table)
    return 0


def render(r: dict[str, Any]) -> str:
    """Return the markdown table of a run."""
    d1, g1, d32, g32 = r["direct_c1"], r["gateway_c1"], r["direct_c32"], r["gateway_c32"]
    sd, sg = r["stream_direct"], r["stream_gateway"]

    def latency(run: dict[str, float]) -> str:
        return f"{run['p50_ms']:.2f} / {run['p99_ms']:.2f}"

    rows = [
        ("Requests/s, concurrency 1", f"{d1['rps']:.0f}", f"{g1['rps']:.0f}", ""),
        ("Requests/s, concurrency 32", f"{d32['rps']:.0f}", f"{g32['rps']:.0f}", ""),
        ("p50 / p99 latency c=1 (ms)", latency(d1), latency(g1), ""),
        ("p50 / p99 latency c=32 (ms)", latency(d32), latency(g32), ""),
        ("Added p50 latency, c=1 (ms)", "", f"{r['added_p50_ms_c1']:.2f}", "<= 1.0"),
        ("CPU per proxied request, c=32 (ms)", "", f"{g32['cpu_ms_per_request']:.3f}", "<= 0.8"),
        ("CPU per proxied request, c=1 (ms)", "", f"{g1['cpu_ms_per_request']:.3f}", ""),
        (
            "Mock's own CPU per request, c=32 (ms; a Flask app that only answers)",
            f"{d32['mock_cpu_ms_per_request']:.3f}",
            "",
            "",
        ),
        ("Stream TTFB p50 (ms)", f"{sd['ttfb_p50_ms']:.2f}", f"{sg['ttfb_p50_ms']:.2f}", ""),
        ("Stream TTFB added (ms)", "", f"{r['stream_ttfb_added_ms']:.2f}", "<= 2"),
        ("CPU per relayed stream, 20 chunks (ms)", "", f"{sg['cpu_ms_per_stream']:.3f}", ""),
        (
            "Worker RSS after 10k / 20k requests (MB)",
            "",
            f"{r['rss_mb_after_10k']:.1f} / {r['rss_mb_after_20k']:.1f}",
            "<= 80, flat",
        ),
        ("RSS growth 10k -> 20k (MB)", "", f"{r['rss_growth_mb']:.2f}", "<= 5"),
    ]
    big = r.get("large_bodies")
    if big:
        rows += [
            (
                f"{big['size_mb']:.0f} MB upload (multipart /v1/files): seconds, peak RSS growth (MB)",
                "",
                f"{big['upload_s']:.1f} s, +{big['upload_rss_growth_mb']:.1f}",
                "flat",
            ),
            (
                f"{big['size_mb']:.0f} MB download (/v1/files/{{id}}/content): seconds, peak RSS growth (MB)",
                "",
                f"{big['download_s']:.1f} s, +{big['download_rss_growth_mb']:.1f}",
                "flat",
            ),
        ]
    rows += [
        ("Errors (all runs)", f"{d1['errors'] + d32['errors']}", f"{g1['errors'] + g32['errors']}", "0"),
    ]
    head = (
        f"Benchmark {r['time']} ({r['tool']}, {r['workers']} gateway worker(s), {r['cpus']} CPUs, "
        f"Python {r['python']}, {r['duration_s']:g}s per run; mock, gateway and load share the machine)\n\n"
    )
    lines = ["| Measure | Direct to mock | Through gateway | Target |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return head + "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
