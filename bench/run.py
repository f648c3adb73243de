"""Benchmark this gateway side by side with the reference gateway (and optionally LiteLLM), in one run.

Usage: ``python bench/run.py [--rounds 3] [--duration 5] [--workers 2] [--litellm] [--out bench/results]``

Starts the load mock (``bench/loadmock.mjs``, Node), this gateway (``gunicorn.conf.py``), the floor (a bare
Flask + gevent proxy, ``bench/floor_app.py``; ``--no-floor`` skips it), the reference gateway
(``@portkey-ai/gateway`` on Node, pinned in ``bench/reference/``) and, with ``--litellm``, a pinned LiteLLM
proxy, all on loopback. Every system gets the same wrk script and bodies against the same mock, in
alternating rounds; each row is the median over the rounds. Prints, for every row, the values, the ratio
ours ÷ reference and the target of issue 11 (met or not), and writes ``latest.json`` and ``latest.md``
under ``bench/results/``. A row the reference cannot serve says so. The floor takes part in the rounds'
pass-through rows only, as a measuring stick: it gets no ratio and no target.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import measure, systems, translation  # noqa: E402
from bench.measure import Load, body_for, cpu_seconds, rss_mb, stream_end  # noqa: E402
from bench.systems import System  # noqa: E402

TRANSLATED = ("chat_to_anthropic", "messages_to_openai")
STREAM_CONCURRENCY = 8
# The floor (bench/floor_app.py) is a measuring stick: its values are shown, never compared or judged.
FLOOR_NOT_APPLICABLE = "not applicable: the floor only passes requests through"


# ---------------------------------------------------------------------------------------------------------
# one system, one round


def probe(system: System, kind: str, *, stream: bool, switches: str = "") -> str | None:
    """Send one request; return None when it succeeds, else why it failed (shown in the row)."""
    route = system.route(kind, switches)
    try:
        status, data = measure.post(system.url + route.path, body_for(kind, route.model, stream=stream), route.headers)
    except OSError as exc:
        return f"fails: {exc!r}"
    if status != 200:
        try:
            message = json.loads(data).get("message") or data[:100].decode(errors="replace")
        except ValueError:
            message = data[:100].decode(errors="replace")
        return f"fails: HTTP {status} ({message})"
    if stream and stream_end(kind) not in data[-200:]:
        return f"fails: unfinished stream {data[-80:]!r}"
    return None


def loaded(
    load: Load, system: System, kind: str, *, stream: bool, concurrency: int, duration: float, switches: str = ""
) -> dict[str, float]:
    """One wrk run of ``kind`` requests with the CPU the system's process tree spent per request."""
    route = system.route(kind, switches)
    pids = system.cpu_pids()
    before = cpu_seconds(pids)
    run = load.run(
        system.url + route.path,
        body_for(kind, route.model, stream=stream),
        route.headers,
        concurrency=concurrency,
        duration=duration,
        expect=stream_end(kind) if stream else None,
    )
    run["cpu_ms"] = (cpu_seconds(pids) - before) * 1000 / max(1, run["requests"])
    return run


def round_of(load: Load, system: System, args: argparse.Namespace, failed: dict[str, str]) -> dict[str, float]:
    """Measure every per-round row of one system; ``failed`` names the rows it cannot serve."""
    out: dict[str, float] = {}
    d = args.duration
    errors = 0
    if "chat" not in failed:
        c1 = loaded(load, system, "chat", stream=False, concurrency=1, duration=d)
        c32 = loaded(load, system, "chat", stream=False, concurrency=32, duration=d)
        out |= {"p50_c1": c1["p50_ms"], "p99_c1": c1["p99_ms"], "rps_c1": c1["rps"], "cpu_ms_c1": c1["cpu_ms"]}
        out |= {"rps_c32": c32["rps"], "p99_c32": c32["p99_ms"], "cpu_ms_c32": c32["cpu_ms"]}
        errors += c1["errors"] + c32["errors"]
    if "stream" not in failed:
        s64 = loaded(load, system, "chat", stream=True, concurrency=STREAM_CONCURRENCY, duration=d)
        out["cpu_ms_stream64"] = s64["cpu_ms"]
        errors += s64["errors"]
        route = system.route("chat")
        body = body_for("chat", route.model, stream=True)
        ttfb = measure.stream_ttfb(system.url + route.path, body, route.headers, count=args.streams, end=b"[DONE]")
        out["ttfb_p50"] = ttfb["ttfb_p50_ms"]
    for kind in TRANSLATED:
        if kind not in failed:
            run = loaded(load, system, kind, stream=False, concurrency=32, duration=d)
            out[f"cpu_ms_{kind}"] = run["cpu_ms"]
            errors += run["errors"]
        if f"{kind}_stream" not in failed:
            streams = {"stream": True, "concurrency": STREAM_CONCURRENCY, "duration": d}
            s64 = loaded(load, system, kind, **streams)
            s8 = loaded(load, system, kind, **streams, switches="chunks=8")
            out[f"us_event_{kind}"] = (s64["cpu_ms"] - s8["cpu_ms"]) * 1000 / (64 - 8)
            out[f"cpu_ms_stream_{kind}"] = s64["cpu_ms"]
            errors += s64["errors"] + s8["errors"]
    out["errors"] = errors
    return out


