"""Record prices come from the catalog's price table; unknown models and missing usage are unpriced."""

from __future__ import annotations

import pytest
from genai_prices import Usage, calc_price

from gateway.catalog import pricing
from gateway.observability import cost


def test_a_known_model_is_priced_like_genai_prices() -> None:
    usage = {"input_tokens": 1200, "output_tokens": 300, "cached_tokens": 200, "reasoning_tokens": 0}
    expected = calc_price(
        Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=200),
        model_ref="gpt-4o-mini",
        provider_id="openai",
    ).total_price
    assert cost.cost_usd("openai", "gpt-4o-mini", usage) == pytest.approx(float(expected))


def test_unknown_providers_fall_back_to_the_model() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100, "cached_tokens": 0, "reasoning_tokens": 0}
    assert cost.cost_usd("together-ai", "gpt-4o-mini", usage) == cost.cost_usd("openai", "gpt-4o-mini", usage)


def test_unknown_models_and_missing_usage_are_unpriced() -> None:
    usage = {"input_tokens": 10, "output_tokens": 5, "cached_tokens": 0, "reasoning_tokens": 0}
    assert cost.cost_usd("openai", "mock-model-that-does-not-exist", usage) is None
    assert cost.cost_usd("openai", None, usage) is None
    assert cost.cost_usd("openai", "gpt-4o-mini", None) is None


def test_a_failing_price_table_never_fails_the_request(monkeypatch) -> None:
    def broken(provider, model, usage):
        raise RuntimeError("table broke")

    monkeypatch.setattr(pricing, "cost_usd", broken)
    assert cost.cost_usd("openai", "gpt-4o", {"input_tokens": 1, "output_tokens": 1}) is None
