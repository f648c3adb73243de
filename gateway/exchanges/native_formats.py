"""Exchanges for providers that speak the client's own format: relayed byte for byte.

Anthropic Messages clients reaching ``anthropic`` (or Claude on Vertex AI and Bedrock, whose
native APIs take the Messages body) and Responses clients reaching OpenAI or Azure OpenAI get the
provider's answer, stream and errors unchanged (override params still apply); a cut or stall
mid-stream still ends with an error event in that format.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from gateway.core.errors import ProviderError
from gateway.core.outcomes import error_result, gateway_exception, provider_failure, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.exchanges.base import outgoing_headers, provider_headers, relayed_headers
from gateway.streaming.aws_eventstream import AWSEventStream
from gateway.streaming.client_formats import AnthropicEncoder, encode
from gateway.streaming.relay import anthropic_final, responses_final
from gateway.streaming.translation import primed, relay_result, stream_result
from gateway.transport.client import Timeout, UpstreamResponse
from translators.adapters import translator_for
from translators.anthropic import claude_elsewhere as claude_native
from translators.anthropic import request as anthropic_request
from translators.bedrock import translator as bedrock_translator
from translators.contract import Target, TranslationError
from translators.formats import messages as messages_api

if TYPE_CHECKING:
    from gateway.core.call import Call
    from gateway.exchanges.base import ExchangeContext


def client_body(ctx: "ExchangeContext", leaf: Leaf) -> bytes:
    """The client's original body, with the leaf's override params merged when it has any."""
    call = ctx.call
    if not leaf.override_params:
        return call.client_raw or orjson.dumps(call.client_body or {})
    return orjson.dumps({**(call.client_body or {}), **leaf.override_params})


def _responses_error(code: str, message: str) -> bytes:
    return encode([("error", {"type": "error", "code": code, "message": message, "param": None})])


def is_claude(leaf: Leaf, call: "Call") -> bool:
    """Whether a Messages call names a Claude model on Vertex AI or Bedrock (which speak the format natively)."""
    model = str(leaf.override_params.get("model") or (call.client_body or {}).get("model") or "")
    try:
        if leaf.spec.adapter == "vertex":
            return claude_native.is_vertex_claude(model)
        return leaf.spec.adapter == "bedrock" and claude_native.is_bedrock_claude(model)
    except TranslationError:
        return False


class NativeFormatExchange:
    """Relay a request in the client's format to a provider that speaks it."""

    method = "POST"

    def __init__(
        self, ctx: "ExchangeContext", leaf: Leaf, url: str, headers: dict[str, str], body: bytes, kind: str
    ) -> None:
        self.ctx = ctx
        self.leaf = leaf
        self.url = url
        self.headers = headers
        self.body = body
        self.kind = kind
        self.stream = ctx.call.stream

    @classmethod
    def anthropic_messages(cls, ctx: "ExchangeContext", leaf: Leaf) -> "NativeFormatExchange":
        """``/v1/messages`` (or ``count_tokens``) to Anthropic."""
        target = Target(provider=leaf.provider, api_key=leaf.api_key, options=leaf.options)
        headers = outgoing_headers(ctx, leaf, anthropic_request.headers(target))
        url = (leaf.custom_host or leaf.spec.base_url).rstrip("/") + ctx.call.path
        return cls(ctx, leaf, url, headers, client_body(ctx, leaf), "anthropic")

    @classmethod
    def claude_elsewhere(cls, ctx: "ExchangeContext", leaf: Leaf) -> "NativeFormatExchange | Result | None":
        """``/v1/messages`` to Claude on Vertex AI or Bedrock, in the Messages format natively (None: not Claude)."""
        if not is_claude(leaf, ctx.call):
            return None
        try:
            target = ctx.credentials.target(leaf)
        except ProviderError as error:
            return error_result(leaf, error)
        body = {**(ctx.call.client_body or {}), **leaf.override_params}
        build = claude_native.vertex_request if leaf.spec.adapter == "vertex" else claude_native.bedrock_request
        try:
            request = build(body, target, ctx.call.stream)
        except TranslationError as exc:
            return gateway_exception(leaf, 400, exc.message, param=exc.param)
        headers = outgoing_headers(ctx, leaf, request.headers)
        kind = "anthropic" if leaf.spec.adapter == "vertex" else "bedrock-anthropic"
        return cls(ctx, leaf, request.url, headers, request.body or b"", kind)

    @classmethod
    def azure_responses(cls, ctx: "ExchangeContext", leaf: Leaf) -> "NativeFormatExchange | Result":
        """``/v1/responses`` to Azure OpenAI (its Responses API, deployment sent as the model)."""
        try:
            target = ctx.credentials.target(leaf)
        except ProviderError as error:
            return error_result(leaf, error)
        translator = translator_for("azure")
        try:
            routed = translator.route("responses", target, "POST", "/responses", "")
        except TranslationError as exc:
            return gateway_exception(leaf, 400, exc.message, param=exc.param)
        headers = outgoing_headers(ctx, leaf, routed.headers)
        body = {**(ctx.call.client_body or {}), **leaf.override_params}
        model = translator.body_model("responses", target)
        if model:
            body["model"] = model
        return cls(ctx, leaf, routed.url, headers, orjson.dumps(body), "responses")

    @classmethod
    def openai_responses(cls, ctx: "ExchangeContext", leaf: Leaf) -> "NativeFormatExchange":
        """``/v1/responses`` to OpenAI (or another provider serving the Responses API)."""
        headers = provider_headers(ctx, leaf, {"content-type": "application/json"})
        url = (leaf.custom_host or leaf.spec.base_url).rstrip("/") + "/responses"
        return cls(ctx, leaf, url, headers, client_body(ctx, leaf), "responses")

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Relay the answer as it is."""
        leaf = self.leaf
        headers = without_type(relayed_headers(response))
        content_type = response.headers.get("content-type", "") or "application/json"
        if self.kind == "bedrock-anthropic":
            if response.status_code >= 400:  # Bedrock's error shape, answered in Anthropic's envelope
                payload = bedrock_translator.TRANSLATOR.parse_error(
                    response.status_code, response.content, content_type, Target(provider=leaf.provider)
                )
                response.close()
                body = messages_api.error_body(response.status_code, payload["error"]["message"])
                return provider_failure(leaf, response.status_code, body, headers)
            if self.stream:
                return self._bedrock_stream(response, headers, timeout)
        if self.stream and response.status_code < 400 and content_type.startswith("text/event-stream"):
            if self.kind == "anthropic":
                error_event: Any = AnthropicEncoder({}).error
                is_final = anthropic_final
            else:
                error_event, is_final = _responses_error, responses_final
            return relay_result(self.ctx, leaf, response, headers, timeout, error_event, is_final, native_format=True)
        origin = leaf.provider if response.status_code >= 400 else None
        return Result(
            response.status_code,
            headers,
            body=response.content,
            content_type=content_type,
            provider=leaf.provider,
            path=leaf.path,
            error_origin=origin,
            native_format=True,
        )

    def _bedrock_stream(self, response: UpstreamResponse, headers: list[tuple[str, str]], timeout: Timeout) -> Result:
        leaf = self.leaf
        source = AWSEventStream(response, timeout.read)
        started = primed(self.ctx, leaf, source, timeout)
        if isinstance(started, Result):
            return started
        batches, first = started
        stream = _bedrock_messages(source, batches, first, AnthropicEncoder({}).error)
        return stream_result(leaf, response.status_code, headers, stream, native_format=True)


def _bedrock_messages(
    source: AWSEventStream, batches: Iterator[Any], first: Any, error_event: Callable[[str, str], bytes]
) -> Iterator[bytes]:
    """Re-frame Bedrock ``chunk`` events as Anthropic SSE; end a broken stream with an error event."""
    finished = False
    try:
        for _raw, events in itertools.chain([first], batches):
            out = []
            for event in events:
                name, data = claude_native.bedrock_event(event)
                out.append(b"event: " + name.encode() + b"\ndata: " + data + b"\n\n")
                finished = finished or name in ("message_stop", "error")
            yield b"".join(out)
            if finished:
                return
        if source.ended == "complete":
            yield error_event("stream_incomplete", "the provider ended the stream before it was complete")
        else:
            yield error_event(f"stream_{source.ended}", source.detail)
    finally:
        source.close()
