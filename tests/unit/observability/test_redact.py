"""The redactor that keeps secrets out of logged bodies and error messages."""

from __future__ import annotations

import pytest

from gateway.observability.redact import MASK, body_text, redact, truncate


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcDEF123456789xyz", "abcDEF123456789xyz"),
        ("key sk-proj-AbCdEf0123456789abcdef was wrong", "sk-proj-AbCdEf0123456789abcdef"),
        ("anthropic sk-ant-api03-zyxwvut98765", "sk-ant-api03-zyxwvut98765"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
        ("google AIzaSyA1234567890abcdefghijklmnopqrstu", "AIzaSyA1234567890abcdefghijklmnopqrstu"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9"),
        ('{"api_key": "plain-value-123"}', "plain-value-123"),
        ('{"aws_secret_access_key":"wJalrXUtnFEMI/K7MDENG"}', "wJalrXUtnFEMI/K7MDENG"),
        ('{"password": "hunter2 with \\"quotes\\""}', "hunter2"),
        ("https://x.test/v1?api-key=qwerty12345&x=1", "qwerty12345"),
        ("token=abc.def.ghi; next", "abc.def.ghi"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", "MIIEvQIBADANBg"),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and MASK in out


def test_known_secrets_are_masked_whatever_their_shape() -> None:
    out = redact("the value is plainword-7Hq2 inside", known=["plainword-7Hq2", "", "abc"])
    assert out == f"the value is {MASK} inside"


def test_ordinary_text_is_left_alone() -> None:
    text = '{"messages": [{"role": "user", "content": "What is a token bucket? Ask Bearer."}], "max_tokens": 5}'
    assert redact(text) == text


def test_truncate_says_how_much_was_cut() -> None:
    assert truncate("abcdef", 10) == "abcdef"
    assert truncate("abcdefghij" * 3, 10) == "abcdefghij...[truncated 20 chars]"


def test_bodies_are_redacted_before_they_are_cut() -> None:
    raw = ("x" * 19 + " sk-abcdefghijklmnop " + "y" * 5000).encode()
    out = body_text(raw, 30)
    assert "sk-abc" not in out and out.startswith("x" * 19 + " [REDAC") and "[truncated" in out
    assert body_text(None, 10) is None
    assert body_text(b"\xff\xfe ok", 10) == "\ufffd\ufffd ok"
