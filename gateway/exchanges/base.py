"""What every exchange shares: the exchange contract, the headers going out and coming back, errors, bodies.

An *exchange* is one kind of upstream conversation for a leaf (``openai_compat``, ``translated``,
``native_formats``, ``endpoints``, ``bedrock_batch``, ``passthrough``). It is prepared from the
leaf and an ``ExchangeContext``, sent by the leaf ctx, and ``handle``-s the response.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gateway.core.options import upstream_response_headers
from gateway.core.outcomes import provider_failure, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.transport.client import BodyFailure, UpstreamResponse
from translators.openai import compat as openai_translator
from translators.openai_shapes import wire_error_envelope

if TYPE_CHECKING:
    from gateway.auth.credentials import Credentials
    from gateway.core.call import Call
    from gateway.transport.client import Timeout
    from gateway.transport.outbound import Outbound

log = logging.getLogger("gateway.exchanges")


@dataclass(frozen=True)
class ExchangeContext:
    """What an exchange may use: the call, the outbound services, credentials, the client's stream encoder."""

    call: "Call"
    outbound: "Outbound"
    credentials: "Credentials"
    #: The stream encoder for the client's format, given the provider's name (observed when hooks or the
    #: cache must see the streamed answer).
    encoder: Callable[[str], Any]
    #: Whether an OpenAI-format stream can go to the client byte for byte (OpenAI client, nothing observing).
    relays_bytes: bool

    def deadline(self, timeout: "Timeout") -> AbstractContextManager[None]:
        """Bound stream priming by the attempt's total timeout."""
        return self.outbound.client.deadline(timeout.total)


class Exchange(Protocol):
    """One prepared upstream conversation for a leaf: what to send, and how to read the answer."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    stream: bool

    def handle(self, response: UpstreamResponse, timeout: "Timeout") -> Result: ...


def provider_headers(ctx: "ExchangeContext", leaf: Leaf, base: dict[str, str]) -> dict[str, str]:
    """Add auth, static and forwarded headers to ``base``; names compared case-insensitively, later wins."""
    headers = base
    for name, value in openai_translator.request_headers(leaf.spec, leaf.api_key, leaf.options).items():
        headers[name.lower()] = value
    if ctx.call.method in ("GET", "HEAD"):
        headers.pop("content-type", None)
    return outgoing_headers(ctx, leaf, headers)


def outgoing_headers(ctx: "ExchangeContext", leaf: Leaf, headers: Mapping[str, str]) -> dict[str, str]:
    """Return ``headers`` with lower-case names plus the client headers named in ``forward_headers`` (they win)."""
    out = {name.lower(): value for name, value in headers.items()}
    if leaf.forward_headers:
        for name, value in ctx.call.headers:
            if name.lower() in leaf.forward_headers:
                out[name.lower()] = value
    return out


def relayed_headers(response: UpstreamResponse) -> list[tuple[str, str]]:
    """The provider's response headers fit to relay."""
    return upstream_response_headers(response.headers.items())


def openai_failure(leaf: Leaf, response: UpstreamResponse, relayed: list[tuple[str, str]]) -> Result:
    """Return an OpenAI-format provider's error answer, re-wrapped with the provider's name."""
    content_type = response.headers.get("content-type", "")
    payload = wire_error_envelope(leaf.provider, response.status_code, response.content, content_type)
    response.close()
    return provider_failure(leaf, response.status_code, payload, without_type(relayed))


def guarded_body(leaf: Leaf, chunks: Callable[[], Iterator[bytes]], close: Callable[[], None]) -> Iterator[bytes]:
    """Yield the upstream body; if it breaks off, abort the client's connection rather than end it cleanly."""
    try:
        yield from chunks()
    except BodyFailure as exc:
        log.warning("body from %s broke off (%s); aborting the client connection", leaf.provider, exc.kind)
        raise ConnectionResetError(errno.ECONNRESET, f"{leaf.provider} body broke off") from exc
    finally:
        close()
