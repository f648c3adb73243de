"""The Model Catalog of one gateway instance (``state.catalog``): keys, routing, limits, usage.

``authenticate`` finds the caller's gateway key; ``route`` resolves the call's catalog references,
checks the key's limits and routes the plan with ``CatalogCaller`` around each leaf; ``usage`` and
``providers`` describe the catalog for the console (never a credential).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gateway.catalog.caller import CatalogCaller, scope_of
from gateway.catalog.counters import RedisCounters, SQLiteCounters
from gateway.catalog.entries import CatalogData
from gateway.catalog.keys import PROVIDER_KEY_HEADERS, Grant, KeyRing
from gateway.catalog.limits import Limiter, Scope
from gateway.catalog.loader import CatalogFile
from gateway.catalog.redact import secrets_of
from gateway.catalog.resolve import (
    SlugRegistry,
    bind_leaf,
    body_model,
    lift_body_model,
    lift_config_models,
    mentions_catalog,
)
from gateway.core.call import Call
from gateway.core.errors import Unauthorized
from gateway.core.options import RequestOptions
from gateway.core.plan import Leaf, Plan
from gateway.core.result import Result
from gateway.routing.compiler import compile_plan
from gateway.routing.router import leaves
from translators.openai_shapes import include_usage

if TYPE_CHECKING:
    from gateway.core.settings import Settings
    from gateway.web.state import GatewayState

#: Endpoints whose OpenAI streams carry usage only when the request asks for it.
_USAGE_ON_REQUEST = ("chatComplete", "complete")


def default_limits_db() -> str:
    return os.path.join(tempfile.gettempdir(), "portkey-flask-gateway", "limits.sqlite3")


class Catalog:
    """Providers, gateway keys and limits from ``GATEWAY_CATALOG_FILE``."""

    def __init__(self, settings: "Settings", registry: Any, redis: Any = None, environ: Any = None) -> None:
        self.file = CatalogFile(
            settings.catalog_file, set(registry), environ=environ, interval=settings.catalog_reload_interval
        )
        self.file.install_sighup()
        store = RedisCounters(redis) if redis is not None else SQLiteCounters(settings.limits_db or default_limits_db())
        self.limiter = Limiter(store, settings.limits_fail)
        self._unscoped = tuple(settings.api_keys)
        self._ring: tuple[int, KeyRing] | None = None
        self._secrets: dict[str, tuple[Any, tuple[bytes, ...]]] = {}

    @property
    def data(self) -> CatalogData:
        return self.file.current()

    def keyring(self) -> KeyRing:
        data = self.data
        if self._ring is None or self._ring[0] != self.file.generation:
            self._ring = (self.file.generation, KeyRing(data.keys, self._unscoped))
        return self._ring[1]

    @property
    def requires_key(self) -> bool:
        """Whether every ``/v1`` request needs a gateway key (the file has ``[keys]``)."""
        return bool(self.data.keys)

    def authenticate(self, headers: Iterable[tuple[str, str]]) -> Grant:
        """The caller's grant; raise ``Unauthorized`` (401) when no offered key matches."""
        grant = self.keyring().authenticate(headers)
        if grant is None:
            raise Unauthorized(
                "A valid gateway key is required (x-portkey-api-key, or Authorization: Bearer for catalog models)",
                code="invalid_api_key",
            )
        return grant

    def route(self, state: "GatewayState", call: Call, grant: Grant | None) -> Result:
        """Route ``call``, resolving ``@slug`` references and enforcing the catalog's limits."""
        data = self.data
        if grant is not None:
            _drop_key(call, grant)
        key_scope = scope_of("key", grant.name, grant.entry.limits) if grant and grant.entry else None
        if not mentions_catalog(call) and key_scope is None:
            return state.router(call).route(state.plans.plan(call.options))
        lift_body_model(call, data)
        lift_config_models(call)
        plan = self.compile(state, call.options)  # compiled per request: binding changes its leaves
        bound = list(leaves(plan.root))
        for leaf in bound:
            bind_leaf(leaf, call, data, grant, state.registry)
        if grant is not None and grant.entry is not None:  # catalog credentials are shared: cache per gateway key
            call.options.cache_namespace = f"gateway-key:{grant.entry.name}:{call.options.cache_namespace}"
        if key_scope is not None:
            self.limiter.admit([key_scope])
        scopes = {
            leaf.catalog: Scope("provider", leaf.catalog, data.providers[leaf.catalog].limits)
            for leaf in bound
            if leaf.catalog and not data.providers[leaf.catalog].limits.empty
        }
        _ask_for_usage(call, bound, scopes, key_scope)
        router = state.router(call)
        router.caller = CatalogCaller(
            router.caller,
            self.limiter,
            scopes,
            key_scope,
            lambda leaf: _model(call, leaf),
            lambda leaf: self.secrets(leaf),
        )
        return router.route(plan)

    def secrets(self, leaf: Leaf) -> tuple[bytes, ...]:
        """The credentials of a catalog leaf's provider (masked in whatever comes back)."""
        entry = self.data.providers.get(leaf.catalog or "")
        if entry is None:
            return ()
        cached = self._secrets.get(entry.slug)
        if cached is None or cached[0] is not entry:
            cached = (entry, secrets_of(entry.api_key, entry.options))
            self._secrets[entry.slug] = cached
        return cached[1]

    def compile(self, state: "GatewayState", options: RequestOptions) -> Plan:
        """Compile ``options`` knowing the catalog's ``@slug`` providers (leaves not bound to credentials)."""
        settings = state.settings
        return compile_plan(
            options,
            SlugRegistry(state.registry, self.data),
            state.trusted,
            settings.max_retry_attempts,
            settings.semantic_embedding,
        )

    def usage(self) -> list[dict[str, Any]]:
        """Limits and current use of every provider and key that has limits."""
        data = self.data
        scopes = [Scope("provider", e.slug, e.limits) for e in data.providers.values() if not e.limits.empty]
        scopes += [Scope("key", k.name, k.limits) for k in data.keys.values() if not k.limits.empty]
        return self.limiter.usage(scopes)

    def providers(self) -> list[dict[str, Any]]:
        """The catalog's providers without credentials."""
        return [
            {
                "slug": e.slug,
                "provider": e.provider,
                "models": list(e.models) if e.models is not None else [],
                "aliases": dict(e.aliases),
            }
            for e in self.data.providers.values()
        ]

    def close(self) -> None:
        self.limiter.store.close()


