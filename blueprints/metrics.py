"""Serve Prometheus metrics at ``GET /metrics`` (every gunicorn worker's values merged).

With ``GATEWAY_ADMIN_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``. With
``GATEWAY_METRICS_BIND`` set, metrics are served on that separate address instead (by
``gunicorn.conf.py``) and this route answers 404, as it does with ``GATEWAY_METRICS=false``.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, request

from gateway.observability import metrics
from gateway.web.render import json_response
from gateway.web.state import current_state

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    """Return the metrics in Prometheus' text format."""
    settings = current_state().settings
    if not settings.metrics or settings.metrics_bind:
        return json_response({"status": "failure", "message": "Not Found", "ok": False}, 404)
    if settings.admin_token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip().encode()
        if not hmac.compare_digest(offered, settings.admin_token.encode()):
            return json_response(
                {"status": "failure", "message": "A valid admin token is required"},
                401,
                [("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
    body, content_type = metrics.render(request.headers.get("Accept", ""))
    return Response(body, content_type=content_type)
