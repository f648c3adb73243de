"""Receivers for guardrail webhooks and logs: ``POST /hooks/webhook`` and ``POST /hooks/log``.

The webhook answers ``{"verdict": true}`` unless the ``status`` switch asks for a failing
verdict (``status=1`` -> verdict false); ``delay_ms`` delays the answer. Every call is logged.
"""

from __future__ import annotations

from flask import Blueprint, Response

from tests.mockprovider.common import delay, json_body, json_response, record, switches

bp = Blueprint("mock_hooks", __name__)


@bp.post("/hooks/webhook")
def webhook() -> Response:
    sw = switches()
    raw, _ = json_body()
    record(sw, raw)
    delay(sw)
    return json_response({"verdict": sw.status != 1, "data": {"reason": "mock webhook"}})


@bp.post("/hooks/log")
def log() -> Response:
    sw = switches()
    raw, _ = json_body()
    record(sw, raw)
    return json_response({"ok": True})
