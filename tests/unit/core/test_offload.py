"""``offload.blocking``: in place without gevent; under gevent, in a real thread while greenlets go on."""

from __future__ import annotations

import threading

from gateway.core.offload import blocking, under_gevent
from tests.gevent_probe import run_gevent_probe


def test_without_gevent_the_call_runs_in_place():
    assert not under_gevent()
    assert blocking(threading.get_ident) == threading.get_ident()


def test_without_gevent_exceptions_reach_the_caller():
    def fail(text):
        raise ValueError(text)

    try:
        blocking(fail, "boom")
    except ValueError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the exception was lost")


GEVENT_PROBE = """
from gateway.core.offload import blocking, under_gevent

assert under_gevent()
real_sleep = monkey.get_original("time", "sleep")
real_ident = monkey.get_original("threading", "get_ident")


def work(seconds):
    real_sleep(seconds)  # blocks its OS thread, as an SQLite commit does
    return real_ident()


started = time.monotonic()
ident = blocking(work, 0.3)
ticker.kill()
during = [t for t in ticks if t > started]
assert ident != real_ident(), "the call ran on the hub's thread"
assert len(during) >= 10, f"other greenlets stalled while the call ran: {len(during)} ticks"
assert blocking(real_ident) == ident, "calls run on one thread of their own"
assert gevent.get_hub().threadpool.size == 0, "the call went to the hub's pool"
try:
    blocking(int, "not a number")
except ValueError:
    pass
else:
    raise AssertionError("the exception was lost")
print("ok")
"""


def test_under_gevent_the_call_runs_in_a_thread_while_greenlets_go_on():
    run_gevent_probe(GEVENT_PROBE)