def _drop_key(call: Call, grant: Grant) -> None:
    """The gateway key never travels on: remove its header (and a Bearer that carried it from the options)."""
    names = {"x-portkey-api-key", grant.header}
    call.headers = [(k, v) for k, v in call.headers if k.lower() not in names]
    if grant.header in PROVIDER_KEY_HEADERS:
        call.options.api_key = None
    call.options.gateway_key = None


def _model(call: Call, leaf: Leaf) -> str | None:
    model = leaf.override_params.get("model") or body_model(call)
    return model if isinstance(model, str) else None


def _ask_for_usage(call: Call, bound: list[Leaf], scopes: dict[str, Scope], key_scope: Scope | None) -> None:
    """OpenAI chat and completion streams report usage only on request: ask when tokens or spend are counted."""
    if not call.stream or call.format is not None or call.fn not in _USAGE_ON_REQUEST:
        return
    if include_usage(call.body or {}):
        return
    counting_key = key_scope is not None and key_scope.limits.counts_tokens
    for leaf in bound:
        scope = scopes.get(leaf.catalog) if leaf.catalog else None
        if counting_key or (scope is not None and scope.limits.counts_tokens):
            options = (call.body or {}).get("stream_options")
            merged = {**(options if isinstance(options, dict) else {}), "include_usage": True}
            leaf.override_params = {**leaf.override_params, "stream_options": merged}
