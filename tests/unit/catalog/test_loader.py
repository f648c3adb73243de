"""Reloading the catalog file: on change (polled), on request (SIGHUP), and keeping the last good one."""

from __future__ import annotations

import os
import signal

import pytest

from gateway.catalog.loader import CatalogFile
from gateway.catalog.schema import CatalogError

ONE = '[providers.one]\nprovider = "openai"\napi_key = "${K}"\n'
TWO = ONE + '[providers.two]\nprovider = "openai"\napi_key = "${K}"\n'


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_changes_are_picked_up_after_the_interval(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(ONE)
    clock = Clock()
    catalog = CatalogFile(str(path), {"openai"}, environ={"K": "k"}, interval=1.0, clock=clock)
    path.write_text(TWO)
    assert set(catalog.current().providers) == {"one"}  # not checked yet
    clock.now = 1.5
    assert set(catalog.current().providers) == {"one", "two"}
    assert catalog.generation == 2


def test_a_bad_file_keeps_the_last_good_catalog(tmp_path, caplog) -> None:
    path = tmp_path / "c.toml"
    path.write_text(TWO)
    catalog = CatalogFile(str(path), {"openai"}, environ={"K": "k"}, interval=-1)
    path.write_text('[providers.three]\nprovider = "nope"\n')
    catalog.request_reload()
    assert set(catalog.current().providers) == {"one", "two"}
    assert "providers.three.provider: unknown provider nope" in caplog.text


def test_sighup_requests_a_reload(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(ONE)
    catalog = CatalogFile(str(path), {"openai"}, environ={"K": "k"}, interval=-1)
    previous = signal.getsignal(signal.SIGHUP)
    try:
        assert catalog.install_sighup()
        path.write_text(TWO)
        os.kill(os.getpid(), signal.SIGHUP)
        assert set(catalog.current().providers) == {"one", "two"}
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_startup_refuses_a_missing_or_bad_file(tmp_path) -> None:
    with pytest.raises(CatalogError, match="cannot read it"):
        CatalogFile(str(tmp_path / "missing.toml"), {"openai"}, environ={})
    path = tmp_path / "c.toml"
    path.write_text(ONE)
    with pytest.raises(CatalogError, match="environment variable K is not set"):
        CatalogFile(str(path), {"openai"}, environ={})
