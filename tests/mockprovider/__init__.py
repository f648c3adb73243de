"""A mock LLM provider for tests and benchmarks, served by gunicorn (gevent) on loopback.

Point a gateway target at ``http://127.0.0.1:<port>/s/<switches>/v1`` to choose behaviour
per target, e.g. ``/s/id=a,status=503,fail_times=2/v1``. See ``switches.py`` for the list.
"""