def direct_round(load: Load, mock: systems.Server, args: argparse.Namespace) -> dict[str, float]:
    """The mock alone: the latency floor the 'added' rows subtract, and the mock's own CPU per request."""
    url = mock.url + "/v1/chat/completions"
    body = body_for("chat", "gpt-bench", stream=False)
    pid = [mock.process.pid]
    before = cpu_seconds(pid)
    c1 = load.run(url, body, {}, concurrency=1, duration=args.duration)
    mock_cpu = (cpu_seconds(pid) - before) * 1000 / max(1, c1["requests"])
    ttfb = measure.stream_ttfb(url, {**body, "stream": True}, {}, count=args.streams, end=b"[DONE]")
    return {"p50_c1": c1["p50_ms"], "p99_c1": c1["p99_ms"], "ttfb_p50": ttfb["ttfb_p50_ms"], "mock_cpu_ms": mock_cpu}


def relay_delay(system: System, mock_url: str) -> float | None:
    """Largest extra delay of one event of a paced stream (8 events 25 ms apart) through ``system``.

    Each event carries the time the mock wrote it; the delay of an event is its arrival minus that, and
    the row is the largest delay through the system minus the median delay straight from the mock.
    """
    switches = "chunks=8,delay_ms=25"
    route = system.route("chat", switches)
    body = body_for("chat", route.model, stream=True)
    direct = measure.event_delays(systems.mock_base(mock_url, switches) + "/v1/chat/completions", body, {})
    through = measure.event_delays(system.url + route.path, body, route.headers)
    if not through:
        return None  # the system rebuilt the events without the mock's timestamps
    return max(through) - statistics.median(direct)


def soak(load: Load, system: System, phase_requests: int) -> dict[str, float]:
    """RSS of the serving processes after ``phase_requests`` and twice ``phase_requests`` chat requests."""
    route = system.route("chat")
    body = body_for("chat", route.model, stream=False)
    rss, done = [], 0
    for phase in (1, 2):
        while done < phase * phase_requests:
            done += load.run(system.url + route.path, body, route.headers, concurrency=32, duration=2)["requests"]
        rss.append(max(rss_mb(pid) for pid in system.rss_pids()))
    return {"rss_10k": rss[0], "rss_20k": rss[1], "rss_growth": rss[1] - rss[0], "soak_requests": done}


def concurrent(system: System, count: int) -> dict[str, Any]:
    """``count`` concurrent 64-chunk streams paced 10 ms per event: how many complete, peak RSS."""
    route = system.route("chat", "chunks=64,delay_ms=10")
    body = body_for("chat", route.model, stream=True)
    return measure.concurrent_streams(
        system.url + route.path, body, route.headers, count=count, end=b"[DONE]", pids=system.rss_pids()
    )


