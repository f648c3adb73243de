"""Run a script in a fresh interpreter under gevent, with a greenlet that ticks every 10 ms.

A probe checks that blocking work leaves the hub free: while it runs, ``ticks`` keeps growing. The
script sees ``monkey`` (gevent's, already patched), ``gevent``, ``time``, ``sys``, ``ticks``
(monotonic times of the ticks) and ``ticker`` (kill it to stop ticking), and prints ``ok`` as its
last line when every check passed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support import ROOT

PRELUDE = """\
from gevent import monkey
monkey.patch_all()
import sys, time
import gevent

ticks = []


def _tick():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.01)


ticker = gevent.spawn(_tick)
gevent.sleep(0)
"""


def run_gevent_probe(script: str, *args: str) -> None:
    """Run ``PRELUDE`` + ``script`` with ``args`` in ``sys.argv[1:]``; fail with its stderr unless it printed ``ok``."""
    source = PRELUDE + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", source, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1:] == ["ok"], done.stdout
