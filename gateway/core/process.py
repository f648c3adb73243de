"""This process's id, kept current across forks without a system call per look-up.

``os.getpid()`` is a system call each time; per-process state (a background writer thread started
once per gunicorn worker, say) checks it on every request. ``pid()`` returns a copy refreshed in
every forked child.
"""

from __future__ import annotations

import os

_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def pid() -> int:
    """``os.getpid()``, read from memory."""
    return _pid
