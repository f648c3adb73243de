"""Read one model's prices out of ``genai-prices``, in a process of its own.

``python -m gateway.catalog.price_rates PROVIDER_ID MODEL`` prints the model's per-million-token
prices as JSON (``{"input": [base, [[start, price], ...]], "cache_read": ..., "output": ...}``, or
``null`` when the table does not know the model). The price table and pydantic take about 30 MB
of memory and a few hundred milliseconds to import; a gateway worker asks this command once per
model (``gateway.catalog.pricing``) instead of loading them itself.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

PRICE_KINDS = {"input": "input_mtok", "cache_read": "cache_read_mtok", "output": "output_mtok"}


def _price(value: Any) -> list[Any] | None:
    if value is None:
        return None
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return [float(value), []]
    return [float(value.base), [[int(tier.start), float(tier.price)] for tier in tiers]]


def rates(provider_id: str | None, model: str) -> dict[str, Any] | None:
    """The model's prices (USD per million tokens, with their tiers), or None when unknown.

    The provider's own price first, else the model's wherever the table sells it.
    """
    import genai_prices

    usage = genai_prices.Usage(input_tokens=0, output_tokens=0)
    for candidate in dict.fromkeys((provider_id, None)):
        try:
            price = genai_prices.calc_price(usage, model_ref=model, provider_id=candidate).model_price
        except LookupError:
            continue
        break
    else:
        return None
    return {kind: _price(getattr(price, name, None)) for kind, name in PRICE_KINDS.items()}


def main(argv: list[str]) -> int:
    provider_id, model = argv[0] or None, argv[1]
    sys.stdout.buffer.write(orjson.dumps(rates(provider_id, model)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
