"""Hand items to a writer in batches, from a background thread, after the requests that made them."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any

from gateway.core import process

log = logging.getLogger("gateway.observability")

#: How often a batch is written (one SQLite transaction, one Redis pipeline, one pass over the sinks).
WRITE_SECONDS = 0.2
#: Items handed to ``write`` at once; between chunks the writer yields, so under gevent a large batch
#: never holds up the requests being served for longer than one chunk takes.
CHUNK = 64


class WriteBehind:
    """Collect added items and hand them to ``write`` in batches, from a background thread.

    The thread (a greenlet under gevent) starts on the first add in each process (so after
    gunicorn's fork) and writes every ``WRITE_SECONDS``; ``flush`` writes at once (readers in this
    process, shutdown). It holds its owner (``write``'s object) weakly and ends with it, or on ``stop``.
    """

    def __init__(self, write: Any) -> None:
        self._write = weakref.WeakMethod(write) if hasattr(write, "__self__") else (lambda: write)
        self.pending: list[Any] = []
        self.lock = threading.Lock()
        self.pid = 0
        self.stopped = False

    def add(self, item: Any) -> None:
        with self.lock:
            self.pending.append(item)
        if self.pid != process.pid() and not self.stopped:
            self.pid = process.pid()
            threading.Thread(target=self._loop, name="gateway-records-write", daemon=True).start()

    def flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, []
        write = self._write()
        if not batch or write is None:
            return
        for start in range(0, len(batch), CHUNK):
            if start:
                time.sleep(0)  # a greenlet under gevent: let the worker serve requests between chunks
            write(batch[start : start + CHUNK])

    def stop(self) -> None:
        """Write what is pending and end the thread."""
        self.flush()
        self.stopped = True

    def _loop(self) -> None:
        while not self.stopped:
            time.sleep(WRITE_SECONDS)
            if self._write() is None:
                return
            try:
                self.flush()
            except Exception:
                log.warning("writing request records failed", exc_info=True)
