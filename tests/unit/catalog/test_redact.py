"""Credentials echoed by an upstream are masked, also when split across stream chunks."""

from __future__ import annotations

import pytest

from gateway.catalog.redact import Redactor, redact, secrets_of

SECRETS = secrets_of(
    "sk-secret-123456",
    {"aws_secret_access_key": "AKIASECRETVALUE", "vertex_service_account_json": {"private_key": "-----PEM-----"}},
)


def test_secrets_of_a_provider() -> None:
    assert set(SECRETS) == {b"sk-secret-123456", b"AKIASECRETVALUE", b"-----PEM-----"}
    assert secrets_of(None, {"region": "us-east-1", "api_version": "2024-10-21"}) == ()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
def test_split_secrets_are_masked(size: int) -> None:
    data = b'data: {"a": "sk-secret-123456", "b": "AKIASECRETVALUE", "c": "-----PEM-----"}\n\nsk-secret-12'
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    out = b"".join(Redactor(iter(chunks), SECRETS))
    assert out == redact(data, SECRETS)
    assert b"sk-secret-123456" not in out and b"AKIASECRETVALUE" not in out and out.endswith(b"sk-secret-12")


def test_whole_events_are_not_held_back() -> None:
    relay = Redactor(iter([b"data: one\n\n", b"data: two\n\n"]), SECRETS)
    assert next(relay) == b"data: one\n\n"
