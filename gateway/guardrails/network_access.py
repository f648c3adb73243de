"""Give guardrail checks network access through the worker's upstream client.

Webhook, log and JWKS URLs come from client configs, so every target passes the custom-host
rules and connects through the guarded adapter (private addresses refused unless trusted);
every call has a timeout. ``cached`` keeps JWKS documents and similar for their TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from gateway.auth.token_cache import EXPIRY_MARGIN, cache_key
from gateway.transport.client import Timeout, UpstreamFailure
from gateway.transport.ssrf import check_custom_host

if TYPE_CHECKING:
    from gateway.auth.token_cache import TokenCache
    from gateway.transport.outbound import Outbound


@dataclass
class Answer:
    """A small HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class GatewayCheckIO:
    """``CheckIO`` over the gateway's ``UpstreamClient`` (body size capped at 1 MiB)."""

    max_body = 1024 * 1024

    def __init__(self, outbound: "Outbound", tokens: "TokenCache") -> None:
        self.outbound = outbound
        self.tokens = tokens

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float) -> Answer:
        check_custom_host(url, self.outbound.trusted)
        limit = Timeout(min(self.outbound.settings.connect_timeout, timeout), timeout, timeout)
        try:
            response = self.outbound.client.send(
                method, url, headers=dict(headers), body=body, stream=True, timeout=limit, guard=True
            )
        except UpstreamFailure as failure:
            raise OSError(f"{method} {url[:100]} failed: {failure.detail}") from None
        try:
            data = bytearray()
            if method != "HEAD":
                for chunk in response.iter_content():
                    data += chunk
                    if len(data) > self.max_body:
                        break
            return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, bytes(data))
        finally:
            response.close()

    def post_json(self, url: str, payload: Any, headers: Mapping[str, str], timeout: float) -> Answer:
        """POST ``payload`` as JSON."""
        return self._send("POST", url, {"content-type": "application/json", **headers}, orjson.dumps(payload), timeout)

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Answer:
        """GET ``url``."""
        return self._send("GET", url, headers, None, timeout)

    def head(self, url: str, timeout: float) -> Answer:
        """HEAD ``url``."""
        return self._send("HEAD", url, {}, None, timeout)

    def cached(self, key: str, ttl: float, fetch: Callable[[], Any]) -> Any:
        """Return the cached value for ``key`` or fetch and keep it for ``ttl`` seconds."""
        expires = time.time() + ttl + EXPIRY_MARGIN  # the token cache refreshes EXPIRY_MARGIN early
        return self.tokens.get_or_fetch(cache_key("check", key), lambda: (fetch(), expires))
