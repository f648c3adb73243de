"""Load the catalog file and reload it on SIGHUP or when the file changes.

At startup a bad file raises ``CatalogError`` (every problem with its path), so the gateway does
not start. Later reloads (SIGHUP to a worker, or a changed file noticed at most once per
``interval`` seconds on the next request) keep the last good catalog when the new file is bad, and
log the problems. Under gunicorn, SIGHUP to the master restarts the workers, which read the file
afresh (check a file first with ``python -m gateway.catalog check FILE``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Collection, Mapping

from gateway.catalog.entries import CatalogData
from gateway.catalog.schema import CatalogError, check_registry, parse

log = logging.getLogger("gateway.catalog")


def load(path: str, environ: Mapping[str, str], known: Collection[str]) -> CatalogData:
    """Read, validate and check ``path``; raise ``CatalogError``."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise CatalogError(path, [f"(file): cannot read it: {exc.strerror}"]) from None
    data = parse(text, environ, path)
    check_registry(data, known, path)
    for warning in data.warnings:
        log.warning("%s", warning)
    return data


def _stamp(path: str) -> tuple[float, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime, info.st_size, info.st_ino)


class CatalogFile:
    """The current catalog of one file, swapped whole on reload."""

    def __init__(
        self,
        path: str,
        known: Collection[str],
        *,
        environ: Mapping[str, str] | None = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.known = known
        self.environ = os.environ if environ is None else environ
        self.interval = interval
        self.clock = clock
        self._stamp = _stamp(path)
        self.data = load(path, self.environ, known)
        self.generation = 1
        self._checked = clock()
        self._requested = False
        self._lock = threading.Lock()

    def current(self) -> CatalogData:
        """The catalog to serve this request with (reloaded first when asked or changed)."""
        now = self.clock()
        if self._requested or (self.interval >= 0 and now - self._checked >= self.interval):
            self._checked = now
            if self._requested or _stamp(self.path) != self._stamp:
                self.reload()
        return self.data

    def request_reload(self, *_: object) -> None:
        """Ask for a reload on the next request (the SIGHUP handler: only sets a flag)."""
        self._requested = True

    def reload(self) -> bool:
        """Load the file again; keep the current catalog (and log why) when the new one is bad."""
        with self._lock:
            self._requested = False
            stamp = _stamp(self.path)
            try:
                data = load(self.path, self.environ, self.known)
            except CatalogError as exc:
                self._stamp = stamp  # do not retry the same bad file on every request
                log.error("catalog reload failed, keeping the previous catalog: %s", exc)
                return False
            self.data, self._stamp = data, stamp
            self.generation += 1
            log.info("catalog reloaded from %s: %d providers, %d keys", self.path, len(data.providers), len(data.keys))
            return True

    def install_sighup(self) -> bool:
        """Reload on SIGHUP to this process (only possible from the main thread)."""
        if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
            return False
        try:
            previous = signal.getsignal(signal.SIGHUP)

            def on_hup(signum: int, frame: object) -> None:
                self.request_reload()
                if callable(previous):  # a host app's own handler keeps working
                    previous(signum, frame)

            signal.signal(signal.SIGHUP, on_hup)
        except (ValueError, OSError):
            return False
        return True
