"""Prices: the rates read out of genai-prices in a child process price usage as the table itself does."""

from __future__ import annotations

import random
import sys

import pytest
from genai_prices import Usage, calc_price

from gateway.catalog import pricing

MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),  # tiered above 200k input tokens
    ("google", "gemini-2.5-pro"),
    ("mistral-ai", "mistral-large-latest"),
]


def table(provider_id: str, model: str, tokens: dict[str, int]) -> float:
    usage = Usage(
        input_tokens=tokens["input_tokens"],
        output_tokens=tokens["output_tokens"],
        cache_read_tokens=tokens["cached_tokens"] or None,
    )
    try:
        return float(calc_price(usage, model_ref=model, provider_id=provider_id).total_price)
    except LookupError:
        return float(calc_price(usage, model_ref=model).total_price)


@pytest.fixture(autouse=True)
def _own_rates_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(pricing, "_RATES_DIR", str(tmp_path))
    monkeypatch.setattr(pricing, "_rates", {})


@pytest.mark.parametrize(("provider", "model"), MODELS)
def test_rates_price_usage_as_the_table_does(provider, model) -> None:
    rng = random.Random(7)
    provider_id = pricing._PROVIDER_IDS.get(provider, provider)
    for _ in range(40):
        n_in = rng.randint(0, 400_000)
        tokens = {"input_tokens": n_in, "output_tokens": rng.randint(0, 60_000), "cached_tokens": rng.randint(0, n_in)}
        expected = table(provider_id, model, tokens)
        assert pricing.cost_usd(provider, model, tokens) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_an_unknown_model_is_unpriced() -> None:
    assert pricing.cost_usd("openai", "no-such-model-xyz", {"input_tokens": 10, "output_tokens": 1}) is None


def test_a_model_is_asked_once_per_machine(monkeypatch) -> None:
    asked = []
    real = pricing._ask
    monkeypatch.setattr(pricing, "_ask", lambda p, m: asked.append(m) or real(p, m))
    usage = {"input_tokens": 1000, "output_tokens": 10}
    first = pricing.cost_usd("openai", "gpt-4o-mini", usage)
    monkeypatch.setattr(pricing, "_rates", {})  # another worker: memory empty, the shared file is there
    assert pricing.cost_usd("openai", "gpt-4o-mini", usage) == first
    assert asked == ["gpt-4o-mini"]


def test_a_worker_never_imports_the_price_table() -> None:
    import subprocess

    code = (
        "import sys; from gateway.catalog import pricing; "
        "pricing.cost_usd('openai', 'gpt-4o', {'input_tokens': 5, 'output_tokens': 5}); "
        "print('genai_prices' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=pricing._ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_a_broken_price_reader_leaves_answers_unpriced(monkeypatch) -> None:
    def broken(provider_id, model):
        raise OSError("no python")

    monkeypatch.setattr(pricing, "_ask", broken)
    assert pricing.cost_usd("openai", "gpt-4o", {"input_tokens": 5, "output_tokens": 5}) is None


def test_a_burst_for_a_new_model_reads_its_prices_once(monkeypatch) -> None:
    import threading
    import time

    asked = []

    def slow(provider_id, model):
        asked.append(model)
        time.sleep(0.2)  # a child process reading the table
        return {"input": [2.0, []], "output": [8.0, []]}

    monkeypatch.setattr(pricing, "_ask", slow)
    costs = []
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}
    threads = [
        threading.Thread(target=lambda: costs.append(pricing.cost_usd("openai", "burst-model", usage)))
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert asked == ["burst-model"]
    assert costs == [2.0] * 16
