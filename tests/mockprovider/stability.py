"""Stability AI's Stable Image API (v2beta): ``POST /v2beta/stable-image/generate/{core|ultra|sd3}``.

Checked as the real API documents it: ``Authorization: Bearer <key>``; a ``multipart/form-data``
body; ``Accept`` ``application/json`` (answers ``{"image": <base64>, "finish_reason", "seed"}``) or
``image/*`` (the default: raw bytes with ``finish-reason`` and ``seed`` headers); ``prompt`` 1 to
10000 characters; ``aspect_ratio``, ``output_format``, ``style_preset`` and (on ``sd3``) ``model``
from their enums; ``seed`` 0 to 4294967294; ``cfg_scale`` 1 to 10. Fields an endpoint does not
document are rejected too (stricter than the real API, to catch mapping mistakes). Errors use
Stability's ``{"id", "name", "errors": [...]}`` shape.

Behaviour: a prompt containing ``forbidden`` is refused by content moderation (403); one
containing ``filtered`` answers ``finish_reason: CONTENT_FILTERED``.
"""

from __future__ import annotations

import base64
import uuid
import zlib
from typing import Any

from flask import Blueprint, Response, request

from tests.mockprovider.common import begin, json_response, switches
from tests.mockprovider.imagen import JPEG, PNG

bp = Blueprint("mock_stability", __name__)

WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
IMAGES = {"png": (PNG, "image/png"), "jpeg": (JPEG, "image/jpeg"), "webp": (WEBP, "image/webp")}
NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "content_moderation",
    404: "not_found",
    413: "payload_too_large",
    422: "invalid_language",
    429: "rate_limit_exceeded",
    500: "internal_error",
}
RATIOS = {"21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21"}
STYLES = {"3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance", "fantasy-art"}
STYLES |= {"isometric", "line-art", "low-poly", "modeling-compound", "neon-punk", "origami", "photographic"}
STYLES |= {"pixel-art", "tile-texture"}
SD3_MODELS = {"sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash", "sd3-large", "sd3-large-turbo"}
SD3_MODELS |= {"sd3-medium"}
_COMMON = {"prompt", "negative_prompt", "aspect_ratio", "seed", "output_format", "style_preset"}
FIELDS = {
    "core": _COMMON,
    "ultra": _COMMON | {"image", "strength"},
    "sd3": _COMMON | {"model", "mode", "image", "strength", "cfg_scale"},
}


def error_body(status: int, *errors: str) -> dict[str, Any]:
    messages = list(errors) or [f"mock failure {status}"]
    return {"id": uuid.uuid4().hex, "name": NAMES.get(status, "internal_error"), "errors": messages}


def _fail(status: int, *errors: str) -> Response:
    return json_response(error_body(status, *errors), status)


def _problem(kind: str, form: dict[str, str]) -> str | None:
    unknown = sorted(set(form) - FIELDS[kind])
    if unknown:
        return f"{unknown[0]}: unknown field for /generate/{kind}"
    prompt = form.get("prompt", "")
    if not prompt or len(prompt) > 10000:
        return "prompt: is required and must be 1 to 10000 characters"
    if "aspect_ratio" in form and form["aspect_ratio"] not in RATIOS:
        return f"aspect_ratio: must be one of {', '.join(sorted(RATIOS))}"
    formats = ("jpeg", "png") if kind == "sd3" else ("jpeg", "png", "webp")
    if form.get("output_format", "png") not in formats:
        return f"output_format: must be one of {', '.join(formats)}"
    if "style_preset" in form and form["style_preset"] not in STYLES:
        return "style_preset: unknown preset"
    if "model" in form and form["model"] not in SD3_MODELS:
        return f"model: must be one of {', '.join(sorted(SD3_MODELS))}"
    if "seed" in form and (not form["seed"].isdigit() or int(form["seed"]) > 4294967294):
        return "seed: must be an integer from 0 to 4294967294"
    if "cfg_scale" in form:
        try:
            scale = float(form["cfg_scale"])
        except ValueError:
            return "cfg_scale: must be a number"
        if not 1 <= scale <= 10:
            return "cfg_scale: must be between 1 and 10"
    return None


@bp.post("/v2beta/stable-image/generate/<kind>")
def generate(kind: str) -> Response:
    sw = switches()
    raw = request.get_data(cache=True)
    failure = begin(sw, raw, error_body)
    if failure is not None:
        return failure
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        return _fail(401, "authorization: missing or invalid bearer token")
    if kind not in FIELDS:
        return _fail(404, f"/v2beta/stable-image/generate/{kind}: not found")
    if not (request.content_type or "").startswith("multipart/form-data"):
        return _fail(400, "content-type: must be multipart/form-data")
    accept = request.headers.get("accept", "image/*")
    if accept not in ("application/json", "image/*", "*/*"):
        return _fail(400, "accept: must be image/* or application/json")
    if request.files:
        return _fail(400, f"{next(iter(request.files))}: unexpected file")
    form = request.form.to_dict()
    problem = _problem(kind, form)
    if problem:
        return _fail(400, problem)
    if "forbidden" in form["prompt"]:
        return _fail(
            403,
            "Your request was flagged by our content moderation system, as a result your request was denied "
            "and you were not charged.",
        )
    finish = "CONTENT_FILTERED" if "filtered" in form["prompt"] else "SUCCESS"
    seed = int(form.get("seed") or 0) or zlib.crc32(form["prompt"].encode())
    data, mime = IMAGES[form.get("output_format", "png")]
    if accept == "application/json":
        return json_response({"image": base64.b64encode(data).decode(), "finish_reason": finish, "seed": seed})
    return Response(data, content_type=mime, headers={"finish-reason": finish, "seed": str(seed)})
