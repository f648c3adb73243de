"""Price a request's usage in USD, or None when no price is known.

The catalog's price table (``gateway.catalog.pricing.cost_usd``, over ``genai-prices``, the prices
budgets are charged with) is used when it is installed: it keeps each model's rates and prices an
answer in about a microsecond. Without it the ``genai-prices`` package is asked directly, for the
per-token rates (input, cached input, output) once per provider and model, which are then kept:
pricing a request is three multiplications, not a price-table search on the way to the client
(tiered prices are taken at their first tier).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("gateway.observability")

#: The gateway's provider ids whose genai-prices id differs.
PROVIDER_IDS = {
    "azure-openai": "azure",
    "azure-ai": "azure",
    "bedrock": "aws",
    "vertex-ai": "google",
    "google": "google",
    "mistral-ai": "mistral",
    "together-ai": "together",
    "fireworks-ai": "fireworks",
    "x-ai": "x-ai",
}
MILLION = 1_000_000
_UNSET: Any = object()
_catalog_price: Any = _UNSET
#: (provider, model) -> (input, cached input delta, output) USD per token, or None when unpriced.
_rates: dict[tuple[str, str], tuple[float, float, float] | None] = {}
_RATES_CAP = 4096


def _catalog() -> Callable[[str, str, Mapping[str, Any]], float | None] | None:
    global _catalog_price
    if _catalog_price is _UNSET:
        try:  # optional until the catalog lands: imported by name so it stays optional
            priced = importlib.import_module("gateway.catalog.pricing").cost_usd
        except (ImportError, AttributeError):
            priced = None
        _catalog_price = priced
    return _catalog_price


def _lookup(provider: str, model: str) -> tuple[float, float, float] | None:
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        return None
    provider_id = PROVIDER_IDS.get(provider, provider) or None

    def price(**tokens: int) -> float:
        try:
            return float(calc_price(Usage(**tokens), model_ref=model, provider_id=provider_id).total_price)
        except LookupError:
            return float(calc_price(Usage(**tokens), model_ref=model).total_price)

    try:
        base = price(input_tokens=MILLION)
        cached = price(input_tokens=MILLION, cache_read_tokens=MILLION)
        output = price(output_tokens=MILLION)
    except (LookupError, ValueError, TypeError):
        return None
    except Exception:
        log.warning("pricing %s/%s failed", provider, model, exc_info=True)
        return None
    return base / MILLION, (cached - base) / MILLION, output / MILLION


def cost_usd(provider: str | None, model: str | None, usage: Mapping[str, int] | None) -> float | None:
    """The USD cost of ``usage`` (the record's usage shape) on ``model`` at ``provider``, or None."""
    if not provider or not model or not usage:
        return None
    priced = _catalog()
    if priced is not None:
        try:
            value = priced(provider, model, dict(usage))
        except Exception:
            log.warning("catalog pricing failed for %s/%s", provider, model, exc_info=True)
            return None
        return float(value) if value is not None else None
    key = (provider, model)
    if key not in _rates:
        if len(_rates) >= _RATES_CAP:
            _rates.clear()
        _rates[key] = _lookup(provider, model)
    rates = _rates[key]
    if rates is None:
        return None
    rate_in, rate_cached, rate_out = rates
    total = (
        rate_in * usage.get("input_tokens", 0)
        + rate_cached * usage.get("cached_tokens", 0)
        + rate_out * usage.get("output_tokens", 0)
    )
    return round(total, 10)
