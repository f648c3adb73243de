"""Send parsed multipart uploads on, re-encoded, without holding files in memory.

Werkzeug parses the client's form (``gateway.web.upload_calls``); file parts larger than 500 KB sit in
temporary files. ``MultipartBody`` re-encodes the text fields (with ``override_params``
applied, which the reference gateway ignores for multipart, PR #1242) and reads the files
from disk as the HTTP client asks for bytes. It knows its exact length up front (the provider
gets a ``Content-Length``) and rewinds to the start, so retries and fallbacks send it again.

Encoding follows RFC 7578 as browsers and the OpenAI SDK write it: raw UTF-8 in names and
filenames, ``"`` and ``\\`` backslash-escaped, CR and LF percent-encoded. Override values are
flattened the way the SDK flattens form data: lists as ``name[]``, objects as ``name[key]``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import IO, Any

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\r": "%0D", "\n": "%0A"})


def _quote(value: str) -> str:
    return value.translate(_ESCAPES)


def _size(stream: IO[bytes]) -> int:
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


class MultipartBody:
    """A multipart/form-data body built from fields and files, read in the sizes the sender asks for."""

    def __init__(self, fields: list[tuple[str, str]], files: list[tuple[str, Any]]) -> None:
        self.boundary = "gateway-" + uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        dash = f"--{self.boundary}\r\n"
        # Segments are bytes, or (stream, size) for a file's content; each part ends with CRLF.
        segments: list[bytes | tuple[IO[bytes], int]] = []
        text: list[str] = []
        for name, value in fields:
            text.append(f'{dash}Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n')
        for name, storage in files:
            filename = storage.filename or name
            ctype = storage.content_type or "application/octet-stream"
            text.append(
                f'{dash}Content-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(filename)}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n"
            )
            size = _size(storage.stream)
            if size:
                segments.append("".join(text).encode())
                text = []
                segments.append((storage.stream, size))
            text.append("\r\n")
        text.append(f"--{self.boundary}--\r\n")
        segments.append("".join(text).encode())
        self._segments = segments
        self._length = sum(len(s) if isinstance(s, bytes) else s[1] for s in segments)
        self.seek(0)

    def __len__(self) -> int:
        return self._length - self._sent

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes of the encoded body (all that is left when negative)."""
        if size is None or size < 0:
            size = self._length - self._sent
        pieces: list[bytes] = []
        while size > 0 and self._index < len(self._segments):
            segment = self._segments[self._index]
            if isinstance(segment, bytes):
                piece = segment[self._offset : self._offset + size]
                end = len(segment)
            else:
                stream, end = segment
                if self._offset == 0:
                    stream.seek(0)
                piece = stream.read(min(size, end - self._offset))
                if not piece:
                    raise OSError("an uploaded file shrank while it was being sent")
            pieces.append(piece)
            size -= len(piece)
            self._offset += len(piece)
            if self._offset >= end:
                self._index += 1
                self._offset = 0
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self._sent += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Rewind to the start (the only position a resend needs)."""
        if offset != 0 or whence != os.SEEK_SET:
            raise OSError("MultipartBody can only be rewound to the start")
        self._index = 0
        self._offset = 0
        self._sent = 0
        return 0

    def tell(self) -> int:
        """Bytes produced so far."""
        return self._sent


def _flatten(name: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    if isinstance(value, Mapping):
        return [pair for key, item in value.items() for pair in _flatten(f"{name}[{key}]", item)]
    if isinstance(value, (list, tuple)):
        return [pair for item in value for pair in _flatten(f"{name}[]", item)]
    return [(name, str(value))]


def _base_name(name: str) -> str:
    return name.split("[", 1)[0] if name.endswith("]") else name


def form_fields(form: Any, overrides: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The form's text fields with ``override_params`` applied: an override replaces every client field of its name.

    ``name``, ``name[]`` and ``name[key]`` count as the same field; a ``None`` override removes it.
    """
    fields = [(name, value) for name, values in form.lists() for value in values if _base_name(name) not in overrides]
    for name, value in overrides.items():
        fields.extend(_flatten(name, value))
    return fields
