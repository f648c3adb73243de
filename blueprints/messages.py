"""Serve the Anthropic Messages format: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.messages_calls import messages_call
from gateway.web.render import dispatch

bp = Blueprint("messages", __name__)


@bp.post("/v1/messages")
def messages() -> Response:
    """Answer a Messages request from any provider."""
    return dispatch(messages_call())


@bp.post("/v1/messages/count_tokens")
def count_tokens() -> Response:
    """Count input tokens (natively on Anthropic, estimated elsewhere)."""
    return dispatch(messages_call(count_tokens=True))
