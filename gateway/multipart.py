"""Read multipart uploads without holding files in memory, and send them on re-encoded.

Werkzeug parses the client's form; file parts larger than 500 KB go to temporary files, so
memory stays flat for uploads of any size. ``MultipartBody`` re-encodes the fields (with
``override_params`` applied, which the reference gateway ignores for multipart) and streams
the files from disk in blocks. It knows its length up front (the provider gets a
``Content-Length``) and can be rewound, so retries and fallbacks can send it again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, Any

from werkzeug.datastructures import FileStorage

BLOCK = 64 * 1024


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def _size(stream: IO[bytes]) -> int:
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


class MultipartBody:
    """A multipart/form-data body built from fields and files, streamed in blocks."""

    def __init__(self, fields: list[tuple[str, str]], files: list[tuple[str, FileStorage]]) -> None:
        self.boundary = "gateway" + uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._parts: list[tuple[bytes, IO[bytes] | None, int]] = []
        for name, value in fields:
            head = (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n'
            ).encode()
            self._parts.append((head, None, 0))
        for name, storage in files:
            head = (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"; '
                f'filename="{_quote(storage.filename or name)}"\r\n'
                f"Content-Type: {storage.mimetype or 'application/octet-stream'}\r\n\r\n"
            ).encode()
            self._parts.append((head, storage.stream, _size(storage.stream)))
        self._tail = f"--{self.boundary}--\r\n".encode()
        self._length = sum(len(head) + size + (2 if stream is not None else 0) for head, stream, size in self._parts)
        self._length += len(self._tail)
        self._chunks: Iterator[bytes] | None = None
        self._buffer = b""
        self._sent = 0

    def __len__(self) -> int:
        return self._length - self._sent

    def _generate(self) -> Iterator[bytes]:
        for head, stream, _ in self._parts:
            yield head
            if stream is not None:
                stream.seek(0)
                while True:
                    block = stream.read(BLOCK)
                    if not block:
                        break
                    yield block
                yield b"\r\n"
        yield self._tail

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes of the encoded body."""
        if self._chunks is None:
            self._chunks = self._generate()
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        self._sent += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """Rewind to the start (the only position a resend needs)."""
        if offset != 0 or whence != 0:
            raise OSError("MultipartBody can only be rewound to the start")
        self._chunks = None
        self._buffer = b""
        self._sent = 0
        return 0

    def tell(self) -> int:
        """Bytes produced so far."""
        return self._sent


def form_fields(form: Mapping[str, Any], overrides: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The form's text fields with ``override_params`` applied (booleans and numbers as form text)."""
    fields = [(name, value) for name, values in form.lists() for value in values if name not in overrides]
    for name, value in overrides.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            fields.append((f"{name}[]" if isinstance(value, list) else name, text))
    return fields
