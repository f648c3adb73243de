"""Measurements shared by every system under test: wrk load with /proc CPU accounting, stream timing, RSS."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROMPT = "Say hello in five words."


def cpu_seconds(pids: list[int]) -> float:
    """Return user+system CPU seconds used so far by ``pids`` (fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    """Return the resident set size of ``pid`` in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def body_for(kind: str, model: str, *, stream: bool) -> dict[str, Any]:
    """The request body of a ``kind`` call: OpenAI chat, or Anthropic Messages for ``messages_to_openai``."""
    if kind == "messages_to_openai":
        body = {
            "model": model,
            "max_tokens": 64,
            "system": "You are terse.",
            "messages": [{"role": "user", "content": PROMPT}],
        }
    else:
        body = {
            "model": model,
            "max_tokens": 64,
            "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": PROMPT}],
        }
    if stream:
        body["stream"] = True
    return body


def stream_end(kind: str) -> bytes:
    """The bytes a complete stream of ``kind`` ends with."""
    return b"message_stop" if kind == "messages_to_openai" else b"[DONE]"


def split_url(url: str) -> tuple[str, str]:
    host, _, rest = url.removeprefix("http://").partition("/")
    return host, "/" + rest


def post(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float = 10) -> tuple[int, bytes]:
    """One POST; return the status and the whole body."""
    host, path = split_url(url)
    conn = http.client.HTTPConnection(host, timeout=timeout)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def result(requests: int, seconds: float, p50_ms: float, p99_ms: float, errors: int, bad: int) -> dict[str, float]:
    return {
        "requests": requests,
        "seconds": seconds,
        "rps": requests / seconds if seconds else 0.0,
        "p50_ms": p50_ms,
        "p99_ms": p99_ms,
        "errors": errors + bad,
    }


class Load:
    """HTTP load with wrk (``bench/post.lua``), or Python threads when wrk is missing."""

    def __init__(self) -> None:
        self.wrk = shutil.which("wrk")

    @property
    def tool(self) -> str:
        return "wrk" if self.wrk else "python"

    def run(
        self,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str],
        *,
        concurrency: int,
        duration: float,
        expect: bytes | None = None,
    ) -> dict[str, float]:
        """Return requests, seconds, rps, p50_ms, p99_ms and errors (non-2xx, socket errors, unfinished streams)."""
        if self.wrk:
            return self._wrk(url, body, headers, concurrency, duration, expect)
        return self._python(url, body, headers, concurrency, duration, expect)

    def _wrk(self, url, body, headers, concurrency, duration, expect) -> dict[str, float]:
        env = {
            **os.environ,
            "BENCH_BODY": json.dumps(body),
            "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
            "BENCH_EXPECT": expect.decode() if expect else "",
        }
        cmd = [self.wrk, "-t1", f"-c{concurrency}", f"-d{duration:g}s", "--timeout", "10s"]
        cmd += ["-s", str(BENCH / "post.lua"), url]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        line = next(line for line in out.splitlines() if line.startswith("BENCH "))
        requests, dur_us, p50, p99, non2xx, errors, bad = (int(x) for x in line.split()[1:])
        return result(requests, dur_us / 1e6, p50 / 1000, p99 / 1000, non2xx + errors, bad)

    def _python(self, url, body, headers, concurrency, duration, expect) -> dict[str, float]:
        host, path = split_url(url)
        payload = json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **headers}
        latencies: list[float] = []
        failures = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + duration

        def worker() -> None:
            conn = http.client.HTTPConnection(host, timeout=10)
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                conn.request("POST", path, body=payload, headers=all_headers)
                resp = conn.getresponse()
                data = resp.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    failures[0] += resp.status != 200 or bool(expect and expect not in data)

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.monotonic() - began
        latencies.sort() if latencies else latencies.append(0.0)
        p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
        return result(len(latencies), secs, p50 * 1000, p99 * 1000, failures[0], 0)


def stream_ttfb(url: str, body: dict[str, Any], headers: dict[str, str], *, count: int, end: bytes) -> dict:
    """Time to the first body byte and to the end of ``count`` sequential streams on one connection."""
    host, path = split_url(url)
    conn = http.client.HTTPConnection(host, timeout=10)
    payload = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **headers}
    ttfb: list[float] = []
    totals: list[float] = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("POST", path, body=payload, headers=all_headers)
            resp = conn.getresponse()
            first = resp.read1(65536)
            ttfb.append(time.perf_counter() - started)
            data = first + resp.read()
            totals.append(time.perf_counter() - started)
            if resp.status != 200 or end not in data[-200:]:
                raise RuntimeError(f"stream did not complete ({resp.status}): {data[-200:]!r}")
    finally:
        conn.close()
    ttfb.sort()
    return {
        "ttfb_p50_ms": statistics.median(ttfb) * 1000,
        "ttfb_p99_ms": ttfb[int(len(ttfb) * 0.99)] * 1000,
        "total_p50_ms": statistics.median(totals) * 1000,
    }


def event_delays(url: str, body: dict[str, Any], headers: dict[str, str]) -> list[float]:
    """For each event of one paced stream from the load mock, ms from its writing (``x_sent_ms``) to its arrival."""
    host, path = split_url(url)
    conn = http.client.HTTPConnection(host, timeout=10)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        buffer, delays = b"", []
        while piece := resp.read1(65536):
            now = time.time() * 1000
            buffer += piece
            *events, buffer = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
            for event in events:
                data = event.partition(b"data: ")[2]
                if data.startswith(b"{"):
                    sent = json.loads(data).get("x_sent_ms")
                    if sent is not None:
                        delays.append(now - float(sent))
        return delays
    finally:
        conn.close()


class PeakRSS:
    """Sample the resident size of some processes every 10 ms while the block runs."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.base = {pid: rss_mb(pid) for pid in pids}
        self.peak = dict(self.base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in self.pids:
            self.peak[pid] = max(self.peak[pid], rss_mb(pid))

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self._sample()

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def concurrent_streams(url: str, body: dict[str, Any], headers: dict[str, str], *, count: int, end: bytes, pids):
    """Open ``count`` streams at once; return how many completed, the wall time and the peak RSS."""
    barrier = threading.Barrier(count)
    done = [0]
    failures: list[str] = []
    lock = threading.Lock()
    host, path = split_url(url)
    payload = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **headers}

    def one() -> None:
        conn = http.client.HTTPConnection(host, timeout=60)
        try:
            barrier.wait()
            conn.request("POST", path, body=payload, headers=all_headers)
            resp = conn.getresponse()
            data = resp.read()
            ok = resp.status == 200 and end in data[-200:]
            with lock:
                done[0] += ok
                if not ok and len(failures) < 3:
                    failures.append(f"{resp.status}: {data[-120:]!r}")
        except Exception as exc:  # a refused or reset connection is a failed stream
            with lock:
                if len(failures) < 3:
                    failures.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    with PeakRSS(pids) as rss:
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
    return {
        "streams": count,
        "completed": done[0],
        "seconds": seconds,
        "rss_before_mb": max(rss.base.values(), default=0.0),
        "rss_peak_mb": max(rss.peak.values(), default=0.0),
        "failures": failures,
    }
