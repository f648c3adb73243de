"""Hook the observation into Flask: start it with the request, finish it when the response closes.

``begin`` (a ``before_request`` of the gateway's blueprint, registered before the gateway-key
check so refused requests are recorded too) makes the ``Observation``; ``watch`` binds it to the
``Call`` that ``dispatch`` routes; ``after`` (``after_request``) notes the status and arranges
``finish`` to run when the WSGI server closes the response, which it does after the last byte.
A tapped stream finishes the observation itself when it is closed. Health checks, ``/metrics``
the console and realtime WebSocket sessions are not recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, request

from gateway.core import wsgi_headers
from gateway.observability.request import Observation
from gateway.observability.stream_tap import StreamTap, TappedStream

log = logging.getLogger("gateway.observability")

ENVIRON_KEY = "gateway.observation"
UNRECORDED = (".health", ".metrics", ".console", ".realtime")


def begin(state: Any) -> None:
    """Start observing the current request (``state``: the app's gateway state); never raises."""
    try:
        _begin(state)
    except Exception:
        log.warning("observing a request failed; it is served unrecorded", exc_info=True)


def _begin(state: Any) -> None:
    if (request.blueprint or "").endswith(UNRECORDED):
        return
    telemetry = getattr(state, "telemetry", None)
    if telemetry is None:
        return
    req = request._get_current_object()  # type: ignore[attr-defined]
    rule = req.url_rule
    endpoint = (req.endpoint or "").rpartition(".")[2]
    environ = req.environ
    headers = wsgi_headers.lowered(environ)
    environ[ENVIRON_KEY] = Observation(
        telemetry,
        req.method,
        rule.rule if rule is not None else req.path,
        endpoint,
        headers,
        trace_id=(headers.get("x-portkey-trace-id") or "").strip() or None,
    )


def current() -> Observation | None:
    """The current request's observation, if it is observed."""
    return request.environ.get(ENVIRON_KEY)


def watch(call: Any) -> Observation | None:
    """Bind the current request's observation to ``call``."""
    observation = request.environ.get(ENVIRON_KEY)
    if observation is not None:
        observation.bind(call)
    return observation


def after(response: Response) -> Response:
    """Note the outgoing response and finish the observation once it has been sent; never raises."""
    observation: Observation | None = request.environ.get(ENVIRON_KEY)
    if observation is None:
        return response
    try:
        _after(observation, response)
    except Exception:
        log.warning("observing a response failed; it is served unrecorded", exc_info=True)
    return response


def _after(observation: Observation, response: Response) -> None:
    if observation.trace_id is None:
        observation.trace_id = request.environ.get("gateway.trace_id") or response.headers.get("x-portkey-trace-id")
    streamed = isinstance(response.response, TappedStream)
    if not streamed and response.is_streamed and response.direct_passthrough:
        # a stream rendered without ``answered`` (never closed through the Response): watch it too
        response.response = TappedStream(response.response, StreamTap(), observation.finish)
        streamed = True
    body = None
    if observation.result is None and not response.is_streamed:
        body = response.get_data()
    grant = request.environ.get("gateway.grant")  # the catalog's authenticated key (gateway.catalog.keys)
    name = getattr(grant, "name", None)
    observation.responded(response.status_code, response.headers, body, name if isinstance(name, str) else None)
    if not streamed:
        response.call_on_close(observation.finish)
