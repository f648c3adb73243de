"""Measure the CPU cost of provider translation in-process, from the golden fixtures.

For each translator fixture (``tests/fixtures/<provider>.json``): the CPU time of mapping a chat
request (``build_request``) plus mapping the answer back (``parse_response``, then serialising it
with orjson as the gateway does), and the CPU time per stream event of decoding the provider's
stream (SSE or AWS event-stream), mapping it to OpenAI chunks and serialising them (the fixed cost
of starting a stream, a new mapper and decoder, is reported apart). These are gross
costs, a pass-through request pays none of them except the SSE decoding of its events, so they are
an upper bound of what translation adds.

Usage: ``python bench/translation.py`` (also run by ``bench/run.py``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.unit.translators.test_golden import (  # noqa: E402
    FIXTURES,
    run_stream,
    stream_bytes,
    target_of,
    translator_of,
)

CHAT_FNS = ("chatComplete",)


def cpu_us(action: Callable[[], Any], *, repeat: int = 5, minimum_s: float = 0.05) -> float:
    """Return the median CPU microseconds of one ``action()`` over ``repeat`` timed batches."""
    batch = 1
    while True:  # size a batch so that it runs at least ``minimum_s`` of CPU time
        started = time.process_time()
        for _ in range(batch):
            action()
        if time.process_time() - started >= minimum_s / 5 or batch >= 1 << 16:
            break
        batch *= 4
    samples = []
    for _ in range(repeat):
        started = time.process_time_ns()
        for _ in range(batch):
            action()
        samples.append((time.process_time_ns() - started) / batch / 1000)
    return statistics.median(samples)


def measure_provider(doc: dict[str, Any]) -> dict[str, float] | None:
    """Return request and per-event costs (µs) for one fixture document."""
    translator = translator_of(doc)
    builds, parses, events, setups = [], [], [], []
    for case in doc["cases"]:
        fn = case.get("fn", "chatComplete")
        if fn not in CHAT_FNS:
            continue
        target = target_of(doc, case)
        if case["kind"] == "request" and not case.get("stream"):
            body = case["input"]
            builds.append(cpu_us(partial(translator.build_request, fn, body, target, False)))
        elif case["kind"] == "response" and "input" in case:
            raw = orjson.dumps(case["input"])
            request = case.get("request", {})
            parse = partial(translator.parse_response, fn, raw, target, request)
            parses.append(cpu_us(lambda p=parse: orjson.dumps(p())))
        elif case["kind"] == "stream" and not case.get("error"):
            data = stream_bytes(doc, case)
            count = max(1, _event_count(doc, data))
            whole = cpu_us(lambda c=case, d=data: [orjson.dumps(x) for x in run_stream(doc, c, [d])[0]])
            setup = cpu_us(partial(run_stream, doc, case, []))  # a new mapper, target and decoder
            setups.append(setup)
            events.append(max(0.0, whole - setup) / count)
    if not builds or not parses:
        return None
    return {
        "request_us": statistics.mean(builds) + statistics.mean(parses),
        "build_us": statistics.mean(builds),
        "parse_us": statistics.mean(parses),
        "event_us": statistics.mean(events) if events else float("nan"),
        "stream_setup_us": statistics.mean(setups) if setups else float("nan"),
        "stream_cases": len(events),
    }


def _event_count(doc: dict[str, Any], data: bytes) -> int:
    """Count the provider's stream events (SSE events or event-stream frames)."""
    if translator_of(doc).stream_format == "aws-eventstream":
        from botocore.eventstream import EventStreamBuffer

        buffer = EventStreamBuffer()
        buffer.add_data(data)
        return sum(1 for _ in buffer)
    return sum(1 for block in data.replace(b"\r\n", b"\n").split(b"\n\n") if block.strip())


def sse_decode_us_per_event() -> float:
    """Return the cost per event of decoding an OpenAI SSE stream, which pass-through also pays."""
    from gateway.streaming.sse import SSEDecoder
    from gateway.streaming.translation import to_stream_events

    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    frames = [
        b"data: " + orjson.dumps({**chunk, "choices": [{"index": 0, "delta": {"content": f"word{i} "}}]}) + b"\n\n"
        for i in range(50)
    ]
    data = b"".join(frames) + b"data: [DONE]\n\n"

    def decode() -> None:
        decoder = SSEDecoder()
        list(to_stream_events(decoder.feed(data)))

    return cpu_us(decode) / (len(frames) + 1)


def measure() -> dict[str, Any]:
    """Return translation costs per provider and the pass-through SSE decoding baseline."""
    providers: dict[str, Any] = {}
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_text())
        costs = measure_provider(doc)
        if costs is not None:
            providers[path.stem] = costs
    return {"providers": providers, "passthrough_sse_event_us": sse_decode_us_per_event()}


def render(result: dict[str, Any]) -> str:
    """Return a markdown table of translation costs."""
    lines = [
        "| Translator | CPU per non-streamed request (µs; build + parse + serialise) | CPU per stream event (µs) "
        "| CPU per stream, fixed (µs) |",
        "|---|---|---|---|",
    ]
    for name, c in result["providers"].items():
        event = "" if c["event_us"] != c["event_us"] else f"{c['event_us']:.1f}"
        setup = "" if c["stream_setup_us"] != c["stream_setup_us"] else f"{c['stream_setup_us']:.1f}"
        lines.append(f"| {name} | {c['request_us']:.1f} | {event} | {setup} |")
    lines.append(f"| (pass-through SSE decoding) | | {result['passthrough_sse_event_us']:.1f} | |")
    lines.append("| Target | <= 300 | <= 50 | |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(measure()))
