"""``MultipartBody`` and ``form_fields``: what Werkzeug reads back is what the client sent (plus overrides)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.formparser import FormDataParser

from gateway.transport.multipart import MultipartBody, form_fields


def storage(data: bytes, filename: str, content_type: str = "application/octet-stream", spool: bool = False):
    if spool:
        stream = tempfile.SpooledTemporaryFile(max_size=1024)
        stream.write(data)
        stream.seek(0)
    else:
        stream = io.BytesIO(data)
    return FileStorage(stream, filename=filename, name="file", content_type=content_type)


def parse(body: MultipartBody, encoded: bytes):
    """Read ``encoded`` back with Werkzeug's parser, as a provider running Flask would."""
    parser = FormDataParser(max_form_memory_size=None, silent=False)
    _, form, files = parser.parse(io.BytesIO(encoded), "multipart/form-data", len(encoded), {"boundary": body.boundary})
    return form, files


def read_in(body: MultipartBody, size: int) -> bytes:
    pieces = []
    while piece := body.read(size):
        assert len(piece) <= size
        pieces.append(piece)
    return b"".join(pieces)


BIG = os.urandom(300_000)


def sample() -> MultipartBody:
    fields = [("model", "whisper-1"), ("timestamp_granularities[]", "word"), ("prompt", 'say "hi"\\ ünïcode')]
    files = [
        ("file", storage(BIG, "voice memo.wav", "audio/wav", spool=True)),
        ("image[]", storage(b"\x89PNG small", 'we"ird\\ näme.png', "image/png")),
        ("image[]", storage(b"", "empty.png", "image/png")),
    ]
    return MultipartBody(fields, files)


def test_encoding_is_what_werkzeug_reads_back() -> None:
    body = sample()
    encoded = body.read()
    form, files = parse(body, encoded)
    assert form.to_dict(flat=False) == {
        "model": ["whisper-1"],
        "timestamp_granularities[]": ["word"],
        "prompt": ['say "hi"\\ ünïcode'],
    }
    upload = files["file"]
    assert (upload.filename, upload.mimetype) == ("voice memo.wav", "audio/wav")
    assert hashlib.sha256(upload.read()).digest() == hashlib.sha256(BIG).digest()
    images = files.getlist("image[]")
    assert [(i.filename, i.mimetype, i.read()) for i in images] == [
        ('we"ird\\ näme.png', "image/png", b"\x89PNG small"),
        ("empty.png", "image/png", b""),
    ]
    assert body.content_type == f"multipart/form-data; boundary={body.boundary}"


def test_length_is_exact_and_counts_down() -> None:
    body = sample()
    total = len(body)
    first = body.read(1000)
    assert len(body) == total - 1000 and body.tell() == 1000
    rest = body.read()
    assert len(first) + len(rest) == total and len(body) == 0
    assert body.read() == b"" and body.read(10) == b""


@pytest.mark.parametrize("size", [1, 7, 4096, 16384, 65536, 10_000_000])
def test_any_read_size_gives_the_same_bytes(size: int) -> None:
    body = sample()
    whole = body.read()
    body.seek(0)
    assert read_in(body, size) == whole
    assert parse(body, whole)[0]["model"] == "whisper-1"


def test_rewind_sends_the_same_body_again() -> None:
    body = sample()
    first = body.read(5000) + body.read()
    assert body.seek(0) == 0 and body.tell() == 0 and len(body) == len(first)
    assert read_in(body, 16384) == first
    body.seek(0)
    body.read(123)
    body.seek(0)
    assert body.read() == first
    with pytest.raises(OSError):
        body.seek(10)


def test_file_streams_are_read_in_blocks_not_whole() -> None:
    class Counting(io.BytesIO):
        largest = 0

        def read(self, size=-1):
            Counting.largest = max(Counting.largest, size)
            return super().read(size)

    data = os.urandom(1_000_000)
    body = MultipartBody([], [("file", FileStorage(Counting(data), filename="a.bin", name="file"))])
    read_in(body, 16384)
    assert 0 < Counting.largest <= 16384


def test_override_fields_replace_client_fields() -> None:
    form = MultiDict(
        [
            ("model", "whisper-1"),
            ("language", "en"),
            ("timestamp_granularities[]", "segment"),
            ("timestamp_granularities[]", "word"),
            ("chunking_strategy[type]", "auto"),
            ("temperature", "0.2"),
        ]
    )
    overrides = {
        "model": "whisper-large",
        "timestamp_granularities": ["word"],
        "chunking_strategy": {"type": "server_vad", "threshold": 0.5},
        "temperature": None,
        "stream": True,
        "n": 2,
    }
    assert form_fields(form, overrides) == [
        ("language", "en"),
        ("model", "whisper-large"),
        ("timestamp_granularities[]", "word"),
        ("chunking_strategy[type]", "server_vad"),
        ("chunking_strategy[threshold]", "0.5"),
        ("stream", "true"),
        ("n", "2"),
    ]
    assert form_fields(form, {}) == [(k, v) for k, vs in form.lists() for v in vs]


def test_overridden_form_reaches_the_provider() -> None:
    form = MultiDict([("model", "whisper-1"), ("response_format", "json")])
    body = MultipartBody(form_fields(form, {"model": "whisper-large"}), [("file", storage(b"RIFF", "a.wav"))])
    fields, files = parse(body, body.read())
    assert fields.to_dict() == {"model": "whisper-large", "response_format": "json"}
    assert files["file"].read() == b"RIFF"


def test_a_file_that_shrinks_mid_send_is_an_error() -> None:
    stream = io.BytesIO(b"x" * 1000)
    body = MultipartBody([], [("file", FileStorage(stream, filename="a", name="file"))])
    stream.truncate(10)
    with pytest.raises(OSError, match="shrank"):
        body.read()
