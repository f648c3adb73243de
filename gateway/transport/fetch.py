"""Download images a translator needs as bytes (Bedrock, Gemini), SSRF-checked and size-capped.

URLs come from clients, so they pass the custom-host string rules and go through the
guarded adapter (the connected address must be public unless trusted). Bodies are read up
to ``GATEWAY_MAX_IMAGE_BYTES``; larger or failed downloads are a 400 naming the URL.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gateway.core.errors import BadRequest
from gateway.transport.client import Timeout, UpstreamFailure
from gateway.transport.ssrf import check_custom_host
from translators.contract import Fetched

if TYPE_CHECKING:
    from gateway.transport.outbound import Outbound


def _media_type(url: str, header: str) -> str:
    media = header.split(";", 1)[0].strip().lower()
    if media and media != "application/octet-stream":
        return media
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return guessed or "application/octet-stream"


def fetch_one(outbound: "Outbound", url: str) -> Fetched:
    """Download ``url``; raise ``BadRequest`` when it is refused, fails or is too large."""
    settings = outbound.settings
    try:
        check_custom_host(url, outbound.trusted)
    except BadRequest:
        raise BadRequest(
            f"Image URL refused (private or invalid address): {url[:200]}", code="invalid_image_url"
        ) from None
    limit = settings.max_image_bytes
    timeout = Timeout(settings.connect_timeout, settings.image_fetch_timeout, settings.image_fetch_timeout)
    try:
        response = outbound.client.send(
            "GET", url, headers={"Accept": "image/*,application/pdf,*/*"}, stream=True, timeout=timeout, guard=True
        )
    except UpstreamFailure as failure:
        raise BadRequest(f"Could not fetch image {url[:200]}: {failure.detail}", code="image_fetch_failed") from None
    try:
        if response.status_code >= 400:
            raise BadRequest(
                f"Could not fetch image {url[:200]}: HTTP {response.status_code}", code="image_fetch_failed"
            )
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise BadRequest(f"Image {url[:200]} is larger than {limit} bytes", code="image_too_large")
        data = bytearray()
        for chunk in response.iter_content():
            data += chunk
            if len(data) > limit:
                raise BadRequest(f"Image {url[:200]} is larger than {limit} bytes", code="image_too_large")
        return Fetched(_media_type(url, response.headers.get("content-type", "")), bytes(data))
    except UpstreamFailure as failure:
        raise BadRequest(f"Could not fetch image {url[:200]}: {failure.detail}", code="image_fetch_failed") from None
    finally:
        response.close()


def fetch_all(outbound: "Outbound", urls: Iterable[str]) -> dict[str, Fetched]:
    """Download every URL (in order); the first failure raises."""
    return {url: fetch_one(outbound, url) for url in urls}
