"""Google image generation for the mock: Imagen ``:predict`` and Gemini native image output.

Imagen shares the Gemini API's ``POST /v1beta/models/<model>:<method>`` route, so this module has
no blueprint of its own: ``tests.mockprovider.google`` (which checks the API key and applies the
switches) hands ``:predict`` to ``predict`` and image-output ``generateContent`` calls to
``gemini_image``. Checks follow the documented API: one instance with a prompt; ``sampleCount``
1 to 4 (default 4); ``aspectRatio`` among ``1:1 3:4 4:3 9:16 16:9``; ``imageSize`` ``1K``/``2K`` and
not on Fast models; ``outputOptions.mimeType`` PNG or JPEG; unknown parameters are rejected.
Gemini image models take ``imageConfig`` (``aspectRatio``, ``imageSize``) and one candidate; the
2.0 ``*-image-generation`` preview cannot answer with images alone.

Behaviour: a prompt containing ``forbidden`` is filtered (Imagen answers ``{}``, or
``raiFilteredReason`` entries with ``includeRaiReason``; Gemini finishes with ``IMAGE_SAFETY``).
The ``text`` switch becomes Imagen's rewritten ``prompt`` on every prediction.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from flask import Response

from tests.mockprovider.common import json_response
from tests.mockprovider.switches import Switches

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
IMAGEN_RATIOS = {"1:1", "3:4", "4:3", "9:16", "16:9"}
GEMINI_RATIOS = {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}
_PARAMETERS = {"sampleCount", "aspectRatio", "imageSize", "personGeneration", "outputOptions", "negativePrompt"}
_PARAMETERS |= {"seed", "enhancePrompt", "addWatermark", "includeRaiReason", "safetySetting", "language"}
_IMAGE_CONFIG = {"aspectRatio", "imageSize"}

Fail = Callable[[int, str], Response]


def _imagen_problem(model: str, body: dict[str, Any]) -> str | None:
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1:
        return "* PredictRequest.instances: exactly one instance is supported"
    prompt = instances[0].get("prompt") if isinstance(instances[0], dict) else None
    if not isinstance(prompt, str) or not prompt:
        return "* PredictRequest.instances[0].prompt: prompt is required"
    params = body.get("parameters") or {}
    unknown = sorted(set(params) - _PARAMETERS)
    if unknown:
        return f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at 'parameters': Cannot find field."
    count = params.get("sampleCount", 4)
    if not isinstance(count, int) or not 1 <= count <= 4:
        return "Number of images must be in the range [1, 4]."
    if "aspectRatio" in params and params["aspectRatio"] not in IMAGEN_RATIOS:
        return f"Unsupported aspect ratio {params['aspectRatio']!r}."
    if "imageSize" in params and (params["imageSize"] not in ("1K", "2K") or "fast" in model):
        return f"imageSize {params['imageSize']!r} is not supported by {model}."
    mime = (params.get("outputOptions") or {}).get("mimeType", "image/png")
    if mime not in ("image/png", "image/jpeg"):
        return f"Unsupported output mime type {mime!r}."
    return None


def predict(model: str, body: dict[str, Any], sw: Switches, fail: Fail) -> Response:
    """Answer an Imagen ``:predict`` request."""
    if not model.startswith("imagen"):
        return fail(404, f"models/{model} is not found for API version v1beta, or is not supported for predict.")
    problem = _imagen_problem(model, body)
    if problem:
        return fail(400, problem)
    params = body.get("parameters") or {}
    count = params.get("sampleCount", 4)
    if "forbidden" in body["instances"][0]["prompt"]:
        if params.get("includeRaiReason"):
            reason = "Your current safety filter threshold filtered out the generated image."
            return json_response({"predictions": [{"raiFilteredReason": reason}] * count})
        return json_response({})
    mime = (params.get("outputOptions") or {}).get("mimeType", "image/png")
    data = base64.b64encode(JPEG if mime == "image/jpeg" else PNG).decode()
    prediction: dict[str, Any] = {"mimeType": mime, "bytesBase64Encoded": data}
    if sw.text:
        prediction["prompt"] = sw.text
    return json_response({"predictions": [prediction] * count})


def wants_image(body: dict[str, Any]) -> bool:
    """Whether a ``generateContent`` body asks for image output."""
    return "IMAGE" in ((body.get("generationConfig") or {}).get("responseModalities") or [])


def gemini_image(model: str, body: dict[str, Any], sw: Switches, fail: Fail) -> Response:
    """Answer a ``generateContent`` request for image output from a Gemini image model."""
    config = body.get("generationConfig") or {}
    modalities = config.get("responseModalities") or []
    if "image" not in model or (modalities == ["IMAGE"] and "image-generation" in model):
        return fail(400, f"Model does not support the requested response modalities: {','.join(modalities)}")
    if (config.get("candidateCount") or 1) != 1:
        return fail(400, "Multiple candidates is not enabled for this model")
    image_config = config.get("imageConfig") or {}
    unknown = sorted(set(image_config) - _IMAGE_CONFIG)
    if unknown:
        return fail(
            400, f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at 'generation_config.image_config'"
        )
    if image_config.get("aspectRatio", "1:1") not in GEMINI_RATIOS:
        return fail(400, f"Unsupported aspect ratio {image_config['aspectRatio']!r}.")
    if image_config.get("imageSize", "1K") not in ("1K", "2K", "4K"):
        return fail(400, f"Unsupported image size {image_config['imageSize']!r}.")
    prompt = " ".join(p.get("text", "") for c in body.get("contents") or [] for p in c.get("parts") or [])
    usage = {
        "promptTokenCount": max(1, len(prompt) // 4),
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": max(1, len(prompt) // 4)}],
    }
    if "forbidden" in prompt:
        candidate: dict[str, Any] = {"finishReason": "IMAGE_SAFETY", "index": 0}
    else:
        parts: list[dict[str, Any]] = [
            {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}
        ]
        if "TEXT" in modalities:
            parts.insert(0, {"text": "Here is the image."})
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        usage["candidatesTokenCount"] = 1290
    usage["totalTokenCount"] = usage["promptTokenCount"] + usage.get("candidatesTokenCount", 0)
    return json_response(
        {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": "img1"}
    )
