"""Price a request's usage in USD for its record and the ``x-portkey-cost-usd`` header, or None.

The catalog's price table (``gateway.catalog.pricing``: ``genai-prices`` read once per model, the
prices budgets are charged with) prices every answer, so a record and a budget never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from gateway.catalog import pricing

log = logging.getLogger("gateway.observability")


def cost_usd(provider: str | None, model: str | None, usage: Mapping[str, int] | None) -> float | None:
    """The USD cost of ``usage`` (the record's usage shape) on ``model`` at ``provider``, or None."""
    if not provider or not model or not usage:
        return None
    try:
        value = pricing.cost_usd(provider, model, dict(usage))
    except Exception:  # pricing must never fail a request
        log.warning("pricing failed for %s/%s", provider, model, exc_info=True)
        return None
    return round(value, 10) if value is not None else None
