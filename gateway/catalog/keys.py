"""Gateway keys: find which ``[keys.<name>]`` an offered secret belongs to, in constant time.

A key is stored plain (``key``) or as its SHA-256 (``key_sha256``). Every stored key is compared
(``hmac.compare_digest`` on SHA-256 digests, so lengths never leak) before the answer is returned.
The secret is carried in ``x-portkey-api-key`` or, for requests to the catalog, in
``Authorization: Bearer`` / ``x-api-key`` (where the OpenAI and Anthropic SDKs put ``api_key``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.catalog.entries import KeyEntry

#: Request headers that may carry the gateway key, in the order they are tried (browsers open realtime
#: sessions with the key in an ``openai-insecure-api-key.<key>`` WebSocket subprotocol).
KEY_HEADERS = ("x-portkey-api-key", "authorization", "x-api-key", "sec-websocket-protocol")
#: Headers whose key may be a provider key when it is not a gateway key.
PROVIDER_KEY_HEADERS = ("authorization", "x-api-key", "sec-websocket-protocol")
_KEY_PROTOCOL = "openai-insecure-api-key."


@dataclass(frozen=True)
class Grant:
    """The authenticated caller: a catalog key (``entry``), or an unscoped ``GATEWAY_API_KEYS`` key."""

    entry: KeyEntry | None
    #: The request header the key arrived in (stripped from the call so it never goes upstream).
    header: str

    @property
    def name(self) -> str | None:
        return self.entry.name if self.entry is not None else None

    def may_use(self, slug: str) -> bool:
        return self.entry is None or self.entry.may_use(slug)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def offered_keys(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (header, secret) pairs a request offers, ``x-portkey-api-key`` first."""
    found: dict[str, str] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in KEY_HEADERS and lname not in found:
            value = value.strip()
            if lname == "authorization" and (value[:7].lower() == "bearer " or value.lower() == "bearer"):
                value = value[7:].strip()
            elif lname == "sec-websocket-protocol":
                offered = [p.strip() for p in value.split(",") if p.strip().startswith(_KEY_PROTOCOL)]
                value = offered[0][len(_KEY_PROTOCOL) :] if offered else ""
            if value:
                found[lname] = value
    return [(name, found[name]) for name in KEY_HEADERS if name in found]


class KeyRing:
    """The stored keys of one catalog, ready for constant-time lookups."""

    def __init__(self, keys: Mapping[str, KeyEntry], unscoped: Iterable[str] = ()) -> None:
        self._entries: list[tuple[bytes, KeyEntry | None]] = []
        for entry in keys.values():
            stored = bytes.fromhex(entry.key_sha256) if entry.key_sha256 else digest(entry.key or "")
            self._entries.append((stored, entry))
        for secret in unscoped:
            self._entries.append((digest(secret), None))

    def __bool__(self) -> bool:
        return bool(self._entries)

    def find(self, secret: str) -> tuple[bool, KeyEntry | None]:
        """Return (matched, entry) for ``secret``; every stored key is compared."""
        offered = digest(secret)
        matched, found = False, None
        for stored, entry in self._entries:
            if hmac.compare_digest(offered, stored) and not matched:
                matched, found = True, entry
        return matched, found

    def authenticate(self, headers: Iterable[tuple[str, str]]) -> Grant | None:
        """The grant for the first offered key that matches; None when none does.

        ``x-portkey-api-key``, when sent, must match by itself (a wrong gateway key is never
        rescued by the provider key in ``Authorization``).
        """
        offers = offered_keys(headers)
        if offers and offers[0][0] == "x-portkey-api-key":
            offers = offers[:1]
        for header, secret in offers:
            matched, entry = self.find(secret)
            if matched:
                return Grant(entry, header)
        return None