def large_bodies(logs: Path, ours: System, size_mb: int) -> dict[str, float]:
    """Upload and download ``size_mb`` MB through one of our workers (the Python mock serves /v1/files)."""
    from tests.live.test_endpoints import PeakRSS, download, upload
    from tests.support import start_mock

    mock = start_mock(logs)
    try:
        host = mock.url + "/v1"
        size = size_mb * 2**20
        pid = ours.rss_pids()[0]
        upload(ours.server, host, 20 * 2**20)  # warm the code paths first
        download(ours.server, host, 20 * 2**20)
        started = time.monotonic()
        with PeakRSS(pid) as up:
            resp, _ = upload(ours.server, host, size)
        up_seconds = time.monotonic() - started
        if resp.status_code != 200:
            raise RuntimeError(f"upload failed: {resp.status_code} {resp.text[:200]}")
        started = time.monotonic()
        with PeakRSS(pid) as down:
            got, _ = download(ours.server, host, size)
        down_seconds = time.monotonic() - started
        if got != size:
            raise RuntimeError(f"download returned {got} of {size} bytes")
    finally:
        mock.stop()
    return {
        "size_mb": size_mb,
        "upload_s": up_seconds,
        "upload_rss_growth_mb": up.growth / 2**20,
        "download_s": down_seconds,
        "download_rss_growth_mb": down.growth / 2**20,
    }


# ---------------------------------------------------------------------------------------------------------
# rows and targets


@dataclass
class Row:
    key: str
    label: str
    fmt: str
    target: str  # shown text
    check: Callable[[float, float | None], bool | None] | None  # (ours, reference) -> met; None: not judged
    failed_by: str  # which probe decides whether a system can serve the row


def ratio_at_most(limit: float, absolute: float | None = None):
    def check(ours: float, ref: float | None) -> bool | None:
        if absolute is not None and ours > absolute:
            return False
        if ref is None or ref <= 0:
            return None
        return ours / ref <= limit

    return check


def ratio_at_least(limit: float):
    return lambda ours, ref: None if not ref else ours / ref >= limit


def at_most(limit: float):
    return lambda ours, ref: ours <= limit


ROWS = [
    Row(
        "cpu_ms_c32",
        "CPU per proxied non-streamed request, c=32 (ms)",
        ".3f",
        "<= 0.6 x ref and <= 0.65 ms",
        ratio_at_most(0.6, 0.65),
        "chat",
    ),
    Row("rps_c32", "Requests/s at concurrency 32", ".0f", ">= 2.2 x ref, zero errors", ratio_at_least(2.2), "chat"),
    Row("added_p50_c1", "Added p50 latency at c=1 (ms)", ".2f", "<= 0.6 ms", at_most(0.6), "chat"),
    Row("p99_c32", "p99 latency at c=32 (ms)", ".2f", "<= ref", ratio_at_most(1.0), "chat"),
    Row("ttfb_added", "Stream time-to-first-byte added (ms)", ".2f", "<= 1.0 ms", at_most(1.0), "stream"),
    Row("cpu_ms_stream64", "CPU per 64-chunk streamed answer (ms)", ".2f", "<= 3.5 ms", at_most(3.5), "stream"),
    Row(
        "relay_delay_ms",
        "Paced stream (8 events 25 ms apart): largest delay an event gains (ms)",
        ".2f",
        "<= 5 ms (relayed as they arrive)",
        at_most(5.0),
        "relay",
    ),
    Row(
        "cpu_ms_chat_to_anthropic",
        "Translated, OpenAI chat in -> Anthropic out: CPU per request (ms)",
        ".3f",
        "<= 0.8 ms",
        at_most(0.8),
        "chat_to_anthropic",
    ),
    Row(
        "us_event_chat_to_anthropic",
        "Translated, OpenAI chat in -> Anthropic out: CPU per stream event (us)",
        ".1f",
        "<= 40 us",
        at_most(40.0),
        "chat_to_anthropic_stream",
    ),
    Row(
        "cpu_ms_messages_to_openai",
        "Translated, Anthropic Messages in -> OpenAI out: CPU per request (ms)",
        ".3f",
        "<= 0.8 ms",
        at_most(0.8),
        "messages_to_openai",
    ),
    Row(
        "us_event_messages_to_openai",
        "Translated, Anthropic Messages in -> OpenAI out: CPU per stream event (us)",
        ".1f",
        "<= 40 us",
        at_most(40.0),
        "messages_to_openai_stream",
    ),
    Row("rss_10k", "Worker RSS after 10k requests (MB)", ".1f", "", None, "chat"),
    Row("rss_20k", "Worker RSS after 20k requests (MB)", ".1f", "<= 60 MB", at_most(60.0), "chat"),
    Row("rss_growth", "Worker RSS growth 10k -> 20k (MB)", ".2f", "<= 2 MB", at_most(2.0), "chat"),
    Row(
        "streams_completed",
        "Concurrent streams (64 events, 10 ms apart; --concurrent-streams): completed",
        ".0f",
        "all",
        at_most(float("inf")),
        "stream",
    ),
    Row("streams_rss_peak", "Concurrent streams: peak worker RSS (MB)", ".1f", "", None, "stream"),
    Row("rps_c1", "Requests/s at concurrency 1", ".0f", "", None, "chat"),
    Row("p50_c1", "p50 latency at c=1 (ms)", ".2f", "", None, "chat"),
    Row("cpu_ms_c1", "CPU per proxied non-streamed request, c=1 (ms)", ".3f", "", None, "chat"),
    Row("errors", "Errors in all load runs (non-2xx, socket, unfinished streams)", ".0f", "0", at_most(0), "none"),
]


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for r in rounds for k in r}
    return {k: statistics.median(r[k] for r in rounds if k in r) for k in sorted(keys)}


