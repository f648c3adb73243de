"""Read what the console shows from the gateway state: records, catalog usage, health, models, config checks.

Everything here is duck-typed on the interfaces the state offers: ``state.records`` (the request
record store: ``query``, ``get``, ``subscribe``), ``state.catalog`` (``usage``, ``providers``; None
without a catalog file), ``state.breakers`` and ``state.redis``. Either may be missing, and the
console then says so instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.console import stats
from gateway.core.errors import GatewayError
from gateway.routing.breaker import target_key
from gateway.routing.config_schema import parse_config

#: Most records read to draw the last hour's charts.
SERIES_RECORD_CAP = 10_000
PAGE = 500


def records_of(state: Any) -> Any:
    return getattr(state, "records", None)


def catalog_of(state: Any) -> Any:
    return getattr(state, "catalog", None)


def page(state: Any, filters: dict[str, Any], limit: int, before: str | None) -> dict[str, Any]:
    """One page of records, newest first, with the cursor of the next (older) page."""
    store = records_of(state)
    if store is None:
        return {"records": [], "next": None, "available": False}
    found = list(store.query(filters, limit=limit + 1, before=before))
    more = len(found) > limit
    found = found[:limit]
    return {
        "records": [stats.public_record(r, bodies=False) for r in found],
        "next": found[-1].get("id") if more and found else None,
        "available": True,
    }


def one(state: Any, record_id: str) -> dict[str, Any] | None:
    store = records_of(state)
    record = store.get(record_id) if store is not None else None
    return stats.public_record(record) if record is not None else None


def recent(state: Any, since: float, cap: int = SERIES_RECORD_CAP) -> Iterator[Mapping[str, Any]]:
    """Yield the records since ``since`` (newest first), at most ``cap``."""
    store = records_of(state)
    if store is None:
        return
    before = None
    seen = 0
    while seen < cap:
        want = min(PAGE, cap - seen)
        batch = list(store.query({"since": since}, limit=want, before=before))
        yield from batch
        seen += len(batch)
        if len(batch) < want or batch[-1].get("id") is None:
            return
        before = batch[-1]["id"]


def usage(state: Any, now: float | None = None) -> dict[str, Any]:
    """Usage bars from the catalog and the last hour's charts from the stored records."""
    now = time.time() if now is None else now
    catalog = catalog_of(state)
    rows = stats.usage_rows(catalog.usage()) if catalog is not None else []
    return {
        "catalog": catalog is not None,
        "records": records_of(state) is not None,
        "providers": [row for row in rows if row["kind"] == "provider"],
        "keys": [row for row in rows if row["kind"] == "key"],
        "series": stats.series(recent(state, now - 3600.0), now),
    }


def catalog_models(state: Any) -> dict[str, Any]:
    """Catalog providers (slug, provider id, models, aliases; never their credentials) and the registry's ids."""
    catalog = catalog_of(state)
    entries = []
    for item in catalog.providers() if catalog is not None else []:
        entries.append(
            {
                "slug": item.get("slug"),
                "provider": item.get("provider"),
                "models": list(item.get("models") or []),
                "aliases": dict(item.get("aliases") or {}),
            }
        )
    registry = getattr(state, "registry", None) or {}
    return {"catalog": entries, "providers": sorted(registry)}


def _last_error(state: Any, slug: str) -> dict[str, Any] | None:
    store = records_of(state)
    if store is None:
        return None
    newest = None
    for klass in ("4xx", "5xx"):
        found = list(store.query({"catalog_slug": slug, "status_class": klass}, limit=1, before=None))
        if found and (newest is None or (found[0].get("time") or 0) > (newest.get("time") or 0)):
            newest = found[0]
    if newest is None:
        return None
    shown = stats.public_record(newest, bodies=False)
    return {key: shown.get(key) for key in ("id", "time", "status", "error", "error_origin", "trace_id")}


def _catalog_breaker_key(state: Any, catalog: Any, slug: Any) -> str | None:
    """The breaker key the router uses for a plain ``@slug`` target (no model override, no client options).

    Read from the catalog's entry (provider, host, credential, options) the way
    ``routing.router`` builds it; the credential only goes into the hash.
    """
    providers = getattr(getattr(catalog, "data", None), "providers", None)
    entry = providers.get(slug) if isinstance(providers, Mapping) else None
    if entry is None or not isinstance(getattr(entry, "provider", None), str):
        return None
    spec = (getattr(state, "registry", None) or {}).get(entry.provider)
    host = getattr(entry, "custom_host", None) or getattr(spec, "base_url", "")
    options = getattr(entry, "options", None) or {}
    extra = {k: v for k, v in options.items() if isinstance(v, (str, int, float, bool))}
    return target_key(entry.provider, host, getattr(entry, "api_key", None), extra)


def _breaker(catalog: Any, state: Any, item: Mapping[str, Any]) -> str:
    """The circuit state of a catalog provider: ``closed``, ``open`` or ``unknown``."""
    if "breaker" in item:
        return str(item["breaker"])
    try:
        ask = getattr(catalog, "breaker_state", None)
        if callable(ask):
            return str(ask(item.get("slug")))
        key = item.get("breaker_key") or _catalog_breaker_key(state, catalog, item.get("slug"))
        breakers = getattr(state, "breakers", None)
        if key and breakers is not None and hasattr(breakers, "is_open"):
            return "open" if breakers.is_open(key) else "closed"
    except Exception:  # noqa: BLE001 - health must answer even if one probe fails
        return "unknown"
    return "unknown"


def redis_health(state: Any) -> dict[str, Any]:
    client = getattr(state, "redis", None)
    if client is None:
        return {"configured": False, "reachable": None, "error": None}
    started = time.perf_counter()
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"configured": True, "reachable": False, "error": type(exc).__name__}
    return {"configured": True, "reachable": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def health(state: Any) -> dict[str, Any]:
    catalog = catalog_of(state)
    providers = []
    for item in catalog.providers() if catalog is not None else []:
        slug = item.get("slug")
        providers.append(
            {
                "slug": slug,
                "provider": item.get("provider"),
                "models": len(item.get("models") or []),
                "breaker": _breaker(catalog, state, item),
                "last_error": _last_error(state, slug) if slug else None,
            }
        )
    return {
        "redis": redis_health(state),
        "catalog": catalog is not None,
        "records": records_of(state) is not None,
        "providers": providers,
    }


def _walk_providers(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if not isinstance(node, Mapping):
        return
    provider = node.get("provider")
    if isinstance(provider, str):
        yield stats.dotted(path + ("provider",)), provider
    for index, child in enumerate(node.get("targets") or [] if isinstance(node.get("targets"), list) else []):
        yield from _walk_providers(child, path + ("targets", str(index)))


def validate_config(state: Any, text: str) -> dict[str, Any]:
    """Validate ``x-portkey-config`` text with the gateway's own schema; problems carry their paths."""
    try:
        config = parse_config(text)
    except GatewayError as exc:
        problems = stats.config_problems(exc.errors) if exc.errors else [{"path": "", "message": exc.message}]
        return {"valid": False, "message": exc.message, "errors": problems, "warnings": []}
    warnings = []
    registry = getattr(state, "registry", None) or {}
    slugs = {item.get("slug") for item in catalog_models(state)["catalog"]}
    for path, provider in _walk_providers(config, ()):
        if provider.startswith("@"):
            if provider[1:] not in slugs:
                warnings.append({"path": path, "message": f"no catalog provider named {provider}"})
        elif registry and provider not in registry:
            warnings.append({"path": path, "message": f"unknown provider id {provider!r}"})
    return {"valid": True, "errors": [], "warnings": warnings}
