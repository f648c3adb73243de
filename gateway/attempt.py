"""Call one leaf of the routing tree: build the upstream request, send it, shape the result.

Retries of the leaf happen here (``run_with_retries``), so every strategy above gets them.
Streams are primed before the result is returned: the first whole event must arrive, or
the attempt counts as failed and may be retried or fall back, because nothing has reached
the client yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import urllib3

from gateway.call import Call
from gateway.errors import ProviderError, RequestTimeout, UpstreamTimeout, UpstreamUnavailable
from gateway.headers import upstream_response_headers
from gateway.relay import UpstreamEvents, openai_passthrough, prime
from gateway.result import Result, json_result
from gateway.retry import Backoff, run_with_retries
from gateway.sse import encode_json_event
from gateway.targets import Leaf
from gateway.upstream import Timeout, UpstreamFailure, UpstreamResponse
from translators import openai as openai_translator
from translators.providers import ENDPOINT_PATHS

if TYPE_CHECKING:
    from gateway.state import GatewayState

log = logging.getLogger("gateway.attempt")

STREAM_HEADERS = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]


def gateway_exception(leaf: Leaf, status: int, message: str) -> Result:
    """Return a gateway-internal failure that stops fallback (``x-portkey-gateway-exception``)."""
    return json_result(
        status,
        {"status": "failure", "message": message},
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


def openai_error_event(provider: str) -> Callable[[str, str], bytes]:
    """Return a function rendering an in-band OpenAI-format stream error for ``provider``."""

    def render(code: str, message: str) -> bytes:
        return encode_json_event(
            {"error": {"message": f"{provider} error: {message}", "type": "stream_error", "param": None, "code": code}}
        )

    return render


class LeafCaller:
    """Call leaves for one request."""

    def __init__(self, state: "GatewayState", call: Call) -> None:
        self.state = state
        self.call = call
        settings = state.settings
        self.backoff = Backoff(settings.retry_base_delay, settings.retry_max_delay, settings.retry_budget)

    def __call__(self, leaf: Leaf) -> Result:
        call = self.call
        spec = leaf.spec
        if call.fn != "proxy" and not spec.serves(call.fn):
            return gateway_exception(leaf, 400, f"{call.fn} is not supported by {leaf.provider}")
        base = leaf.custom_host or spec.base_url
        if not base:
            return gateway_exception(leaf, 400, f"{leaf.provider} needs a custom host (x-portkey-custom-host)")
        url = base + (call.path if call.fn == "proxy" else ENDPOINT_PATHS.get(call.fn, call.path))
        if call.query:
            url = f"{url}?{call.query}"
        headers = self._headers(leaf)
        body = self._body(leaf)
        return run_with_retries(
            lambda: self._once(leaf, url, headers, body), leaf.retry, self.backoff, sleep=self.state.sleep
        )

    def _headers(self, leaf: Leaf) -> dict[str, str]:
        """Build the provider request headers; later sources win, names compared case-insensitively."""
        call = self.call
        headers: dict[str, str] = {}
        if call.fn == "proxy":
            headers.update(self.state.forwardable(call.headers))
        elif call.raw is not None:
            headers["content-type"] = "application/json"
        for name, value in openai_translator.request_headers(leaf.spec, leaf.api_key, leaf.options).items():
            headers[name.lower()] = value
        if call.method in ("GET", "HEAD"):
            headers.pop("content-type", None)
        if leaf.forward_headers:
            for name, value in call.headers:
                if name.lower() in leaf.forward_headers:
                    headers[name.lower()] = value
        return headers

    def _body(self, leaf: Leaf) -> Any:
        call = self.call
        if call.raw is None and call.body is None:
            return call.stream_body
        return openai_translator.request_body(leaf.spec, call.body, call.raw, leaf.override_params)

    def _timeout(self, leaf: Leaf) -> Timeout:
        settings = self.state.settings
        read = settings.stream_idle_timeout if self.call.stream else settings.read_timeout
        total = leaf.request_timeout / 1000.0 if leaf.request_timeout else None
        return Timeout(settings.connect_timeout, read, total)

    def _once(self, leaf: Leaf, url: str, headers: dict[str, str], body: Any) -> Result:
        call = self.call
        timeout = self._timeout(leaf)
        if hasattr(body, "seek") and hasattr(body, "tell"):
            body.seek(0)
        try:
            response = self.state.client.send(
                call.method,
                url,
                headers=headers,
                body=body,
                stream=call.stream or call.fn == "proxy",
                timeout=timeout,
                guard=leaf.guard_host,
            )
        except UpstreamFailure as failure:
            return self._failure(leaf, failure, timeout)
        relayed = upstream_response_headers(response.headers.items())
        content_type = response.headers.get("content-type", "")
        if call.fn == "proxy":
            return self._proxy_result(leaf, response, relayed, content_type)
        if response.status_code >= 400:
            payload = openai_translator.error_envelope(
                leaf.provider, response.status_code, response.content, content_type
            )
            response.close()
            return json_result(
                response.status_code,
                payload,
                headers=_without_type(relayed),
                provider=leaf.provider,
                path=leaf.path,
                error_origin=leaf.provider,
            )
        if call.stream and content_type.startswith("text/event-stream"):
            return self._stream_result(leaf, response, relayed, timeout)
        return Result(
            response.status_code,
            _without_type(relayed),
            body=response.content,
            content_type=content_type or "application/json",
            provider=leaf.provider,
            path=leaf.path,
        )

    def _failure(self, leaf: Leaf, failure: UpstreamFailure, timeout: Timeout) -> Result:
        if failure.kind == "blocked":
            return gateway_exception(leaf, 400, "Invalid custom host")
        if failure.kind == "timeout":
            if timeout.total is not None and (failure.seconds is None or failure.seconds >= timeout.total - 1e-6):
                return error_result(leaf, RequestTimeout(leaf.provider, leaf.request_timeout or 0), network=False)
            return error_result(leaf, UpstreamTimeout(leaf.provider, failure.seconds or timeout.read), network=True)
        return error_result(leaf, UpstreamUnavailable(leaf.provider, failure.detail), network=True)

    def _stream_result(
        self, leaf: Leaf, response: UpstreamResponse, relayed: list[tuple[str, str]], timeout: Timeout
    ) -> Result:
        source = UpstreamEvents(response, timeout.read)
        try:
            with self.state.client.deadline(timeout.total):
                batches, first = prime(source)
        except UpstreamFailure:
            source.close()
            return error_result(leaf, RequestTimeout(leaf.provider, leaf.request_timeout or 0))
        if first is None:
            source.close()
            detail = source.detail or "the provider ended the stream before sending any event"
            if source.ended == "stall" and timeout.total is not None:
                return error_result(leaf, RequestTimeout(leaf.provider, leaf.request_timeout or 0))
            return error_result(
                leaf,
                ProviderError(
                    leaf.provider, 502, f"{leaf.provider} error: {detail}", error_type="stream_error", origin="gateway"
                ),
                network=True,
            )
        stream = openai_passthrough(source, batches, first, openai_error_event(leaf.provider))
        headers = _stream_headers(relayed)
        return Result(
            response.status_code,
            headers,
            stream=stream,
            content_type="text/event-stream",
            provider=leaf.provider,
            path=leaf.path,
        )

    def _proxy_result(
        self, leaf: Leaf, response: UpstreamResponse, relayed: list[tuple[str, str]], content_type: str
    ) -> Result:
        def body():
            try:
                yield from response.iter_content()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                log.info("proxy body from %s ended early: %s", leaf.provider, exc.__class__.__name__)
            finally:
                response.close()

        headers = _stream_headers(relayed) if content_type.startswith("text/event-stream") else _without_type(relayed)
        origin = leaf.provider if response.status_code >= 400 else None
        return Result(
            response.status_code,
            headers,
            stream=body(),
            content_type=content_type,
            provider=leaf.provider,
            path=leaf.path,
            error_origin=origin,
        )


def _without_type(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() != "content-type"]


def _stream_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Relayed headers for a stream, with the gateway's no-cache and no-buffering headers."""
    own = ("content-type", "cache-control", "x-accel-buffering")
    return [(k, v) for k, v in headers if k.lower() not in own] + STREAM_HEADERS
