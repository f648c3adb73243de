"""What every exchange shares: the exchange contract, the headers going out and coming back, errors, bodies.

An *exchange* is one kind of upstream conversation for a leaf (``openai_compat``, ``translated``,
``native_formats``, ``endpoints``, ``bedrock_batch``, ``passthrough``). It is prepared from the
leaf and an ``ExchangeContext``, sent by the leaf caller, and ``handle``-s the response.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from gateway.core.options import upstream_response_headers
from gateway.core.outcomes import provider_failure, without_type
from gateway.core.plan import Leaf
from gateway.core.result import Result
from gateway.transport.client import BodyFailure, UpstreamResponse
from translators.openai import compat as openai_translator

if TYPE_CHECKING:
    from gateway.pipeline.caller import LeafCaller

log = logging.getLogger("gateway.exchanges")


def provider_headers(caller: "LeafCaller", leaf: Leaf, base: dict[str, str]) -> dict[str, str]:
    """Add auth, static and forwarded headers to ``base``; names compared case-insensitively, later wins."""
    headers = base
    for name, value in openai_translator.request_headers(leaf.spec, leaf.api_key, leaf.options).items():
        headers[name.lower()] = value
    if caller.call.method in ("GET", "HEAD"):
        headers.pop("content-type", None)
    return outgoing_headers(caller, leaf, headers)


def outgoing_headers(caller: "LeafCaller", leaf: Leaf, headers: Mapping[str, str]) -> dict[str, str]:
    """Return ``headers`` with lower-case names plus the client headers named in ``forward_headers`` (they win)."""
    out = {name.lower(): value for name, value in headers.items()}
    if leaf.forward_headers:
        for name, value in caller.call.headers:
            if name.lower() in leaf.forward_headers:
                out[name.lower()] = value
    return out


def relayed_headers(response: UpstreamResponse) -> list[tuple[str, str]]:
    """The provider's response headers fit to relay."""
    return upstream_response_headers(response.headers.items())


def openai_failure(leaf: Leaf, response: UpstreamResponse, relayed: list[tuple[str, str]]) -> Result:
    """Return an OpenAI-format provider's error answer, re-wrapped with the provider's name."""
    content_type = response.headers.get("content-type", "")
    payload = openai_translator.error_envelope(leaf.provider, response.status_code, response.content, content_type)
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
