"""What the image translators share: OpenAI Images API params in, OpenAI's images response out.

OpenAI's ``POST /v1/images/generations`` takes ``prompt``, ``model``, ``n``, ``size``
(``WIDTHxHEIGHT`` or ``auto``), ``response_format`` (``url`` or ``b64_json``), ``output_format``
and ``output_compression`` (gpt-image), ``quality``, ``style``, ``background``, ``moderation``
and ``user``; it answers ``{"created", "data": [{"b64_json" | "url", "revised_prompt"?}]}``.
Providers that take an aspect ratio instead of pixels get the supported ratio nearest to
``size`` (a ratio such as ``16:9`` is taken as is); a size further than
``RATIO_TOLERANCE`` from every supported ratio is refused. Providers that return bytes cannot
serve ``response_format: url`` (the gateway stores no files), and no provider here streams images.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from translators.contract import TranslationError
from translators.openai_shapes import now

#: How far (as a factor of width/height) a size may be from the ratio it is mapped to.
RATIO_TOLERANCE = 1.25
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*$")
_MIME_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/webp": "webp"}


def prompt_of(body: Mapping[str, Any]) -> str:
    """Return the request's prompt (required, non-empty)."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise TranslationError("prompt is required", "prompt")
    return prompt


def count_of(body: Mapping[str, Any]) -> int:
    """Return ``n`` (1 when absent)."""
    n = body.get("n")
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise TranslationError("n must be a positive integer", "n")
    return n


def pixels(size: Any) -> tuple[int, int] | None:
    """Parse ``WIDTHxHEIGHT`` into ``(width, height)``; None for a missing or ``auto`` size."""
    if size is None or size == "auto":
        return None
    match = _SIZE.match(size) if isinstance(size, str) else None
    if not match or not int(match.group(1)) or not int(match.group(2)):
        raise TranslationError("size must be WIDTHxHEIGHT (such as 1024x1024) or auto", "size")
    return int(match.group(1)), int(match.group(2))


def _ratio(text: str) -> float:
    width, _, height = text.partition(":")
    return int(width) / int(height)


def aspect_ratio(size: Any, supported: Sequence[str], provider: str) -> str | None:
    """Map ``size`` to the nearest of ``supported`` ratios (``"W:H"``); None for a missing or ``auto`` size."""
    if isinstance(size, str) and size in supported:
        return size
    dims = pixels(size)
    if dims is None:
        return None
    wanted = math.log(dims[0] / dims[1])
    best = min(supported, key=lambda ratio: abs(math.log(_ratio(ratio)) - wanted))
    if abs(math.log(_ratio(best)) - wanted) > math.log(RATIO_TOLERANCE):
        raise TranslationError(
            f"size {size} has no close aspect ratio on {provider}; supported: {', '.join(supported)}", "size"
        )
    return best


def longest_side(size: Any) -> int:
    """Return the longer side of ``size`` in pixels (0 when it names no pixels)."""
    if isinstance(size, str) and ":" in size:
        return 0
    dims = pixels(size)
    return max(dims) if dims else 0


def check_bytes_only(body: Mapping[str, Any], provider: str, stream: bool) -> None:
    """Refuse what a provider returning image bytes in one answer cannot do: URLs and streaming."""
    if body.get("response_format") == "url":
        raise TranslationError(
            f"{provider} returns image bytes, not URLs: use response_format b64_json", "response_format"
        )
    if stream or body.get("stream") is True:
        raise TranslationError(f"streaming image generation is not supported by {provider}", "stream")


def output_format(mime_type: Any) -> str | None:
    """Return OpenAI's ``output_format`` name for an image MIME type, or None."""
    return _MIME_FORMATS.get(str(mime_type).lower()) if mime_type else None


def image(b64: str, revised_prompt: Any = None) -> dict[str, Any]:
    """One entry of an images response's ``data``."""
    out: dict[str, Any] = {"b64_json": b64}
    if isinstance(revised_prompt, str) and revised_prompt:
        out["revised_prompt"] = revised_prompt
    return out


def images_response(
    provider: str,
    data: list[dict[str, Any]],
    fmt: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build OpenAI's images response (``output_format`` and ``usage`` when known)."""
    out: dict[str, Any] = {"created": now(), "data": data, "provider": provider}
    if fmt:
        out["output_format"] = fmt
    if usage is not None:
        out["usage"] = usage
    return out
