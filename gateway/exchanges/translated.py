"""Exchange with a provider through its translator (Anthropic, Gemini, Bedrock, Cohere, ...).

The gateway side of translation: resolve credentials that need I/O, download images the
provider needs as bytes, let the translator build the native request, then map the native
answer, error or stream back to OpenAI's format. OpenAI params a provider cannot take are
named in ``x-portkey-unmapped-params`` rather than dropped silently.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from gateway.core.errors import ProviderError
from gateway.core.outcomes import error_result, gateway_exception, provider_failure, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.exchanges.base import outgoing_headers, relayed_headers
from gateway.exchanges.openai_compat import openai_stream_result
from gateway.streaming.aws_eventstream import AWSEventStream
from gateway.streaming.relay import UpstreamEvents
from gateway.streaming.translation import translated_result
from gateway.transport.client import Timeout, UpstreamResponse
from gateway.transport.fetch import fetch_all
from translators.adapters import translator_for
from translators.contract import InvalidResponse, ProviderRefusal, Target, TranslationError, Translator

if TYPE_CHECKING:
    from gateway.exchanges.base import ExchangeContext


class NativeExchange:
    """A request translated for one provider."""

    def __init__(
        self,
        ctx: "ExchangeContext",
        leaf: Leaf,
        translator: Translator,
        target: Target,
        body: dict[str, Any],
        method: str,
        url: str,
        headers: dict[str, str],
        payload: bytes | None,
        unmapped: list[str],
    ) -> None:
        self.ctx = ctx
        self.leaf = leaf
        self.translator = translator
        self.target = target
        self.request_body = body
        self.method = method
        self.url = url
        self.headers = headers
        self.body = payload
        self.unmapped = unmapped
        self.stream = ctx.call.stream

    @classmethod
    def prepare(cls, ctx: "ExchangeContext", leaf: Leaf) -> "NativeExchange | Result":
        """Translate the call for ``leaf``, or return the error that prevents it."""
        call = ctx.call
        translator = translator_for(leaf.spec.adapter)
        fn = call.unified_fn
        if not translator.supports(fn):
            return gateway_exception(leaf, 400, f"{fn} is not supported by {leaf.provider}")
        body = dict(call.body or {})
        if leaf.override_params:
            body.update(leaf.override_params)
        try:
            target = ctx.credentials.target(leaf)
        except ProviderError as error:
            return error_result(leaf, error)
        target = replace(target, fetched=fetch_all(ctx.outbound, translator.images_to_fetch(fn, body)))
        try:
            built = translator.build_request(fn, body, target, call.stream)
        except TranslationError as exc:
            return gateway_exception(leaf, 400, exc.message, param=exc.param)
        request = built.request
        headers = outgoing_headers(ctx, leaf, request.headers)
        return cls(
            ctx, leaf, translator, target, body, request.method, request.url, headers, request.body, built.unmapped
        )

    def _headers(self, response: UpstreamResponse) -> list[tuple[str, str]]:
        headers = without_type(relayed_headers(response))
        if self.unmapped:
            headers.append(("x-portkey-unmapped-params", ",".join(self.unmapped)))
        return headers

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Map the provider's answer to OpenAI's format (or the client's format for streams)."""
        leaf, call = self.leaf, self.ctx.call
        headers = self._headers(response)
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", "")
            payload = self.translator.parse_error(response.status_code, response.content, content_type, self.target)
            response.close()
            return provider_failure(leaf, response.status_code, payload, headers)
        if getattr(self.translator, "passthrough", False):
            content_type = response.headers.get("content-type", "")
            if self.stream and content_type.startswith("text/event-stream"):
                return openai_stream_result(self.ctx, leaf, response, headers, timeout)
            return Result(
                response.status_code,
                headers,
                body=response.content,
                content_type=content_type or "application/json",
                provider=leaf.provider,
                path=leaf.path,
            )
        if self.stream:
            if self.translator.stream_format == "aws-eventstream":
                source: Any = AWSEventStream(response, timeout.read)
            else:
                source = UpstreamEvents(response, timeout.read)
            mapper = self.translator.stream(call.unified_fn, self.target, self.request_body)
            encoder = self.ctx.encoder(leaf.provider)
            return translated_result(self.ctx, leaf, response, source, headers, timeout, mapper, encoder)
        target = replace(self.target, response_headers={k.lower(): v for k, v in response.headers.items()})
        try:
            answer = self.translator.parse_response(call.unified_fn, response.content, target, self.request_body)
        except ProviderRefusal as exc:
            error = ProviderError(leaf.provider, exc.status, exc.message, error_type=exc.code)
            return error_result(leaf, error)
        except InvalidResponse as exc:
            return error_result(leaf, ProviderError(leaf.provider, 502, exc.message, error_type="invalid_response"))
        return Result(response.status_code, headers, body=orjson.dumps(answer), provider=leaf.provider, path=leaf.path)