def judge(row: Row, values: dict[str, dict[str, Any]], failures: dict[str, dict[str, str]]) -> dict[str, Any]:
    """One result row: every system's value (or why it failed), ours ÷ reference and met / not met."""
    entry: dict[str, Any] = {"key": row.key, "label": row.label, "target": row.target, "values": {}, "notes": {}}
    for name, vals in values.items():
        why = failures.get(name, {}).get(row.failed_by)
        if why:
            entry["notes"][name] = why
        elif row.key in vals:
            entry["values"][name] = vals[row.key]
    ours, ref = entry["values"].get("ours"), entry["values"].get("reference")
    entry["ratio"] = ours / ref if ours is not None and ref else None
    met = None
    if ours is not None and row.check is not None:
        met = row.check(ours, ref)
        if row.key == "rps_c32" and values.get("ours", {}).get("errors", 0):
            met = False
        if row.key == "streams_completed":
            met = ours == values["ours"].get("streams_total", ours)
    entry["met"] = met
    return entry


def http_parser() -> str:
    """The HTTP/1 parser our gunicorn picks (``http_parser = auto``): gunicorn_h1c when installed."""
    try:
        return f"C (gunicorn_h1c {importlib.metadata.version('gunicorn_h1c')})"
    except importlib.metadata.PackageNotFoundError:
        return "python (requirements-fast.txt not installed)"


