"""Hold the per-app gateway state stored in ``app.extensions["gateway"]``.

Built once per worker by ``Gateway.init_app``: the settings, the provider registry, the
trusted-host list, the upstream client (one pooled session), the circuit-breaker store and
an optional Redis client. Views reach it with ``current_state()``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app

from gateway.auth.credentials import Credentials
from gateway.auth.token_cache import TokenCache
from gateway.cache.backends import MemoryCache, RedisCache
from gateway.cache.lookup import ResponseCache
from gateway.cache.semantic import SemanticIndex, embed
from gateway.core.call import Call
from gateway.core.options import RequestOptions
from gateway.core.plan import Plan
from gateway.core.settings import DEFAULTS, Settings
from gateway.guardrails.network_access import GatewayCheckIO
from gateway.observability.telemetry import Telemetry
from gateway.pipeline.caller import LeafCaller
from gateway.pipeline.runner import LeafRunner
from gateway.routing.breaker import MemoryBreakerStore, RedisBreakerStore
from gateway.routing.compiler import compile_plan
from gateway.routing.plan_memo import PlanMemo
from gateway.routing.router import Router
from gateway.stores.responses_state import RedisResponseStore, SQLiteResponseStore
from gateway.transport.client import UpstreamClient
from gateway.transport.outbound import Outbound
from gateway.transport.ssrf import TrustedHosts
from translators.registry import ProviderSpec, build_registry

log = logging.getLogger("gateway")

EXTENSION_KEY = "gateway"


class GatewayState:
    """Everything one gateway instance needs to serve requests."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.registry: dict[str, ProviderSpec] = build_registry(settings.providers)
        self.trusted = TrustedHosts(settings.trusted_hosts)
        self.client = UpstreamClient(settings, self.trusted)
        self.sleep = sleep
        self.redis = _redis_client(settings) if settings.redis_url else None
        self.breakers: Any = RedisBreakerStore(self.redis) if self.redis is not None else MemoryBreakerStore()
        self.outbound = Outbound(settings, self.client, self.trusted)
        self.tokens = TokenCache()
        self.credentials = Credentials(self.outbound, self.tokens)
        self.plans = PlanMemo(self._compile)
        self.cache: Any = RedisCache(self.redis) if self.redis is not None else MemoryCache(settings.cache_max_bytes)
        self.semantic = SemanticIndex(self.redis)
        self.response_cache = ResponseCache(self.cache, self.semantic, self._embed, settings.semantic_embedding)
        self.check_io = GatewayCheckIO(self.outbound, self.tokens)
        self._responses: Any = None
        #: The Model Catalog (``GATEWAY_CATALOG_FILE``), None without one.
        self.catalog: Any = None
        if settings.catalog_file:
            from gateway.catalog.catalog import Catalog

            self.catalog = Catalog(settings, self.registry, self.redis)
        self.telemetry = Telemetry(settings, self.registry, self.redis, self.breakers)
        #: The request record store (``gateway.observability.store``), or None when records are off.
        self.records: Any = self.telemetry.records

    def responses_store(self) -> Any:
        """The Responses state store: Redis when configured, else an SQLite file (opened on first use)."""
        if self._responses is None:
            if self.redis is not None:
                self._responses = RedisResponseStore(self.redis, self.settings.responses_ttl)
            else:
                path = self.settings.responses_db or os.path.join(
                    tempfile.gettempdir(), "portkey-flask-gateway", "responses.sqlite3"
                )
                self._responses = SQLiteResponseStore(path, self.settings.responses_ttl)
        return self._responses

    def router(self, call: Call) -> Router:
        """The router for one call, with its leaf pipeline."""
        runner = LeafRunner(call, self._caller, self.check_io, self.response_cache)
        return Router(call, runner, self.breakers)

    def _caller(self, call: Call) -> LeafCaller:
        return LeafCaller(call, self.outbound, self.credentials, self.sleep)

    def _embed(self, config: Mapping[str, Any], text: str, untrusted: bool) -> Any:
        return embed(self.outbound, self.registry, config, text, untrusted=untrusted)

    def _compile(self, opts: RequestOptions) -> Plan:
        settings = self.settings
        return compile_plan(opts, self.registry, self.trusted, settings.max_retry_attempts, settings.semantic_embedding)

    def close(self) -> None:
        """Release pooled connections."""
        self.client.close()
        if self.catalog is not None:
            self.catalog.close()
        self.telemetry.close()
        if self._responses is not None:
            self._responses.close()
        if self.redis is not None:
            self.redis.close()


def _redis_client(settings: Settings) -> Any:
    from gateway.stores.redis_guard import guarded_client

    return guarded_client(
        settings.redis_url, settings.redis_timeout, settings.redis_backoff, settings.redis_request_budget
    )


def current_state() -> GatewayState:
    """Return the gateway state of the current Flask app."""
    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("the gateway is not initialised on this app: call Gateway().init_app(app)") from None


def install_state(app: Flask) -> GatewayState:
    """Build the gateway state for ``app`` from its ``GATEWAY_*`` config (over the defaults) and store it."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    state = app.extensions[EXTENSION_KEY] = GatewayState(Settings.from_mapping(app.config))
    _warn_if_unpatched()
    return state


def _warn_if_unpatched() -> None:
    """Warn when running under gevent without monkey-patching (streams would block the worker)."""
    import os
    import sys

    if "gevent" not in sys.modules or "gevent" not in os.environ.get("SERVER_SOFTWARE", "").lower():
        return
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        log.warning("gevent is loaded but the socket module is not patched; upstream calls will block the worker")
