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
from collections import OrderedDict
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
#: How far back (seconds, by request start) and how many records the reader looks when it reopens.
BACKFILL_SECONDS = 900.0
BACKFILL_LIMIT = 200


def event(name: str, data: str) -> bytes:
    """Frame one SSE event (``data`` is one line)."""
    return f"event: {name}\ndata: {data}\n\n".encode()


class _Seen:
    """The ids already sent (bounded), so a record reaches a client once."""

    def __init__(self, capacity: int = 5000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def add(self, record_id: Any) -> bool:
        """Remember ``record_id``; return whether it is new."""
        if not isinstance(record_id, str):
            return True
        if record_id in self._ids:
            return False
        self._ids[record_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


def _recent(store: Any) -> list[dict[str, Any]]:
    return list(store.query({"since": time.time() - BACKFILL_SECONDS}, limit=BACKFILL_LIMIT, before=None))


def _reader(store: Any, out: queue.Queue, stop: threading.Event) -> None:
    """Feed ``out`` until ``stop``: one subscription after another, with the gap between two filled.

    A subscription ends after ``SUBSCRIBE_TIMEOUT`` quiet seconds; a record added while the next one
    is being opened would be missed, so after opening it the reader also reads the latest records
    and passes on those it has not sent yet. Records the page already had when the stream opened
    are only remembered, not sent.
    """
    seen = _Seen()
    first = True
    while not stop.is_set():
        try:
            subscription = store.subscribe(SUBSCRIBE_TIMEOUT)  # opened first: it starts from "now"
            backlog = _recent(store)
            for record in reversed(backlog):  # oldest first
                if seen.add(record.get("id")) and not first:
                    _put(out, record)
            first = False
            for record in subscription:
                if stop.is_set():
                    return
                if record is not None and seen.add(record.get("id")):
                    _put(out, record)
        except Exception:
            log.exception("console live log: the record store's subscription failed")
            stop.wait(1.0)


def _put(out: queue.Queue, record: dict[str, Any]) -> None:
    try:
        out.put_nowait(record)
    except queue.Full:
        log.warning("console live log: a slow client dropped a record")


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
