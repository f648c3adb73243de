"""The SSE codec gives the same events whatever the chunk boundaries are."""

from __future__ import annotations

import itertools

import pytest

from gateway.streaming.sse import ServerSentEvent, SSEDecoder, encode_event, encode_json_event

SAMPLES = {
    "lf": b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n',
    "crlf": b'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\ndata: [DONE]\r\n\r\n',
    "cr": b'data: {"a":1}\r\rdata: {"b":2}\r\r',
    "mixed": b"event: x\r\ndata: one\ndata: two\r\r: comment\n\nid: 7\nretry: 100\ndata: three\n\n",
    "u2028": 'data: {"c":"x\u2028y\u2029z\x85"}\n\n'.encode(),
    "anthropic": (
        b'event: message_start\ndata: {"type":"message_start"}\n\n'
        b'event: ping\ndata: {"type": "ping"}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"hi"}}\n\n'
    ),
    "no_space_and_bare": b"data:tight\n\ndata\n\nevent:e\ndata: v\n\n",
    "bom": b"\xef\xbb\xbfdata: first\n\n",
    "multibyte": 'data: {"t":"h\u00e9llo \u4e16\u754c \U0001f600"}\n\n'.encode(),
}


def parse_all(chunks: list[bytes]) -> tuple[list[ServerSentEvent], ServerSentEvent | None]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    tail, partial = decoder.finish()
    return events + tail, partial


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_two_way_split_gives_the_same_events(name: str) -> None:
    stream = SAMPLES[name]
    whole, partial = parse_all([stream])
    assert whole, "the sample must produce events"
    assert partial is None
    for k in range(len(stream) + 1):
        assert parse_all([stream[:k], stream[k:]]) == (whole, None), f"split at {k}"


@pytest.mark.parametrize("name", ["crlf", "mixed", "cr"])
def test_every_three_way_split_gives_the_same_events(name: str) -> None:
    stream = SAMPLES[name]
    whole = parse_all([stream])
    for i, j in itertools.combinations(range(len(stream) + 1), 2):
        assert parse_all([stream[:i], stream[i:j], stream[j:]]) == whole, f"split at {i},{j}"


def test_byte_by_byte() -> None:
    for stream in SAMPLES.values():
        assert parse_all([bytes([b]) for b in stream]) == parse_all([stream])


def test_fields_are_parsed_as_the_spec_says() -> None:
    events, _ = parse_all([SAMPLES["mixed"]])
    assert events == [
        ServerSentEvent("x", "one\ntwo"),
        ServerSentEvent("", "three", id="7", retry=100),
    ]
    events, _ = parse_all([SAMPLES["no_space_and_bare"]])
    assert [e.data for e in events] == ["tight", "", "v"]  # a bare "data" line is an empty data field
    assert events[2].event == "e"


def test_u2028_stays_inside_json() -> None:
    events, _ = parse_all([SAMPLES["u2028"]])
    assert events[0].json() == {"c": "x\u2028y\u2029z\x85"}


def test_bom_is_ignored_once() -> None:
    events, _ = parse_all([b"\xef", b"\xbb", b"\xbfdata: a\n\n"])
    assert [e.data for e in events] == ["a"]


def test_unterminated_event_is_reported_not_dispatched() -> None:
    events, partial = parse_all([b'data: {"a":1}\n\ndata: {"b":'])
    assert [e.data for e in events] == ['{"a":1}']
    assert partial is not None and partial.data == '{"b":'


def test_held_carriage_return_completes_at_end_of_stream() -> None:
    events, partial = parse_all([b"data: x\r\r"])
    assert [e.data for e in events] == ["x"] and partial is None


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_pending_marks_the_last_event_boundary(name: str) -> None:
    """Bytes up to ``len(fed) - pending`` are always whole events, at every split."""
    stream = SAMPLES[name]
    for k in range(len(stream) + 1):
        decoder = SSEDecoder()
        fed = b""
        relayed = b""
        for chunk in (stream[:k], stream[k:]):
            decoder.feed(chunk)
            fed += chunk
            boundary = len(fed) - decoder.pending
            assert boundary >= len(relayed)
            relayed = fed[:boundary]
            # what was released so far parses to complete events only
            assert parse_all([relayed])[1] is None
        decoder.finish()
        assert parse_all([relayed])[0] == parse_all([stream])[0] or stream.endswith(b"\r")


def test_encoders() -> None:
    assert encode_event(b'{"a":1}') == b'data: {"a":1}\n\n'
    assert encode_event("x", "ping") == b"event: ping\ndata: x\n\n"
    assert encode_json_event({"a": "é"}) == 'data: {"a":"é"}\n\n'.encode()
