"""Price an answer's token usage with the maintained ``genai-prices`` table.

``cost_usd(provider, model, usage)`` returns the cost in USD, or None when the table does not know
the model (the request then counts 0 USD against budgets and is reported as unpriced). ``provider``
is a registry id (``openai``, ``azure-openai``, ``bedrock``, ...) and ``usage`` is normalised usage
(``gateway.catalog.usage``) or a provider's own ``usage`` object.

The table (and pydantic under it) costs a worker about 30 MB, so a worker never imports it: the
prices of a model are read once by a child process (``gateway.catalog.price_rates``), kept in
memory and in a small file every worker on the machine shares (keyed by the table's version), and
an answer is then priced by arithmetic, tiers included (a tier's price applies to every token once
the input passes its start, as in the table).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
from functools import lru_cache
from importlib import metadata
from typing import Any

import orjson

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


_RATES_DIR = os.path.join(tempfile.gettempdir(), "portkey-flask-gateway", "prices")
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ASK_TIMEOUT = 60.0
_lock = threading.Lock()
_rates: dict[tuple[str | None, str], dict[str, Any] | None] = {}
_RATES_CAP = 4096
#: (provider id, model) -> the lock held while its prices are read (see ``rates_of``).
_reading: dict[tuple[str | None, str], threading.Lock] = {}


def _table_version() -> str:
    try:
        return metadata.version("genai-prices")
    except metadata.PackageNotFoundError:
        return "none"


def _rates_file(provider_id: str | None, model: str) -> str:
    name = hashlib.sha256(f"{_table_version()}\x1f{provider_id}\x1f{model}".encode()).hexdigest()
    return os.path.join(_RATES_DIR, name + ".json")


def _ask(provider_id: str | None, model: str) -> dict[str, Any] | None:
    """Ask ``gateway.catalog.price_rates`` in a child process (the table stays out of this worker)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)}
    argv = [sys.executable, "-m", "gateway.catalog.price_rates", provider_id or "", model]
    done = subprocess.run(argv, capture_output=True, timeout=_ASK_TIMEOUT, env=env, check=True)
    return orjson.loads(done.stdout)


def rates_of(provider_id: str | None, model: str) -> dict[str, Any] | None:
    """The model's prices, kept in memory and in a file every worker on the machine shares.

    One lookup per model at a time: requests for a model whose prices are being read wait for that
    read instead of each starting a child process (a burst of requests for a new model would
    otherwise start one per request).
    """
    key = (provider_id, model)
    with _lock:
        if key in _rates:
            return _rates[key]
        reading = _reading.get(key)
        if reading is None:
            reading = _reading[key] = threading.Lock()
    with reading:
        with _lock:
            if key in _rates:
                return _rates[key]
        found = _read(provider_id, model)
        with _lock:
            if len(_rates) >= _RATES_CAP:
                _rates.clear()
            _rates[key] = found
            _reading.pop(key, None)
    return found


def _read(provider_id: str | None, model: str) -> dict[str, Any] | None:
    """The prices from the shared file, or from the table in a child process (then kept in the file)."""
    path = _rates_file(provider_id, model)
    try:
        with open(path, "rb") as fh:
            return orjson.loads(fh.read())
    except (OSError, orjson.JSONDecodeError):
        pass
    try:
        found = _ask(provider_id, model)
    except (OSError, subprocess.SubprocessError, orjson.JSONDecodeError) as exc:
        log.warning("price table unavailable for %s (%s); counted as unpriced", model, exc.__class__.__name__)
        return None
    _keep(path, found)
    return found


def _keep(path: str, found: dict[str, Any] | None) -> None:
    try:
        os.makedirs(_RATES_DIR, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as fh:
            fh.write(orjson.dumps(found))
        os.replace(temporary, path)
    except OSError:
        pass  # the memory copy serves this worker; another one asks again


def _per_token(price: list[Any] | None, total_input: int) -> float | None:
    """USD per token: the base price, or the highest tier that total input tokens pass (cliff tiers)."""
    if price is None:
        return None
    rate = price[0]
    for start, tier_price in reversed(price[1]):
        if total_input > start:
            rate = tier_price
            break
    return rate / 1e6


def price_usage(prices: dict[str, Any], tokens: dict[str, int]) -> float:
    """The USD cost of normalised token counts at ``prices`` (``price_rates`` output)."""
    n_in, n_out = tokens["input_tokens"], tokens["output_tokens"]
    n_cached = min(tokens["cached_tokens"], n_in)
    rate_in = _per_token(prices.get("input"), n_in) or 0.0
    rate_cached = _per_token(prices.get("cache_read"), n_in)
    rate_out = _per_token(prices.get("output"), n_in) or 0.0
    return (n_in - n_cached) * rate_in + n_cached * (rate_in if rate_cached is None else rate_cached) + n_out * rate_out


def cost_usd(provider: str, model: str, usage: dict[str, Any]) -> float | None:
    """The USD cost of ``usage`` on ``provider``'s ``model``; None when the price table does not know it."""
    tokens = normalise(usage) if ("prompt_tokens" in usage or "cache_read_input_tokens" in usage) else None
    if tokens is None:
        tokens = {key: int(usage.get(key) or 0) for key in ("input_tokens", "output_tokens", "cached_tokens")}
    if not model:
        return None
    prices = rates_of(_PROVIDER_IDS.get(provider, provider), model)
    if prices is None:
        _unpriced(provider, model)
        return None
    return price_usage(prices, tokens)


@lru_cache(maxsize=1024)
def _unpriced(provider: str, model: str) -> None:
    """Say once per model that it is not in the price table (it counts 0 USD against budgets)."""
    log.info("no price for model %s on %s in genai-prices: counted as 0 USD (unpriced)", model, provider)
