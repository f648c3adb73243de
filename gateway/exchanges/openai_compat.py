"""Exchange with an OpenAI-compatible provider: the client's bytes out, the provider's bytes back.

The body is forwarded unchanged unless override params or a ``developer`` role require a
rewrite; responses and streams are relayed as they are, errors are re-wrapped in OpenAI's
envelope with the provider's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.core.outcomes import gateway_exception, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.exchanges.base import openai_failure, provider_headers, relayed_headers
from gateway.streaming.client_formats import OpenAIChunks
from gateway.streaming.relay import UpstreamEvents
from gateway.streaming.translation import OpenAIEncoder, relay_result, translated_result
from gateway.transport.client import Timeout, UpstreamResponse
from translators.openai import compat as openai_translator
from translators.registry import ENDPOINT_PATHS

if TYPE_CHECKING:
    from gateway.exchanges.base import ExchangeContext


class CompatExchange:
    """An OpenAI-format request to an OpenAI-compatible provider."""

    method = "POST"

    def __init__(self, ctx: "ExchangeContext", leaf: Leaf, url: str, headers: dict[str, str], body: Any) -> None:
        self.ctx = ctx
        self.leaf = leaf
        self.url = url
        self.headers = headers
        self.body = body
        self.stream = ctx.call.stream

    @classmethod
    def prepare(cls, ctx: "ExchangeContext", leaf: Leaf) -> "CompatExchange | Result":
        """Build the exchange, or the gateway error that prevents it."""
        call = ctx.call
        fn = call.unified_fn
        if not leaf.spec.serves(fn):
            return gateway_exception(leaf, 400, f"{fn} is not supported by {leaf.provider}")
        url = (leaf.custom_host or leaf.spec.base_url) + ENDPOINT_PATHS.get(fn, call.path)
        headers = provider_headers(ctx, leaf, {"content-type": "application/json"})
        body = openai_translator.request_body(leaf.spec, call.body, call.raw, leaf.override_params)
        return cls(ctx, leaf, url, headers, body)

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Relay the provider's answer."""
        leaf = self.leaf
        relayed = relayed_headers(response)
        content_type = response.headers.get("content-type", "")
        if response.status_code >= 400:
            return openai_failure(leaf, response, relayed)
        if self.stream and content_type.startswith("text/event-stream"):
            return openai_stream_result(self.ctx, leaf, response, without_type(relayed), timeout)
        return Result(
            response.status_code,
            without_type(relayed),
            body=response.content,
            content_type=content_type or "application/json",
            provider=leaf.provider,
            path=leaf.path,
        )


def openai_stream_result(
    ctx: "ExchangeContext", leaf: Leaf, response: UpstreamResponse, headers: list[tuple[str, str]], timeout: Timeout
) -> Result:
    """An OpenAI-format upstream stream: relayed byte for byte, or re-encoded (other client formats, observed)."""
    if ctx.relays_bytes:
        return relay_result(ctx, leaf, response, headers, timeout, OpenAIEncoder(leaf.provider).error)
    source = UpstreamEvents(response, timeout.read)
    return translated_result(ctx, leaf, response, source, headers, timeout, OpenAIChunks(), ctx.encoder(leaf.provider))
