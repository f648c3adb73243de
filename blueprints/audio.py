"""Serve ``/v1/audio/speech`` (audio relayed as it arrives) and transcriptions / translations (multipart)."""

from __future__ import annotations

from flask import Blueprint, Response

from gateway.web.incoming import json_call
from gateway.web.render import dispatch
from gateway.web.upload_calls import upload_call
from translators.formats import endpoint_schemas

bp = Blueprint("audio", __name__)


@bp.post("/v1/audio/speech")
def speech() -> Response:
    """Turn text into speech."""
    return dispatch(json_call("createSpeech", "/audio/speech", endpoint_schemas.speech))


@bp.post("/v1/audio/transcriptions")
def transcriptions() -> Response:
    """Transcribe an uploaded audio file."""
    return dispatch(upload_call("createTranscription", "/audio/transcriptions", files=("file",), fields=("model",)))


@bp.post("/v1/audio/translations")
def translations() -> Response:
    """Translate an uploaded audio file into English text."""
    return dispatch(upload_call("createTranslation", "/audio/translations", files=("file",), fields=("model",)))
