"""Call one leaf under the catalog's governance: provider limits before, usage counted after.

Wraps the leaf pipeline (``LeafRunner``) for a request that uses the catalog or a gateway key with
limits. A catalog leaf over its provider's limit answers 429 / 412 without calling the provider (a
fallback may still try the next target); answers get ``x-portkey-catalog-provider``; tokens and
cost are counted from the provider's usage (for streams, from the final usage, when the stream ends).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.catalog import usage as usage_of
from gateway.catalog.errors import BudgetExhausted, LimitsUnavailable, RateLimited
from gateway.catalog.limits import Limiter, Scope
from gateway.catalog.pricing import cost_usd
from gateway.catalog.redact import Redactor, redact
from gateway.core.plan import Leaf
from gateway.core.result import Result, json_result

#: Cache statuses that mean the provider was not called (nothing to count).
_CACHED = ("HIT", "SEMANTIC HIT")


class CatalogCaller:
    """The leaf caller for one request: ``inner`` with limits and accounting around it."""

    def __init__(
        self,
        inner: Callable[[Leaf], Result],
        limiter: Limiter,
        provider_scopes: dict[str, Scope],
        key_scope: Scope | None,
        requested_model: Callable[[Leaf], str | None],
        secrets: Callable[[Leaf], tuple[bytes, ...]] = lambda leaf: (),
    ) -> None:
        self.inner = inner
        self.limiter = limiter
        self.provider_scopes = provider_scopes
        self.key_scope = key_scope
        self.requested_model = requested_model
        self.secrets = secrets

    def __call__(self, leaf: Leaf) -> Result:
        scope = self.provider_scopes.get(leaf.catalog) if leaf.catalog else None
        if scope is not None:
            try:
                self.limiter.admit([scope])
            except (RateLimited, BudgetExhausted, LimitsUnavailable) as error:
                denied = json_result(
                    error.status_code,
                    error.to_dict(),
                    headers=list(error.headers.items()),
                    provider=leaf.provider,
                    path=leaf.path,
                    error_origin="gateway",
                )
                return self._tag(denied, leaf)
        result = self.inner(leaf)
        self._tag(result, leaf)
        secrets = self.secrets(leaf) if leaf.catalog else ()
        if secrets:
            if result.body:
                result.body = redact(result.body, secrets)
            if result.stream is not None:
                result.stream = Redactor(result.stream, secrets)
        scopes = [s for s in (scope, self.key_scope) if s is not None and s.limits.counts_tokens]
        if not result.ok or result.cache_status in _CACHED or not scopes:
            return result
        if result.stream is not None:
            result.stream = usage_of.StreamUsage(result.stream, lambda u, m: self._count(leaf, scopes, u, m))
        else:
            self._count(leaf, scopes, usage_of.from_body(result.body), usage_of.model_of(result.body))
        return result

    def _tag(self, result: Result, leaf: Leaf) -> Result:
        if leaf.catalog:
            result.headers.append(("x-portkey-catalog-provider", leaf.catalog))
        return result

    def _count(self, leaf: Leaf, scopes: list[Scope], found: dict[str, int] | None, model: str | None) -> None:
        if found is None:
            return
        tokens = found["input_tokens"] + found["output_tokens"]
        wants_cost = any(s.limits.budget_usd is not None for s in scopes)
        model = model or self.requested_model(leaf) or ""
        cost = cost_usd(leaf.provider, model, found) if wants_cost else None
        self.limiter.charge(scopes, tokens, cost)


def scope_of(kind: str, name: str, limits: Any) -> Scope | None:
    return Scope(kind, name, limits) if not limits.empty else None
