"""Price an answer's token usage with the maintained ``genai-prices`` table.

``cost_usd(provider, model, usage)`` returns the cost in USD, or None when the table does not know
the model (the request then counts 0 USD against budgets and is reported as unpriced). ``provider``
is a registry id (``openai``, ``azure-openai``, ``bedrock``, ...) and ``usage`` is normalised usage
(``gateway.catalog.usage``) or a provider's own ``usage`` object.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from typing import Any

from gateway.catalog.usage import normalise

log = logging.getLogger("gateway.catalog.pricing")

#: Registry provider ids whose genai-prices id differs.
_PROVIDER_IDS = {
    "azure-openai": "azure",
    "bedrock": "aws",
    "vertex-ai": "google",
    "mistral-ai": "mistral",
    "together-ai": "together",
    "fireworks-ai": "fireworks",
    "perplexity-ai": "perplexity",
    "novita-ai": "novita",
    "z-ai": "zai",
    "zhipu": "zhipuai",
    "moonshot": "moonshotai",
    "voyage": "voyageai",
}


@lru_cache(maxsize=1)
def _library() -> Any:
    import genai_prices  # loaded on first use: its price table takes a moment to import

    return genai_prices


def _calc(provider_id: str | None, model: str, tokens: dict[str, int]) -> float | None:
    lib = _library()
    usage = lib.Usage(
        input_tokens=tokens["input_tokens"],
        output_tokens=tokens["output_tokens"],
        cache_read_tokens=tokens["cached_tokens"] or None,
    )
    try:
        return float(lib.calc_price(usage, model_ref=model, provider_id=provider_id).total_price)
    except LookupError:
        return None


def _base(price: Any) -> tuple[float, float]:
    """A price per token below its first tier, and the token count where tiers start (inf: none)."""
    if price is None:
        return 0.0, math.inf
    tiers = getattr(price, "tiers", None)
    if tiers is None:
        return float(price) / 1e6, math.inf
    return float(price.base) / 1e6, float(min(tier.start for tier in tiers)) if tiers else math.inf


@lru_cache(maxsize=4096)
def _rates(provider_id: str | None, model: str) -> tuple[float, float, float, float] | None:
    """Per-token input, cache-read and output prices and the tier floor, or None when the model is unknown.

    Looked up once per model: the price table's search costs far more than the arithmetic.
    """
    lib = _library()
    try:
        found = lib.calc_price(lib.Usage(input_tokens=0, output_tokens=0), model_ref=model, provider_id=provider_id)
    except LookupError:
        return None
    price = found.model_price
    (inp, f1), (cached, f2), (out, f3) = (
        _base(getattr(price, name, None)) for name in ("input_mtok", "cache_read_mtok", "output_mtok")
    )
    if getattr(price, "cache_read_mtok", None) is None:
        cached = inp  # no cache price: cache reads cost what input costs
    return inp, cached, out, min(f1, f2, f3)


def _fast(rates: tuple[float, float, float, float], tokens: dict[str, int]) -> float | None:
    """The cost by the base prices, when no token count reaches a tier (else None: ask the table)."""
    inp, cached, out, floor = rates
    n_in, n_out, n_cached = tokens["input_tokens"], tokens["output_tokens"], tokens["cached_tokens"]
    if max(n_in, n_out) >= floor:
        return None
    n_cached = min(n_cached, n_in)
    return (n_in - n_cached) * inp + n_cached * cached + n_out * out


def cost_usd(provider: str, model: str, usage: dict[str, Any]) -> float | None:
    """The USD cost of ``usage`` on ``provider``'s ``model``; None when the price table does not know it."""
    tokens = normalise(usage) if ("prompt_tokens" in usage or "cache_read_input_tokens" in usage) else None
    if tokens is None:
        tokens = {key: int(usage.get(key) or 0) for key in ("input_tokens", "output_tokens", "cached_tokens")}
    if not model:
        return None
    provider_id = _PROVIDER_IDS.get(provider, provider)
    try:
        for candidate in (provider_id, None):  # the provider's own price, else the model's wherever it is sold
            rates = _rates(candidate, model)
            if rates is not None:
                fast = _fast(rates, tokens)
                return fast if fast is not None else _calc(candidate, model, tokens)
    except Exception:  # a broken price table must never fail a request
        log.warning("pricing failed for %s %s", provider, model, exc_info=True)
        return None
    _unpriced(provider, model)
    return None


@lru_cache(maxsize=1024)
def _unpriced(provider: str, model: str) -> None:
    """Say once per model that it is not in the price table (it counts 0 USD against budgets)."""
    log.info("no price for model %s on %s in genai-prices: counted as 0 USD (unpriced)", model, provider)