def render(results: dict[str, Any]) -> str:
    names = [n for n in ("ours", "reference", "litellm", "floor") if n in results["systems"]]
    head = (
        f"Benchmark {results['time']} ({results['tool']}, {results['rounds']} alternating round(s), "
        f"{results['duration_s']:g}s per load run, medians; {results['cpus']} CPUs shared by the load generator, "
        f"the mock and the systems; Python {results['python']}; gunicorn's HTTP parser: "
        f"{results.get('http_parser', 'python')})\n\n"
        + "".join(f"- {n}: {results['systems'][n]}\n" for n in names)
        + "\n"
    )
    # The floor's column sits with the systems' values; the ratios compare ours with the others only.
    cols = ["Measure", *(f"{n} (no target)" if n == "floor" else n for n in names), "ours / reference"]
    cols += ["ours / litellm"] if "litellm" in names else []
    cols += ["Target (issue 11)", "Met"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for entry in results["rows"]:
        row = next(r for r in ROWS if r.key == entry["key"])
        cells = [entry["label"]]
        for n in names:
            if n in entry["values"] and row.key == "streams_completed":
                many = results["concurrent_streams"][n]
                cells.append(f"{many['completed']} of {many['streams']}")
            elif n in entry["values"]:
                cells.append(format(entry["values"][n], row.fmt))
            elif entry["notes"].get(n, "").startswith("not applicable"):
                cells.append("n/a")
            else:
                cells.append(entry["notes"].get(n, "not measured"))
        cells.append(f"{entry['ratio']:.2f}" if entry["ratio"] is not None else "-")
        if "litellm" in names:
            lit, ours = entry["values"].get("litellm"), entry["values"].get("ours")
            cells.append(f"{ours / lit:.2f}" if lit and ours is not None else "-")
        met = entry["met"]
        cells += [entry["target"], "" if not entry["target"] else {True: "met", False: "NOT MET", None: "n/a"}[met]]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    extra = []
    if "floor" in names:
        extra.append(
            "The floor (bench/floor_app.py) is a bare Flask + geventhttpclient proxy under gunicorn's gevent workers "
            "(the same HTTP parser as ours): what the Flask + gevent stack alone costs on this machine, in the same "
            f"rounds; no ratio or target is judged for it. n/a: {FLOOR_NOT_APPLICABLE}; soak, concurrent streams "
            "and the paced stream are not measured for it."
        )
    direct = results.get("direct", {})
    if direct:
        extra.append(
            f"Direct to the mock: p50 at c=1 {direct['p50_c1']:.2f} ms, stream TTFB p50 {direct['ttfb_p50']:.2f} ms, "
            f"the mock's own CPU {direct['mock_cpu_ms']:.3f} ms per request."
        )
    big = results.get("large_bodies")
    if big:
        extra.append(
            f"This gateway, {big['size_mb']} MB multipart upload (/v1/files): {big['upload_s']:.1f} s, peak worker RSS "
            f"+{big['upload_rss_growth_mb']:.1f} MB; download (/v1/files/{{id}}/content): {big['download_s']:.1f} s, "
            f"+{big['download_rss_growth_mb']:.1f} MB (target: flat; the reference is not measured here)."
        )
    speed = machine_note(results)
    if speed:
        extra.append(speed)
    met = [e for e in results["rows"] if e["target"]]
    summary = f"Targets met: {sum(e['met'] is True for e in met)} of {len(met)}"
    summary += f" (not met: {', '.join(e['key'] for e in met if e['met'] is False) or 'none'}"
    summary += f"; not judged: {', '.join(e['key'] for e in met if e['met'] is None) or 'none'})."
    return head + "\n".join(lines) + "\n\n" + "\n\n".join([*extra, summary]) + "\n"


#: The reference's CPU per proxied request (ms) in issue 11's own measurements, the machine its absolute targets
#: (0.65 ms, 0.6 ms, 1.0 ms, 0.8 ms) were set on.
ISSUE_REFERENCE_CPU_MS = 1.09


def machine_note(results: dict[str, Any]) -> str | None:
    """How fast this machine ran compared with the one issue 11's absolute targets were set on (information only:
    every target above is judged as written)."""
    row = next((e for e in results["rows"] if e["key"] == "cpu_ms_c32"), None)
    ref = row["values"].get("reference") if row else None
    if not ref:
        return None
    factor = ref / ISSUE_REFERENCE_CPU_MS
    return (
        f"Machine speed: the reference used {ref:.3f} ms CPU per proxied request in this run, {factor:.2f} x the "
        f"{ISSUE_REFERENCE_CPU_MS} ms of issue 11's measurements; absolute targets (ms) are judged as written, "
        "not scaled."
    )


# ---------------------------------------------------------------------------------------------------------


def failures_of(system: System) -> dict[str, str]:
    """Probe every kind of request once; name the ones the system cannot serve and why.

    The floor would forward a translated kind's body unchanged (and the mock would answer it), so those kinds
    are marked not applicable without a probe.
    """
    failed = {}
    if system.name == "floor":
        failed = {key: FLOOR_NOT_APPLICABLE for kind in TRANSLATED for key in (kind, f"{kind}_stream")}
    for key, kind, stream in (
        ("chat", "chat", False),
        ("stream", "chat", True),
        ("chat_to_anthropic", "chat_to_anthropic", False),
        ("chat_to_anthropic_stream", "chat_to_anthropic", True),
        ("messages_to_openai", "messages_to_openai", False),
        ("messages_to_openai_stream", "messages_to_openai", True),
    ):
        why = None if key in failed else probe(system, kind, stream=stream)
        if why:
            failed[key] = why
    return failed


def warm(load: Load, system: System, failed: dict[str, str]) -> None:
    for key, kind, stream in (("chat", "chat", False), ("stream", "chat", True)) + tuple(
        (k, k, False) for k in TRANSLATED
    ):
        if key not in failed:
            loaded(load, system, kind, stream=stream, concurrency=4, duration=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians are reported)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gateway workers (default: cores)")
    parser.add_argument("--streams", type=int, default=200, help="sequential streams per TTFB measurement")
    parser.add_argument("--soak", type=int, default=10000, help="requests per soak phase (two phases)")
    parser.add_argument("--concurrent-streams", type=int, default=256, help="streams open at once (0 skips)")
    parser.add_argument("--big-mb", type=int, default=500, help="size of the upload and download (MB; 0 skips)")
    parser.add_argument("--litellm", action="store_true", help=f"also run LiteLLM proxy {systems.LITELLM_VERSION}")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference gateway")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (bare Flask + gevent proxy)")
    parser.add_argument("--no-translation", action="store_true", help="skip the in-process translator costs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    load = Load()
    mock = systems.start_loadmock(logs)
    started: list[System] = []
    results: dict[str, Any] = {
        "tool": load.tool,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "http_parser": http_parser(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "logs": str(logs),
    }
    try:
        ours = systems.start_ours(logs, mock.url, args.workers)
        started.append(ours)
        if not args.no_floor:
            started.append(systems.start_floor(logs, mock.url, args.workers))
        if not args.no_reference:
            started.append(systems.start_reference(logs, mock.url))
        if args.litellm:
            started.append(systems.start_litellm(logs, mock.url))
        results["systems"] = {s.name: s.label for s in started}
        failures = {s.name: failures_of(s) for s in started}
        results["failures"] = failures
        for s in started:
            warm(load, s, failures[s.name])
            for key, why in failures[s.name].items():
                if why != FLOOR_NOT_APPLICABLE:
                    print(f"{s.name}: {key} {why}", flush=True)
        per_round: dict[str, list[dict[str, float]]] = {s.name: [] for s in started}
        direct_rounds = []
        for i in range(args.rounds):
            order = started if i % 2 == 0 else started[::-1]
            direct_rounds.append(direct_round(load, mock, args))
            for s in order:
                print(f"round {i + 1}/{args.rounds}: {s.name}", flush=True)
                per_round[s.name].append(round_of(load, s, args, failures[s.name]))
        results["direct"] = medians(direct_rounds)
        values = {name: medians(rs) for name, rs in per_round.items()}
        results["per_round"] = per_round
        for s in started:
            v = values[s.name]
            v["errors"] = sum(r.get("errors", 0) for r in per_round[s.name])
            if "p50_c1" in v:
                v["added_p50_c1"] = v["p50_c1"] - results["direct"]["p50_c1"]
            if "ttfb_p50" in v:
                v["ttfb_added"] = v["ttfb_p50"] - results["direct"]["ttfb_p50"]
            if s.name == "floor":
                continue  # the paced stream, the soak and the concurrent streams are not measured for the floor
            if "stream" in failures[s.name]:
                failures[s.name]["relay"] = failures[s.name]["stream"]
            else:
                delay = relay_delay(s, mock.url)
                if delay is None:
                    failures[s.name]["relay"] = "not measured: its events drop the mock's x_sent_ms stamps"
                else:
                    v["relay_delay_ms"] = delay
        for s in started:
            if s.name == "floor":
                continue
            print(f"soak and concurrent streams: {s.name}", flush=True)
            if "chat" not in failures[s.name]:
                values[s.name] |= soak(load, s, args.soak)
            if args.concurrent_streams and "stream" not in failures[s.name]:
                many = concurrent(s, args.concurrent_streams)
                results.setdefault("concurrent_streams", {})[s.name] = many
                values[s.name] |= {
                    "streams_completed": many["completed"],
                    "streams_total": many["streams"],
                    "streams_rss_peak": many["rss_peak_mb"],
                }
        if args.big_mb:
            print("large bodies: ours", flush=True)
            results["large_bodies"] = large_bodies(logs, ours, args.big_mb)
        results["values"] = values
    finally:
        for s in started:
            s.stop()
        mock.stop()

    results["rows"] = [judge(row, results["values"], results["failures"]) for row in ROWS]
    table = render(results)
    if not args.no_translation:
        results["translation"] = translation.measure()
        costs = translation.render(results["translation"])
        table += "\nIn-process translator costs (bench/translation.py):\n\n" + costs
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "latest.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
