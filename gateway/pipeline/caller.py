"""Call one leaf of the routing tree: prepare its exchange, send it, retry it, shape the result.

An *exchange* knows one kind of upstream conversation: ``compat.CompatExchange`` (OpenAI-
compatible providers, bytes forwarded), ``native.NativeExchange`` (providers reached through a
translator), ``nativeformats.NativeFormatExchange`` (a provider that speaks the client's own
format), ``endpoints.EndpointExchange`` (images, audio, files, batches, fine-tuning, moderations),
``bedrock_batch.BatchExchange`` (files and batches as Bedrock batch inference over S3) and
``passthrough.ProxyExchange`` (the generic ``/v1/*`` route). This module holds what they share:
the send with its timeouts, the mapping of transport failures to results, and the retry loop, so
every strategy above gets retries for free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gateway.auth.credentials import Credentials
from gateway.core.call import Call
from gateway.core.errors import RequestTimeout, UpstreamTimeout, UpstreamUnavailable
from gateway.core.outcomes import error_result, gateway_exception
from gateway.core.plan import Leaf
from gateway.core.result import Result, json_result
from gateway.exchanges import bedrock_batch
from gateway.exchanges.base import Exchange, ExchangeContext
from gateway.exchanges.endpoints import ENDPOINT_FNS, EndpointExchange
from gateway.exchanges.native_formats import NativeFormatExchange
from gateway.exchanges.openai_compat import CompatExchange
from gateway.exchanges.passthrough import ProxyExchange
from gateway.exchanges.translated import NativeExchange
from gateway.pipeline.retry import Backoff, run_with_retries
from gateway.streaming.translation import OpenAIEncoder
from gateway.transport.client import Timeout, UpstreamFailure
from gateway.transport.outbound import Outbound
from translators.adapters import translator_for
from translators.formats.token_count import count_messages_request

log = logging.getLogger("gateway.pipeline.caller")


#: Native-format exchange kinds (``ProviderSpec.native_formats``) -> their factory; a factory returns None
#: when the leaf cannot take the client's format after all (a non-Claude model on Vertex AI or Bedrock).
NATIVE_FORMATS: dict[str, Callable[[ExchangeContext, Leaf], Exchange | Result | None]] = {
    "anthropic_messages": NativeFormatExchange.anthropic_messages,
    "claude_elsewhere": NativeFormatExchange.claude_elsewhere,
    "openai_responses": NativeFormatExchange.openai_responses,
    "azure_responses": NativeFormatExchange.azure_responses,
}

#: Batch exchanges (``ProviderSpec.batch``) -> the endpoint ids they serve and their factory.
BATCH_EXCHANGES: dict[str, tuple[frozenset[str], Callable[[ExchangeContext, Leaf], Exchange | Result]]] = {
    "bedrock": (bedrock_batch.FNS, bedrock_batch.prepare),
}


class LeafCaller:
    """Call leaves for one request."""

    def __init__(
        self, call: Call, outbound: Outbound, credentials: Credentials, sleep: Callable[[float], None]
    ) -> None:
        self.call = call
        self.outbound = outbound
        self.credentials = credentials
        self.sleep = sleep
        settings = outbound.settings
        self.backoff = Backoff(settings.retry_base_delay, settings.retry_max_delay, settings.retry_budget)
        #: Wraps stream encoders when output guardrails or the cache must see the streamed answer.
        self.observer: Callable[[Any], Any] | None = None
        #: Whether providers speaking the client's format may be relayed byte for byte.
        self.native_formats = True

    def encoder(self, provider: str) -> Any:
        """The stream encoder for the client's format (observed when the answer must be checked or cached)."""
        fmt = self.call.format
        base = fmt.encoder(provider) if fmt is not None else OpenAIEncoder(provider)
        return self.observer(base) if self.observer is not None else base

    def context(self) -> ExchangeContext:
        """What the exchanges of this call may use."""
        relays_bytes = self.call.format is None and self.observer is None
        return ExchangeContext(self.call, self.outbound, self.credentials, self.encoder, relays_bytes)

    def __call__(self, leaf: Leaf) -> Result:
        exchange = self.exchange(leaf)
        if isinstance(exchange, Result):
            return exchange
        attempt = lambda: self._once(leaf, exchange)  # noqa: E731
        if self.call.trace is not None:  # timed, counted and traced per try (gateway.observability)
            attempt = self.call.trace.attempt(leaf, exchange, attempt)
        return run_with_retries(attempt, leaf.retry, self.backoff, sleep=self.sleep)

    def exchange(self, leaf: Leaf) -> Exchange | Result:
        """Prepare the exchange for ``leaf`` (chosen from its registry entry), or the error that prevents it."""
        call, ctx, spec = self.call, self.context(), leaf.spec
        if call.fn == "proxy":
            return ProxyExchange.prepare(ctx, leaf)
        kind = spec.native_format(call.fn)
        # count_tokens has no chat equivalent: it goes natively even when hooks or the cache read the answer
        if kind is not None and (self.native_formats or call.fn == "messagesCountTokens"):
            native = NATIVE_FORMATS[kind](ctx, leaf)
            if native is not None:
                return native
        if call.fn == "messagesCountTokens":
            tokens = {"input_tokens": count_messages_request(call.client_body or {})}
            estimate = json_result(
                200, tokens, provider=leaf.provider, path=leaf.path, headers=[("x-portkey-token-count", "estimate")]
            )
            estimate.native_format = True
            return estimate
        if call.fn in ENDPOINT_FNS:
            batch = BATCH_EXCHANGES.get(spec.batch or "")
            if batch is not None and call.fn in batch[0]:
                return batch[1](ctx, leaf)
            if spec.adapter == "openai":
                return EndpointExchange.prepare(ctx, leaf)
            translator = translator_for(spec.adapter)
            if not translator.supports(call.fn):  # routed as-is (Azure), or not served at all
                if hasattr(translator, "route"):
                    return EndpointExchange.prepare(ctx, leaf, translator)
                return gateway_exception(leaf, 400, f"{call.fn} is not supported by {leaf.provider}")
        missing = getattr(call.format, "missing_previous", None)
        if missing:
            return gateway_exception(
                leaf, 400, f"Previous response with id '{missing}' not found.", param="previous_response_id"
            )
        if spec.adapter == "openai":
            return CompatExchange.prepare(ctx, leaf)
        return NativeExchange.prepare(ctx, leaf)

    def timeout(self, leaf: Leaf, stream: bool) -> Timeout:
        """The connect, read and total timeouts for one attempt."""
        settings = self.outbound.settings
        read = settings.stream_idle_timeout if stream else settings.read_timeout
        total = leaf.request_timeout / 1000.0 if leaf.request_timeout else None
        return Timeout(settings.connect_timeout, read, total)

    def _once(self, leaf: Leaf, exchange: Exchange) -> Result:
        timeout = self.timeout(leaf, getattr(exchange, "sse", exchange.stream))
        body = exchange.body
        if hasattr(body, "seek") and hasattr(body, "tell"):
            body.seek(0)
        try:
            response = self.outbound.client.send(
                exchange.method,
                exchange.url,
                headers=exchange.headers,
                body=body,
                stream=exchange.stream,
                timeout=timeout,
                guard=leaf.guard_host,
            )
        except UpstreamFailure as failure:
            return self.failure(leaf, failure, timeout)
        if self.call.trace is not None:
            self.call.trace.first_byte()
        try:
            return exchange.handle(response, timeout)
        except UpstreamFailure as failure:
            response.close()
            return self.failure(leaf, failure, timeout)

    def failure(self, leaf: Leaf, failure: UpstreamFailure, timeout: Timeout) -> Result:
        """Map a transport failure to a result: 400 blocked, 408 deadline, 504 read timeout, 502 otherwise."""
        if failure.kind == "blocked":
            return gateway_exception(leaf, 400, "Invalid custom host")
        if failure.kind == "timeout":
            if timeout.total is not None and (failure.seconds is None or failure.seconds >= timeout.total - 1e-6):
                return error_result(leaf, RequestTimeout(leaf.provider, leaf.request_timeout or 0))
            return error_result(leaf, UpstreamTimeout(leaf.provider, failure.seconds or timeout.read), network=True)
        return error_result(leaf, UpstreamUnavailable(leaf.provider, failure.detail), network=True)
