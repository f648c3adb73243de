"""Keep the catalog's credentials out of what goes back to the client.

An upstream may echo a credential (a debugging proxy, an error that quotes the key): every body and
stream of a catalog leaf passes through ``Redactor``, which replaces each secret with ``***``. A stream
holds back only the bytes at a chunk's end that could begin a secret, so events are not delayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

MASK = b"***"
#: Option names whose values are secrets (besides ``api_key``).
_SECRET_WORDS = ("key", "secret", "token", "password", "credential", "service_account")
_MIN_SECRET = 8


def secrets_of(api_key: str | None, options: Mapping[str, Any]) -> tuple[bytes, ...]:
    """The secrets of one catalog provider, longest first."""
    found = [api_key] if api_key else []
    for name, value in options.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            found += list(_strings(value))
    unique = {s.encode() for s in found if isinstance(s, str) and len(s) >= _MIN_SECRET}
    return tuple(sorted(unique, key=len, reverse=True))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def redact(data: bytes, secrets: tuple[bytes, ...]) -> bytes:
    for secret in secrets:
        if secret in data:
            data = data.replace(secret, MASK)
    return data


class Redactor:
    """Relay ``stream`` with ``secrets`` masked, even when one is split across chunks."""

    def __init__(self, stream: Iterator[bytes], secrets: tuple[bytes, ...]) -> None:
        self.stream = stream if hasattr(stream, "__next__") else iter(stream)
        self._source = stream
        self.secrets = secrets
        self._held = b""
        self._ended = False

    def __iter__(self) -> "Redactor":
        return self

    def _keep(self, data: bytes) -> int:
        """How many bytes at the end of ``data`` could be the start of a secret."""
        keep = 0
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(data)), keep, -1):
                if data.endswith(secret[:size]):
                    keep = size
                    break
        return keep

    def __next__(self) -> bytes:
        while not self._ended:
            try:
                chunk = next(self.stream)
            except StopIteration:
                self._ended = True
                break
            data = redact(self._held + chunk, self.secrets)
            keep = self._keep(data)
            self._held = data[len(data) - keep :] if keep else b""
            out = data[: len(data) - keep]
            if out:
                return out
        if self._held:
            out, self._held = self._held, b""
            return out
        raise StopIteration

    def close(self) -> None:
        close = getattr(self._source, "close", None) or getattr(self.stream, "close", None)
        if close is not None:
            close()
