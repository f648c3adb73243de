"""Prices: the catalog's table when installed, genai-prices otherwise."""

from __future__ import annotations

import sys
import types

import pytest
from genai_prices import Usage, calc_price

from gateway.observability import cost


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(cost, "_catalog_price", cost._UNSET)
    monkeypatch.setattr(cost, "_rates", {})


def test_a_known_model_is_priced_like_genai_prices() -> None:
    usage = {"input_tokens": 1200, "output_tokens": 300, "cached_tokens": 200, "reasoning_tokens": 0}
    expected = calc_price(
        Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=200),
        model_ref="gpt-4o-mini",
        provider_id="openai",
    ).total_price
    assert cost.cost_usd("openai", "gpt-4o-mini", usage) == pytest.approx(float(expected))


def test_provider_ids_are_mapped_and_unknown_providers_fall_back_to_the_model() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100, "cached_tokens": 0, "reasoning_tokens": 0}
    assert cost.cost_usd("together-ai", "gpt-4o-mini", usage) == cost.cost_usd("openai", "gpt-4o-mini", usage)


def test_unknown_models_and_missing_usage_are_unpriced() -> None:
    usage = {"input_tokens": 10, "output_tokens": 5, "cached_tokens": 0, "reasoning_tokens": 0}
    assert cost.cost_usd("openai", "mock-model-that-does-not-exist", usage) is None
    assert cost.cost_usd("openai", None, usage) is None
    assert cost.cost_usd("openai", "gpt-4o-mini", None) is None


def test_the_catalog_price_table_wins_when_installed(monkeypatch) -> None:
    seen = []
    module = types.ModuleType("gateway.catalog.pricing")

    def priced(provider, model, usage):
        seen.append((provider, model, usage))
        return (usage["input_tokens"] * 2 - usage["cached_tokens"] + usage["output_tokens"] * 8) / 1e6

    module.cost_usd = priced
    monkeypatch.setitem(sys.modules, "gateway.catalog", types.ModuleType("gateway.catalog"))
    monkeypatch.setitem(sys.modules, "gateway.catalog.pricing", module)
    usage = {"input_tokens": 1000, "output_tokens": 100, "cached_tokens": 400, "reasoning_tokens": 0}
    assert cost.cost_usd("openai", "anything", usage) == pytest.approx((2000 - 400 + 800) / 1e6)
    assert seen == [("openai", "anything", usage)]


def test_without_the_catalog_genai_prices_rates_are_looked_up_once(monkeypatch) -> None:
    monkeypatch.setattr(cost, "_catalog_price", None)
    usage = {"input_tokens": 1200, "output_tokens": 300, "cached_tokens": 200, "reasoning_tokens": 0}
    expected = calc_price(
        Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=200),
        model_ref="gpt-4o-mini",
        provider_id="openai",
    ).total_price
    assert cost.cost_usd("openai", "gpt-4o-mini", usage) == pytest.approx(float(expected))
    assert ("openai", "gpt-4o-mini") in cost._rates
    assert cost.cost_usd("openai", "no-such-model-xyz", usage) is None


def test_the_catalog_price_table_agrees_on_a_real_model() -> None:
    from gateway.catalog.pricing import cost_usd as catalog_cost

    usage = {"input_tokens": 1200, "output_tokens": 300, "cached_tokens": 200, "reasoning_tokens": 0}
    assert cost.cost_usd("openai", "gpt-4o-mini", usage) == pytest.approx(catalog_cost("openai", "gpt-4o-mini", usage))
