"""Exchanges for providers that speak the client's own format: relayed byte for byte.

Anthropic Messages clients reaching ``anthropic`` and Responses clients reaching OpenAI get the
provider's answer, stream and errors unchanged (override params still apply); a cut or stall
mid-stream still ends with an error event in that format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from gateway.compat import forward_client_headers, provider_headers, relayed_headers
from gateway.formats import AnthropicEncoder, encode
from gateway.outcomes import without_type
from gateway.relay import anthropic_final, responses_final
from gateway.result import Result
from gateway.streams import relay_result
from gateway.targets import Leaf
from gateway.upstream import Timeout, UpstreamResponse
from translators import anthropic
from translators.base import Target

if TYPE_CHECKING:
    from gateway.attempt import LeafCaller


def client_body(caller: "LeafCaller", leaf: Leaf) -> bytes:
    """The client's original body, with the leaf's override params merged when it has any."""
    call = caller.call
    if not leaf.override_params:
        return call.client_raw or orjson.dumps(call.client_body or {})
    return orjson.dumps({**(call.client_body or {}), **leaf.override_params})


def _responses_error(code: str, message: str) -> bytes:
    return encode([("error", {"type": "error", "code": code, "message": message, "param": None})])


class NativeFormatExchange:
    """Relay a request in the client's format to a provider that speaks it."""

    method = "POST"

    def __init__(
        self, caller: "LeafCaller", leaf: Leaf, url: str, headers: dict[str, str], body: bytes, kind: str
    ) -> None:
        self.caller = caller
        self.leaf = leaf
        self.url = url
        self.headers = headers
        self.body = body
        self.kind = kind
        self.stream = caller.call.stream

    @classmethod
    def anthropic_messages(cls, caller: "LeafCaller", leaf: Leaf) -> "NativeFormatExchange":
        """``/v1/messages`` (or ``count_tokens``) to Anthropic."""
        target = Target(provider=leaf.provider, api_key=leaf.api_key, options=leaf.options)
        headers = {k.lower(): v for k, v in anthropic.headers(target).items()}
        forward_client_headers(caller, leaf, headers)
        url = (leaf.custom_host or leaf.spec.base_url).rstrip("/") + caller.call.path
        return cls(caller, leaf, url, headers, client_body(caller, leaf), "anthropic")

    @classmethod
    def openai_responses(cls, caller: "LeafCaller", leaf: Leaf) -> "NativeFormatExchange":
        """``/v1/responses`` to OpenAI (or another provider serving the Responses API)."""
        headers = provider_headers(caller, leaf, {"content-type": "application/json"})
        url = (leaf.custom_host or leaf.spec.base_url).rstrip("/") + "/responses"
        return cls(caller, leaf, url, headers, client_body(caller, leaf), "responses")

    def handle(self, response: UpstreamResponse, timeout: Timeout) -> Result:
        """Relay the answer as it is."""
        leaf = self.leaf
        headers = without_type(relayed_headers(response))
        content_type = response.headers.get("content-type", "") or "application/json"
        if self.stream and response.status_code < 400 and content_type.startswith("text/event-stream"):
            if self.kind == "anthropic":
                error_event: Any = AnthropicEncoder({}).error
                is_final = anthropic_final
            else:
                error_event, is_final = _responses_error, responses_final
            return relay_result(
                self.caller, leaf, response, headers, timeout, error_event, is_final, native_format=True
            )
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
