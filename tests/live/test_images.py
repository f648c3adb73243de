"""OpenAI image generation in, Google Imagen / Gemini image models and Stability AI out.

End to end through gunicorn with the openai SDK's ``client.images.generate``: b64_json images,
``n``, ``size`` to aspect ratios, what each mock received (auth, mapped JSON or multipart body),
and provider errors in OpenAI's envelope.
"""

from __future__ import annotations

import base64
import json
from io import BytesIO

import openai
import pytest
from werkzeug.formparser import parse_form_data

from tests.support import mock_client

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def google(gateway, mockctl, **switches):
    return mock_client(gateway, mockctl, "google", key="AIza-live", path="/v1beta", **switches)


def stability(gateway, mockctl, headers: dict[str, str] | None = None, **switches):
    return mock_client(gateway, mockctl, "stability-ai", key="sk-stab-live", path="", headers=headers, **switches)


def received(mockctl, sid: str) -> list[dict]:
    return [r for r in mockctl.requests(sid) if r["method"] == "POST"]


def form_of(entry: dict) -> dict[str, str]:
    """The text fields of a multipart body the mock recorded."""
    body = entry["body"].encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": entry["headers"]["content-type"],
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": BytesIO(body),
    }
    _, form, files = parse_form_data(environ)
    assert not files
    return form.to_dict()


# -- Google: Imagen ------------------------------------------------------------------------------


def test_imagen_n_and_size_give_b64_images(gateway, mockctl) -> None:
    c, sid = google(gateway, mockctl)
    result = c.images.generate(
        model="imagen-4.0-generate-001", prompt="A robot", n=2, size="1792x1024", response_format="b64_json"
    )
    assert result.created > 0
    assert len(result.data) == 2
    assert all(base64.b64decode(d.b64_json).startswith(PNG_MAGIC) for d in result.data)
    assert all(d.url is None and d.revised_prompt is None for d in result.data)
    assert result.output_format == "png"
    [entry] = received(mockctl, sid)
    assert entry["path"] == "/v1beta/models/imagen-4.0-generate-001:predict"
    assert entry["headers"]["x-goog-api-key"] == "AIza-live" and "key=" not in entry["query"]
    assert json.loads(entry["body"]) == {
        "instances": [{"prompt": "A robot"}],
        "parameters": {"sampleCount": 2, "aspectRatio": "16:9"},
    }


def test_imagen_defaults_to_one_image_and_reports_unmapped_params(gateway, mockctl) -> None:
    c, sid = google(gateway, mockctl, text="a-friendly-robot-in-studio-light")
    raw = c.images.with_raw_response.generate(
        model="imagen-4.0-generate-001", prompt="A robot", output_format="jpeg", output_compression=70, quality="high"
    )
    result = raw.parse()
    assert len(result.data) == 1
    assert base64.b64decode(result.data[0].b64_json).startswith(JPEG_MAGIC)
    assert result.data[0].revised_prompt == "a-friendly-robot-in-studio-light"
    assert result.output_format == "jpeg"
    assert raw.headers["x-portkey-unmapped-params"] == "quality"
    body = json.loads(received(mockctl, sid)[0]["body"])
    assert body["parameters"] == {
        "sampleCount": 1,
        "outputOptions": {"mimeType": "image/jpeg", "compressionQuality": 70},
    }


def test_gemini_image_model_through_generate_content(gateway, mockctl) -> None:
    c, sid = google(gateway, mockctl)
    result = c.images.generate(model="gemini-2.5-flash-image", prompt="A nano banana dish", size="1536x1024")
    assert len(result.data) == 1
    assert base64.b64decode(result.data[0].b64_json).startswith(PNG_MAGIC)
    assert result.usage.input_tokens > 0 and result.usage.output_tokens == 1290
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    entry = received(mockctl, sid)[0]
    assert entry["path"] == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert json.loads(entry["body"]) == {
        "contents": [{"role": "user", "parts": [{"text": "A nano banana dish"}]}],
        "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "3:2"}},
    }


def test_imagen_errors_keep_googles_status_and_message(gateway, mockctl) -> None:
    c, _ = google(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match=r"google error: Number of images must be in the range \[1, 4\]"):
        c.images.generate(model="imagen-4.0-generate-001", prompt="A robot", n=5)
    c, _ = google(gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="google error: mock failure 429") as caught:
        c.images.generate(model="imagen-4.0-generate-001", prompt="A robot")
    assert caught.value.body["type"] == "RESOURCE_EXHAUSTED"


def test_filtered_images_are_a_refusal_not_a_retriable_error(gateway, mockctl) -> None:
    c, _ = google(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match="google error: generated no image") as caught:
        c.images.generate(
            model="imagen-4.0-generate-001",
            prompt="something forbidden",
            extra_body={"native_params": {"parameters": {"includeRaiReason": True}}},
        )
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "content_policy_violation"
    assert "safety filter threshold" in str(caught.value)


