"""Serve ``POST /v1/chat/completions`` (OpenAI Chat Completions format, JSON or SSE)."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from translators.formats import schemas

bp = Blueprint("chat", __name__)


@bp.post("/v1/chat/completions")
def chat_completions() -> Response:
    """Validate a chat completion request and route it."""
    return dispatch(json_call("chatComplete", "/chat/completions", schemas.chat_completion))
