"""Shape the results a leaf call can end with: gateway exceptions, provider errors, early stream failures."""

from __future__ import annotations

from typing import Any

from gateway.core.errors import ProviderError
from gateway.core.plan import Leaf
from gateway.core.result import Result, json_result

STREAM_HEADERS = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]


def gateway_exception(leaf: Leaf, status: int, message: str, **extra: Any) -> Result:
    """Return a gateway-internal failure that stops fallback (``x-portkey-gateway-exception``)."""
    return json_result(
        status,
        {"status": "failure", "message": message, **extra},
        provider=leaf.provider,
        path=leaf.path,
        gateway_exception=True,
        error_origin="gateway",
    )


def error_result(leaf: Leaf, error: ProviderError, *, network: bool = False) -> Result:
    """Render a ``ProviderError`` as a result."""
    return json_result(
        error.status_code,
        error.to_dict(),
        provider=leaf.provider,
        path=leaf.path,
        network_failure=network,
        error_origin=error.origin,
    )


def provider_failure(leaf: Leaf, status: int, payload: Any, headers: list[tuple[str, str]]) -> Result:
    """Return the provider's error answer (already in the client's error envelope) with its status."""
    return json_result(
        status, payload, headers=headers, provider=leaf.provider, path=leaf.path, error_origin=leaf.provider
    )


def stream_failed_early(leaf: Leaf, detail: str) -> Result:
    """A stream that broke before its first event: a retriable 502."""
    error = ProviderError(
        leaf.provider, 502, f"{leaf.provider} error: {detail}", error_type="stream_error", origin="gateway"
    )
    return error_result(leaf, error, network=True)


def without_type(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Relayed headers minus the provider's content type (the gateway sets its own)."""
    return [(k, v) for k, v in headers if k.lower() != "content-type"]


def stream_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Relayed headers for a stream, with the gateway's no-cache and no-buffering headers."""
    own = ("content-type", "cache-control", "x-accel-buffering")
    return [(k, v) for k, v in headers if k.lower() not in own] + STREAM_HEADERS