def test_what_google_cannot_do_is_refused_before_sending(gateway, mockctl) -> None:
    c, sid = google(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match="returns image bytes, not URLs"):
        c.images.generate(model="imagen-4.0-generate-001", prompt="A robot", response_format="url")
    with pytest.raises(openai.BadRequestError, match="needs an imagen-\\* or gemini-\\*-image model"):
        c.images.generate(model="gemini-2.5-flash", prompt="A robot")
    with pytest.raises(openai.BadRequestError, match="n must be 1"):
        c.images.generate(model="gemini-2.5-flash-image", prompt="A robot", n=2)
    assert received(mockctl, sid) == []


# -- Stability AI --------------------------------------------------------------------------------


def test_stability_core_multipart_request_and_b64_image(gateway, mockctl) -> None:
    c, sid = stability(gateway, mockctl, headers={"x-portkey-stability-client-id": "live-tests"})
    result = c.images.generate(
        model="stable-image-core",
        prompt="A lighthouse at dusk",
        size="1024x1792",
        extra_body={"seed": 42, "style_preset": "photographic"},
    )
    assert len(result.data) == 1 and result.created > 0
    assert base64.b64decode(result.data[0].b64_json).startswith(PNG_MAGIC)
    assert result.output_format == "png"
    [entry] = received(mockctl, sid)
    assert entry["path"] == "/v2beta/stable-image/generate/core"
    assert entry["headers"]["authorization"] == "Bearer sk-stab-live"
    assert entry["headers"]["accept"] == "application/json"
    assert entry["headers"]["stability-client-id"] == "live-tests"
    assert entry["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert form_of(entry) == {
        "prompt": "A lighthouse at dusk",
        "aspect_ratio": "9:16",
        "seed": "42",
        "style_preset": "photographic",
    }


def test_stability_sd3_model_and_output_format(gateway, mockctl) -> None:
    c, sid = stability(gateway, mockctl)
    result = c.images.generate(
        model="sd3.5-large", prompt="A fox", size="1536x1024", output_format="jpeg", extra_body={"cfg_scale": 4}
    )
    assert base64.b64decode(result.data[0].b64_json).startswith(JPEG_MAGIC)
    assert result.output_format == "jpeg"
    entry = received(mockctl, sid)[0]
    assert entry["path"] == "/v2beta/stable-image/generate/sd3"
    assert form_of(entry) == {
        "prompt": "A fox",
        "model": "sd3.5-large",
        "aspect_ratio": "3:2",
        "output_format": "jpeg",
        "cfg_scale": "4",
    }


def test_stability_seed_and_finish_reason_without_strict_compliance(gateway, mockctl) -> None:
    c, _ = stability(gateway, mockctl, headers={"x-portkey-strict-open-ai-compliance": "false"})
    raw = c.images.with_raw_response.generate(
        model="stable-image-ultra", prompt="a filtered scene", response_format="b64_json"
    )
    item = json.loads(raw.text)["data"][0]
    assert item["finish_reason"] == "CONTENT_FILTERED" and isinstance(item["seed"], int)


def test_stability_errors_in_openai_envelope(gateway, mockctl) -> None:
    c, _ = stability(gateway, mockctl)
    with pytest.raises(openai.PermissionDeniedError, match="stability-ai error: Your request was flagged") as caught:
        c.images.generate(model="stable-image-core", prompt="something forbidden")
    assert caught.value.body["type"] == "content_moderation"
    with pytest.raises(openai.BadRequestError, match="stability-ai error: style_preset: unknown preset"):
        c.images.generate(model="stable-image-core", prompt="A cat", extra_body={"style_preset": "watercolor"})
    c, _ = stability(gateway, mockctl, status=429)
    with pytest.raises(openai.RateLimitError, match="stability-ai error: mock failure 429") as caught:
        c.images.generate(model="stable-image-core", prompt="A cat")
    assert caught.value.body["type"] == "rate_limit_exceeded"


def test_stability_refuses_n_urls_and_unknown_models_before_sending(gateway, mockctl) -> None:
    c, sid = stability(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match="one image per request: n must be 1"):
        c.images.generate(model="stable-image-core", prompt="A cat", n=2)
    with pytest.raises(openai.BadRequestError, match="returns image bytes, not URLs"):
        c.images.generate(model="stable-image-core", prompt="A cat", response_format="url")
    with pytest.raises(openai.BadRequestError, match="image models are stable-image-core"):
        c.images.generate(model="dall-e-3", prompt="A cat")
    assert received(mockctl, sid) == []


def test_stability_serves_images_only(gateway, mockctl) -> None:
    c, _ = stability(gateway, mockctl)
    with pytest.raises(openai.BadRequestError, match="chatComplete is not supported by stability-ai"):
        c.chat.completions.create(model="stable-image-core", messages=[{"role": "user", "content": "hi"}])
