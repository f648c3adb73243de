"""Exchange for the generic ``/v1/*`` route: any method, bodies streamed both ways, errors raw."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gateway.core.options import forwardable_request_headers
from gateway.core.outcomes import gateway_exception, stream_headers, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.exchanges.base import guarded_body, provider_headers, relayed_headers
from gateway.transport.client import Timeout, UpstreamResponse
from translators.openai import compat as openai_translator

if TYPE_CHECKING:
    from gateway.exchanges.base import ExchangeContext

log = logging.getLogger("gateway.exchanges.passthrough")


class ProxyExchange:
    """Forward the client's request to ``<provider base URL><path>?<query>``."""

    stream = True

    def __init__(self, leaf: Leaf, method: str, url: str, headers: dict[str, str], body: Any) -> None:
        self.leaf = leaf
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    @classmethod
    def prepare(cls, ctx: "ExchangeContext", leaf: Leaf) -> "ProxyExchange | Result":
        """Build the exchange, or the gateway error that prevents it."""
        call = ctx.call
        base = leaf.custom_host or leaf.spec.base_url
        if not base:
            return gateway_exception(leaf, 400, f"{leaf.provider} needs a custom host for pass-through requests")
        url = base + call.path + (f"?{call.query}" if call.query else "")
        headers = provider_headers(ctx, leaf, dict(forwardable_request_headers(call.headers)))
        if call.body is not None:
            body = openai_translator.request_body(leaf.spec, call.body, call.raw, leaf.override_params)
        else:
            body = call.stream_body
        return cls(leaf, call.method, url, headers, body)

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Relay status, headers and body as they arrive."""
        leaf = self.leaf
        relayed = relayed_headers(response)
        content_type = response.headers.get("content-type", "")

        headers = stream_headers(relayed) if content_type.startswith("text/event-stream") else without_type(relayed)
        origin = leaf.provider if response.status_code >= 400 else None
        return Result(
            response.status_code,
            headers,
            stream=guarded_body(leaf, response.iter_content, response.close),
            content_type=content_type,
            provider=leaf.provider,
            path=leaf.path,
            error_origin=origin,
        )
