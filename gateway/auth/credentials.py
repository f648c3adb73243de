"""Resolve provider credentials that need I/O (OAuth tokens, assumed roles), cached until expiry.

Translators are pure; when a provider needs a token first (Vertex AI service accounts, Azure
Entra, Bedrock assumed roles), the gateway fetches it here and passes it in
``Target.credentials``. The fetchers (``gateway/auth/google.py``, ``azure.py``, ``aws.py``) expose
``resolve(outbound, leaf, cache) -> dict`` and are chosen by the leaf's translator adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.auth import aws, azure, google
from gateway.auth.token_cache import TokenCache
from translators.contract import Target

if TYPE_CHECKING:
    from gateway.core.plan import Leaf
    from gateway.transport.outbound import Outbound

Resolver = Callable[["Outbound", "Leaf", TokenCache], dict[str, Any]]

#: Translator adapter name -> the fetcher of its credentials, for providers that need one.
RESOLVERS: dict[str, Resolver] = {
    "vertex": google.resolve,
    "azure": azure.resolve,
    "bedrock": aws.resolve,
}


class Credentials:
    """Resolve a leaf's credentials through the outbound client, with one token cache per worker."""

    def __init__(self, outbound: "Outbound", tokens: TokenCache) -> None:
        self.outbound = outbound
        self.tokens = tokens

    def resolve(self, leaf: "Leaf") -> dict[str, Any]:
        """Return the I/O-resolved credentials a leaf's translator needs (empty when none)."""
        resolver = RESOLVERS.get(leaf.spec.adapter)
        return resolver(self.outbound, leaf, self.tokens) if resolver is not None else {}

    def target(self, leaf: "Leaf", **extra: Any) -> Target:
        """Return what a translator knows of ``leaf``, credentials resolved (may raise ``ProviderError``)."""
        return Target(
            provider=leaf.provider,
            base_url=leaf.spec.base_url,
            custom_host=leaf.custom_host,
            api_key=leaf.api_key,
            options=leaf.options,
            strict=leaf.strict,
            credentials=self.resolve(leaf),
            **extra,
        )
