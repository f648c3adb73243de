"""Wrap client upload streams so they are sent upstream without being held in memory."""

from __future__ import annotations

import shutil
import tempfile
from typing import IO


class SizedStream:
    """A read-only stream of known length; requests sends it with ``Content-Length``, in blocks."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self._stream = stream
        self._length = length
        self._read = 0

    def __len__(self) -> int:
        return self._length - self._read

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all remaining when negative)."""
        remaining = self._length - self._read
        if remaining <= 0:
            return b""
        if size is None or size < 0 or size > remaining:
            size = remaining
        data = self._stream.read(size)
        self._read += len(data)
        return data


class ChunkedStream:
    """An upload of unknown length, sent upstream with chunked transfer encoding."""

    def __init__(self, stream: IO[bytes], block: int = 64 * 1024) -> None:
        self._stream = stream
        self._block = block

    def __iter__(self):
        while True:
            data = self._stream.read(self._block)
            if not data:
                return
            yield data

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes."""
        return self._stream.read(size)


class Replayable:
    """An upload copied to a spooled temporary file, so a retry or fallback can send it again.

    Bodies up to ``memory_bytes`` stay in memory; larger ones go to disk. ``__len__`` reports the
    size so requests sends ``Content-Length`` (without forcing a memory copy to disk).
    """

    def __init__(self, stream: IO[bytes], memory_bytes: int) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=memory_bytes)  # noqa: SIM115 - closed by close()
        shutil.copyfileobj(stream, self._file, 64 * 1024)
        self._size = self._file.tell()
        self._file.seek(0)

    def __len__(self) -> int:
        return self._size - self._file.tell()

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes."""
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Rewind (or move) for the next attempt."""
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        """Return the read position."""
        return self._file.tell()

    def close(self) -> None:
        """Delete the temporary copy."""
        self._file.close()
