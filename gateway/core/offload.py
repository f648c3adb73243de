"""Run a blocking call that releases the GIL (an SQLite transaction, say) off the gevent hub.

Under gunicorn's gevent worker every greenlet shares one OS thread, so a call that blocks in C (an
SQLite commit, a WAL checkpoint, pruning old rows) holds up every request the worker is serving for
as long as it takes: tens of milliseconds now and then, enough to set the worker's p99. ``blocking``
hands such a call to a real thread when the process runs under gevent (``threading`` patched), so the
calling greenlet waits while the others go on; anywhere else it calls it in place.

The thread is one per process, in a pool of its own rather than the hub's (which also resolves
host names): calls run one at a time, in the order made, and never wait behind a DNS lookup. A
forked child makes its own thread on first use.

Nothing here patches or imports gevent unless the host already has.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_pool: Any = None
_pool_pid = 0


def under_gevent() -> bool:
    """Whether this process's ``threading`` is gevent's (greenlets instead of threads)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def blocking(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, in a real thread of gevent's pool under gevent; its result or its exception."""
    if not under_gevent():
        return call(*args)
    return _thread().apply(call, args)


def _thread() -> Any:
    """This process's one-thread pool, made on first use (and again in a forked child)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        from gevent.threadpool import ThreadPool

        _pool, _pool_pid = ThreadPool(1), os.getpid()
    return _pool
