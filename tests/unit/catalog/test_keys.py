"""Gateway keys: plain or SHA-256, the headers that carry them, which one wins."""

from __future__ import annotations

import hashlib

from gateway.catalog.entries import KeyEntry
from gateway.catalog.keys import KeyRing, offered_keys

RING = KeyRing(
    {
        "plain": KeyEntry("plain", key="gk-plain-secret"),
        "hashed": KeyEntry("hashed", key_sha256=hashlib.sha256(b"gk-hashed-secret").hexdigest()),
    },
    unscoped=["legacy-gateway-key"],
)


def test_plain_hashed_and_unscoped_keys() -> None:
    assert RING.authenticate([("Authorization", "Bearer gk-plain-secret")]).name == "plain"
    assert RING.authenticate([("x-api-key", "gk-hashed-secret")]).name == "hashed"
    grant = RING.authenticate([("x-portkey-api-key", "legacy-gateway-key")])
    assert grant is not None and grant.entry is None and grant.may_use("anything")
    assert RING.authenticate([("Authorization", "Bearer nope")]) is None
    assert RING.authenticate([]) is None


def test_the_header_that_matched_is_remembered() -> None:
    grant = RING.authenticate([("authorization", "Bearer sk-provider"), ("x-api-key", "gk-plain-secret")])
    assert grant.header == "x-api-key"


def test_a_wrong_portkey_key_is_not_rescued_by_the_bearer() -> None:
    headers = [("x-portkey-api-key", "wrong"), ("Authorization", "Bearer gk-plain-secret")]
    assert RING.authenticate(headers) is None


def test_offered_keys_order_and_bearer_parsing() -> None:
    headers = [("X-Api-Key", " k3 "), ("Authorization", "bearer  k2"), ("x-portkey-api-key", "k1")]
    assert offered_keys(headers) == [("x-portkey-api-key", "k1"), ("authorization", "k2"), ("x-api-key", "k3")]
    assert offered_keys([("Authorization", "Bearer ")]) == []
    protocols = [("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key.gk-plain-secret")]
    assert offered_keys(protocols) == [("sec-websocket-protocol", "gk-plain-secret")]
    assert RING.authenticate(protocols).name == "plain"
    assert offered_keys([("Sec-WebSocket-Protocol", "realtime")]) == []


def test_key_allow_list() -> None:
    entry = KeyEntry("k", key="gk-secret-key", providers=("a",))
    assert entry.may_use("a") and not entry.may_use("b")
