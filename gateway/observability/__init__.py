"""Observability: one record per request, and what is made of it.

``request.Observation`` follows one request (attempts, first byte, answer) and builds its record
once, when the response is closed (streams: when the stream ends). The record then goes to the
``gateway.requests`` logger (``logs``), the Prometheus metrics (``metrics``), the record store
(``store``, reached as ``state.records``) and, when configured, an OpenTelemetry trace
(``tracing``). ``usage`` reads token counts from answers and streams, ``cost`` prices them and
``redact`` keeps secrets out of logged bodies and messages.
"""
