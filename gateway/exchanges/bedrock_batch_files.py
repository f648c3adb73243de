"""The bodies of Bedrock batch files, both ways, never held whole in memory.

Up: an OpenAI batch file (a spooled form part) becomes Bedrock records, line by line, in a spooled
temporary file (memory up to 1 MiB, then disk) while their SHA-256 is computed, since S3's SigV4 signs
the payload hash; the file is then sent with a known length and rewound for each attempt. A long
transform yields to the worker's other greenlets every few hundred lines. Down: a job's output file is
read from S3 as it arrives and each record leaves as an OpenAI batch output line.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from typing import IO

import orjson

from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.exchanges.base import guarded_body
from gateway.transport.client import UpstreamResponse
from translators.bedrock import batch as mapping
from translators.contract import Target, TranslationError
from translators.openai_shapes import loads_or_none

SPOOL_BYTES = 1 << 20
#: Lines transformed between yields to other greenlets.
YIELD_EVERY = 500


class SpooledBody:
    """A transformed upload sent as a request body: known length, rewound for each attempt."""

    def __init__(self, file: IO[bytes], size: int) -> None:
        self.file = file
        self.size = size

    def __len__(self) -> int:
        return self.size - self.file.tell()

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes."""
        return self.file.read(-1 if size is None else size)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move in the file (a resend rewinds to the start)."""
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        """Bytes read so far."""
        return self.file.tell()


def spool_records(stream: IO[bytes], records: mapping.InputRecords) -> tuple[SpooledBody, str]:
    """Write the Bedrock records of every line of ``stream`` to a spooled file; return it and its SHA-256."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - sent, then collected
    digest = hashlib.sha256()
    stream.seek(0)
    for number, line in enumerate(stream, 1):
        out = records.line(line)
        if out:
            digest.update(out)
            spool.write(out)
        if number % YIELD_EVERY == 0:
            time.sleep(0)  # a large file: let the worker's other requests run
    if not records.count:
        spool.close()
        raise TranslationError("the batch file holds no requests", "file")
    size = spool.tell()
    spool.seek(0)
    return SpooledBody(spool, size), digest.hexdigest()


def _output(line: bytes, model: str, target: Target) -> bytes:
    record = loads_or_none(line)
    if not isinstance(record, dict):
        record = {"error": {"errorCode": 502, "errorMessage": f"unreadable output record: {line[:200]!r}"}}
    return orjson.dumps(mapping.output_line(record, model, target)) + b"\n"


def output_stream(leaf: Leaf, target: Target, response: UpstreamResponse, model: str) -> Result:
    """Stream a job's output file, each Bedrock record mapped to an OpenAI batch output line."""

    def lines() -> Iterator[bytes]:
        pending: list[bytes] = []
        for chunk in response.iter_content():
            pending.append(chunk)
            if b"\n" not in chunk:
                continue
            *complete, rest = b"".join(pending).split(b"\n")
            pending = [rest] if rest else []
            out = b"".join(_output(line, model, target) for line in complete if line.strip())
            if out:
                yield out
        tail = b"".join(pending)
        if tail.strip():
            yield _output(tail, model, target)

    stream = guarded_body(leaf, lines, response.close)
    return Result(200, stream=stream, content_type="application/octet-stream", provider=leaf.provider, path=leaf.path)
