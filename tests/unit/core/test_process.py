"""The pid read from memory follows forks (per-process background writers depend on it)."""

from __future__ import annotations

import os

from gateway.core import process


def test_the_pid_is_refreshed_in_a_forked_child() -> None:
    assert process.pid() == os.getpid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child reports what it sees, then leaves at once
        os.write(write, f"{process.pid()} {os.getpid()}".encode())
        os._exit(0)
    os.close(write)
    seen, actual = os.read(read, 100).decode().split()
    os.close(read)
    os.waitpid(child, 0)
    assert seen == actual != str(os.getpid())
    assert process.pid() == os.getpid()  # the parent's copy is untouched
