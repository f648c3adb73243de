"""Observability: one record per request, and what is made of it.

``request.Observation`` follows one request (attempts, first byte, answer; hooked in by
``flask_hooks``) and ``record.build_record`` builds its record once, when the response is closed
(streams: when the stream ends, ``stream_tap``). ``telemetry.Telemetry`` then hands it, in batches
(``write_behind``), to the ``gateway.requests`` logger (``logs``), the Prometheus metrics
(``metrics``; ``metrics_server`` on an address of their own) and the record store (``store``:
``store_sqlite`` or ``store_redis``, reached as ``state.records``; ``filters``); ``spans`` ends its
OpenTelemetry spans (``tracing``). ``usage`` reads token counts from answers and streams, ``cost``
prices them and ``redact`` keeps secrets out of logged bodies and messages.
"""
