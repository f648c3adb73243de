"""The live log as Server-Sent Events, in the reference gateway's shape (``GET /log/stream``).

The stream opens with ``event: connected`` (data: the client id), sends ``event: heartbeat``
(data: ``pulse``) every ``HEARTBEAT`` seconds, and one ``event: log`` per new request record
(data: the record as JSON, without bodies). A reader thread (a greenlet under gevent workers)
drains the store's ``subscribe`` iterator into a queue, so heartbeats keep their beat whatever
the store's own timeout semantics are; it ends when the client goes away.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson

from gateway.console import stats

log = logging.getLogger("gateway.console")

HEARTBEAT = 10.0
#: Seconds one ``subscribe`` call may wait before the reader checks whether the client left.
SUBSCRIBE_TIMEOUT = 5.0
#: Records kept for a slow client before the oldest are dropped.
BACKLOG = 1000


def event(name: str, data: str) -> bytes:
    """Frame one SSE event (``data`` is one line)."""
    return f"event: {name}\ndata: {data}\n\n".encode()


def _reader(store: Any, out: queue.Queue, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            for record in store.subscribe(SUBSCRIBE_TIMEOUT):
                if stop.is_set():
                    return
                if record is None:
                    continue
                try:
                    out.put_nowait(record)
                except queue.Full:
                    log.warning("console live log: a slow client dropped a record")
        except Exception:
            log.exception("console live log: the record store's subscription failed")
            stop.wait(1.0)


def stream(store: Any, client_id: str, heartbeat: float | None = None) -> Iterator[bytes]:
    """Yield the SSE byte stream for one client."""
    beat = HEARTBEAT if heartbeat is None else heartbeat
    if store is None:
        yield event("connected", client_id)
        while True:
            time.sleep(beat)
            yield event("heartbeat", "pulse")
    records: queue.Queue = queue.Queue(BACKLOG)
    stop = threading.Event()
    reader = threading.Thread(target=_reader, args=(store, records, stop), name="console-live-log", daemon=True)
    reader.start()
    try:
        yield event("connected", client_id)
        next_beat = time.monotonic() + beat
        while True:
            wait = next_beat - time.monotonic()
            if wait <= 0:
                yield event("heartbeat", "pulse")
                next_beat = time.monotonic() + beat
                continue
            try:
                record = records.get(timeout=wait)
            except queue.Empty:
                continue
            yield event("log", orjson.dumps(stats.public_record(record, bodies=False)).decode())
    finally:
        stop.set()
