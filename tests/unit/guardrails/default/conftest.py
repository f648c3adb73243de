"""Fixtures of the default-check tests: name resolution without a network, and an RSA signing key."""

from __future__ import annotations

import socket

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa


@pytest.fixture
def dns(monkeypatch):
    """Resolve example.com and google.com only."""

    def fake(host, *args, **kwargs):
        if host in ("example.com", "google.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.fixture(scope="module")
def rsa_key():
    """An RSA key to sign the jwt check's tokens with, made once per module."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
