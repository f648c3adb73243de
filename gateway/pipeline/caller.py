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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from gateway.core.call import Call
from gateway.core.errors import RequestTimeout, UpstreamTimeout, UpstreamUnavailable
from gateway.core.outcomes import error_result, gateway_exception
from gateway.core.plan import Leaf
from gateway.core.result import Result, json_result
from gateway.exchanges import bedrock_batch
from gateway.exchanges.endpoints import ENDPOINT_FNS, EndpointExchange
from gateway.exchanges.native_formats import NativeFormatExchange
from gateway.exchanges.openai_compat import CompatExchange
from gateway.exchanges.passthrough import ProxyExchange
from gateway.exchanges.translated import NativeExchange, translator_for
from gateway.pipeline.retry import Backoff, run_with_retries
from gateway.streaming.translation import OpenAIEncoder
from gateway.transport.client import Timeout, UpstreamFailure, UpstreamResponse
from translators.anthropic import claude_elsewhere as claude_native
from translators.contract import TranslationError
from translators.formats.token_count import count_messages_request

if TYPE_CHECKING:
    from gateway.web.state import GatewayState

log = logging.getLogger("gateway.pipeline.caller")


class Exchange(Protocol):
    """One prepared upstream conversation for a leaf."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    stream: bool

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result: ...


def claude_elsewhere(leaf: Leaf, call: Call) -> bool:
    """Whether a Messages call goes to Claude on Vertex AI or Bedrock (which speak the format natively)."""
    model = str(leaf.override_params.get("model") or (call.client_body or {}).get("model") or "")
    try:
        if leaf.spec.adapter == "vertex":
            return claude_native.is_vertex_claude(model)
        return leaf.spec.adapter == "bedrock" and claude_native.is_bedrock_claude(model)
    except TranslationError:
        return False


class LeafCaller:
    """Call leaves for one request."""

    def __init__(self, state: "GatewayState", call: Call) -> None:
        self.state = state
        self.call = call
        settings = state.settings
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

    @property
    def relays_bytes(self) -> bool:
        """Whether an OpenAI-format stream can go to the client byte for byte."""
        return self.call.format is None and self.observer is None

    def __call__(self, leaf: Leaf) -> Result:
        exchange = self.exchange(leaf)
        if isinstance(exchange, Result):
            return exchange
        return run_with_retries(lambda: self._once(leaf, exchange), leaf.retry, self.backoff, sleep=self.state.sleep)

    def exchange(self, leaf: Leaf) -> Exchange | Result:
        """Prepare the exchange for ``leaf``, or return the gateway error that prevents it."""
        call = self.call
        if call.fn == "proxy":
            return ProxyExchange.prepare(self, leaf)
        adapter = leaf.spec.adapter
        if (call.fn == "messagesCountTokens" and adapter == "anthropic") or (
            call.fn == "messages" and adapter == "anthropic" and self.native_formats
        ):
            return NativeFormatExchange.anthropic_messages(self, leaf)
        if call.fn == "messages" and self.native_formats and claude_elsewhere(leaf, call):
            return NativeFormatExchange.claude_elsewhere(self, leaf)
        if call.fn == "messagesCountTokens":
            tokens = {"input_tokens": count_messages_request(call.client_body or {})}
            estimate = json_result(
                200, tokens, provider=leaf.provider, path=leaf.path, headers=[("x-portkey-token-count", "estimate")]
            )
            estimate.native_format = True
            return estimate
        if call.fn in ENDPOINT_FNS:
            if adapter == "openai":
                return EndpointExchange.prepare(self, leaf)
            if adapter == "bedrock" and call.fn in bedrock_batch.FNS:
                return bedrock_batch.prepare(self, leaf)
            translator = translator_for(adapter)
            if not translator.supports(call.fn):  # routed as-is (Azure), or not served at all
                if hasattr(translator, "route"):
                    return EndpointExchange.prepare(self, leaf, translator)
                return gateway_exception(leaf, 400, f"{call.fn} is not supported by {leaf.provider}")
        if call.fn == "responses" and adapter == "azure" and self.native_formats:
            return NativeFormatExchange.azure_responses(self, leaf)
        if call.fn == "responses" and adapter == "openai" and leaf.spec.serves("responses") and self.native_formats:
            return NativeFormatExchange.openai_responses(self, leaf)
        missing = getattr(call.format, "missing_previous", None)
        if missing:
            return gateway_exception(
                leaf, 400, f"Previous response with id '{missing}' not found.", param="previous_response_id"
            )
        if adapter == "openai":
            return CompatExchange.prepare(self, leaf)
        return NativeExchange.prepare(self, leaf)

    def timeout(self, leaf: Leaf, stream: bool) -> Timeout:
        """The connect, read and total timeouts for one attempt."""
        settings = self.state.settings
        read = settings.stream_idle_timeout if stream else settings.read_timeout
        total = leaf.request_timeout / 1000.0 if leaf.request_timeout else None
        return Timeout(settings.connect_timeout, read, total)

    @contextmanager
    def deadline(self, timeout: Timeout) -> Iterator[None]:
        """Bound stream priming by the attempt's total timeout."""
        with self.state.client.deadline(timeout.total):
            yield

    def _once(self, leaf: Leaf, exchange: Exchange) -> Result:
        timeout = self.timeout(leaf, getattr(exchange, "sse", exchange.stream))
        body = exchange.body
        if hasattr(body, "seek") and hasattr(body, "tell"):
            body.seek(0)
        try:
            response = self.state.client.send(
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
