"""Prices: the per-model rates remembered from genai-prices give the table's own answer."""

from __future__ import annotations

import random

import pytest

from gateway.catalog import pricing

MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),  # tiered above 200k input tokens
    ("google", "gemini-2.5-pro"),
    ("mistral-ai", "mistral-large-latest"),
]


@pytest.mark.parametrize(("provider", "model"), MODELS)
def test_remembered_rates_agree_with_the_price_table(provider, model) -> None:
    rng = random.Random(7)
    provider_id = pricing._PROVIDER_IDS.get(provider, provider)
    for _ in range(40):
        n_in = rng.randint(0, 400_000)
        tokens = {"input_tokens": n_in, "output_tokens": rng.randint(0, 60_000), "cached_tokens": rng.randint(0, n_in)}
        expected = pricing._calc(provider_id, model, tokens)
        if expected is None:
            expected = pricing._calc(None, model, tokens)
        assert expected is not None
        assert pricing.cost_usd(provider, model, tokens) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_an_unknown_model_is_unpriced() -> None:
    assert pricing.cost_usd("openai", "no-such-model-xyz", {"input_tokens": 10, "output_tokens": 1}) is None
