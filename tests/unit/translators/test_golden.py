"""Golden fixtures for every translator: request mapping, response mapping, errors and streams.

Each ``tests/fixtures/<provider>.json`` holds cases built from the provider's public API
documentation. Stream cases are replayed through the gateway's decoder (SSE or AWS
event-stream) split at every byte offset; the chunks must not depend on where the network
split the bytes. A request case whose native body is a multipart form lists its fields under
``expect.form`` instead of ``expect.body``; a response case may give raw bytes as ``input_b64``;
a ``response_error`` case expects ``InvalidResponse`` (a 502) or ``ProviderRefusal`` (a provider that
declined, e.g. filtered images) matching ``match``.
"""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.streaming.aws_eventstream import decode_message
from gateway.streaming.sse import SSEDecoder
from gateway.streaming.translation import to_stream_events
from translators.contract import Fetched, StreamError, Target

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
VOLATILE = {"created", "id"}


def load_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    cases = []
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_text())
        for case in doc["cases"]:
            cases.append((f"{path.stem}:{case['name']}", doc, case))
    return cases


def translator_of(doc: dict[str, Any]):
    return importlib.import_module(doc["module"]).TRANSLATOR


def target_of(doc: dict[str, Any], case: dict[str, Any]) -> Target:
    spec = {**doc.get("target", {}), **case.get("target", {})}
    fetched = {
        url: Fetched(item["media_type"], base64.b64decode(item["b64"])) for url, item in spec.pop("fetched", {}).items()
    }
    return Target(fetched=fetched, **spec)


def scrub(value: Any, volatile: set[str]) -> Any:
    """Drop volatile top-level fields (response ids, timestamps) of a response or of each chunk."""
    if isinstance(value, list):
        return [scrub(v, volatile) for v in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in volatile}
    return value


def form_of(request: Any) -> dict[str, str]:
    """Parse a multipart/form-data request body (as a server would) into its text fields."""
    from io import BytesIO

    from werkzeug.formparser import parse_form_data

    ctype = request.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    boundary = ctype.split("boundary=", 1)[1]
    assert request.body.endswith(f"--{boundary}--\r\n".encode())
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": ctype,
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.input": BytesIO(request.body),
    }
    _, form, files = parse_form_data(environ)
    assert not files
    assert all(len(form.getlist(name)) == 1 for name in form)
    return dict(form.items())


def stream_bytes(doc: dict[str, Any], case: dict[str, Any]) -> bytes:
    if "sse" in case:
        return case["sse"].encode()
    from tests.mockprovider.awsframes import encode_event

    return b"".join(encode_event(item["type"], item["data"]) for item in case["frames"])


def run_stream(doc: dict[str, Any], case: dict[str, Any], pieces: list[bytes]) -> tuple[list[Any], str | None]:
    """Feed byte pieces through the decoder and a fresh stream translator; return (chunks, error code)."""
    translator = translator_of(doc)
    mapper = translator.stream(case.get("fn", "chatComplete"), target_of(doc, case), case.get("request", {}))
    chunks: list[Any] = []
    try:
        if translator.stream_format == "aws-eventstream":
            from botocore.eventstream import EventStreamBuffer

            buffer = EventStreamBuffer()
            for piece in pieces:
                buffer.add_data(piece)
                for message in buffer:
                    chunks.extend(mapper.on_event(decode_message(message)))
        else:
            decoder = SSEDecoder()
            for piece in pieces:
                for event in to_stream_events(decoder.feed(piece)):
                    chunks.extend(mapper.on_event(event))
            for event in to_stream_events(decoder.finish()[0]):
                chunks.extend(mapper.on_event(event))
        if mapper.completed:
            chunks.extend(mapper.finish())
        return chunks, None if mapper.completed else "incomplete"
    except StreamError as exc:
        return chunks, exc.code


CASES = load_cases()


@pytest.mark.parametrize(("name", "doc", "case"), CASES, ids=[c[0] for c in CASES])
def test_golden(name: str, doc: dict[str, Any], case: dict[str, Any]) -> None:
    translator = translator_of(doc)
    target = target_of(doc, case)
    kind = case["kind"]
    volatile = VOLATILE | set(case.get("volatile", []))
    if kind == "request":
        built = translator.build_request(
            case.get("fn", "chatComplete"), case["input"], target, case.get("stream", False)
        )
        expect = case["expect"]
        assert built.request.method == expect.get("method", "POST")
        assert built.request.url == expect["url"]
        for header, value in expect.get("headers", {}).items():
            assert built.request.headers.get(header) == value, header
        for header in expect.get("absent_headers", []):
            assert header not in built.request.headers, header
        if "form" in expect:
            assert form_of(built.request) == expect["form"]
        else:
            assert orjson.loads(built.request.body) == expect["body"]
        assert built.unmapped == case.get("unmapped", [])
    elif kind == "request_error":
        from translators.contract import TranslationError

        with pytest.raises(TranslationError, match=case["match"]):
            translator.build_request(case.get("fn", "chatComplete"), case["input"], target, False)
    elif kind == "response":
        raw = base64.b64decode(case["input_b64"]) if "input_b64" in case else orjson.dumps(case["input"])
        out = translator.parse_response(case.get("fn", "chatComplete"), raw, target, case.get("request", {}))
        assert scrub(out, volatile) == case["expect"]
    elif kind == "response_error":
        from translators.contract import InvalidResponse, ProviderRefusal

        raw = orjson.dumps(case["input"])
        with pytest.raises((InvalidResponse, ProviderRefusal), match=case["match"]):
            translator.parse_response(case.get("fn", "chatComplete"), raw, target, case.get("request", {}))
    elif kind == "error":
        raw = case["input"].encode() if isinstance(case["input"], str) else orjson.dumps(case["input"])
        out = translator.parse_error(case["status"], raw, case.get("content_type", "application/json"), target)
        assert out == case["expect"]
    elif kind == "route":
        routed = translator.route(case["fn"], target, case["method"], case["path"], case.get("query", ""))
        expect = case["expect"]
        assert (routed.method, routed.url) == (expect["method"], expect["url"])
        for header, value in expect.get("headers", {}).items():
            assert routed.headers.get(header) == value, header
        for header in expect.get("absent_headers", []):
            assert header not in routed.headers, header
    elif kind == "route_error":
        from translators.contract import TranslationError

        with pytest.raises(TranslationError, match=case["match"]):
            translator.route(case["fn"], target, case["method"], case["path"], case.get("query", ""))
    elif kind == "stream":
        data = stream_bytes(doc, case)
        whole, error = run_stream(doc, case, [data])
        assert scrub(whole, volatile) == case["expect"]
        assert error == case.get("error")
        for k in range(1, len(data)):
            split_chunks, split_error = run_stream(doc, case, [data[:k], data[k:]])
            assert (scrub(split_chunks, volatile), split_error) == (scrub(whole, volatile), error), f"split at {k}"
    else:
        raise AssertionError(f"unknown fixture kind {kind}")
