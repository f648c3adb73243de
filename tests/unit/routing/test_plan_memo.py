"""The plan memo: repeated request options compile once; anything that shapes the plan misses."""

from __future__ import annotations

import pytest

from gateway.core.errors import BadRequest
from gateway.core.options import RequestOptions
from gateway.routing.compiler import compile_plan
from gateway.routing.plan_memo import PlanMemo, plan_key
from gateway.transport.ssrf import TrustedHosts
from translators.registry import build_registry

REGISTRY = build_registry({})
TRUSTED = TrustedHosts(("localhost",))
CONFIG = (
    '{"strategy": {"mode": "fallback"}, "targets": '
    '[{"provider": "openai", "api_key": "sk-a"}, {"provider": "groq", "api_key": "gsk"}]}'
)


def memo(max_entries: int = 512) -> PlanMemo:
    return PlanMemo(lambda opts: compile_plan(opts, REGISTRY, TRUSTED, 5), max_entries)


def test_the_same_config_compiles_once() -> None:
    plans = memo()
    first = plans.plan(RequestOptions(config_text=CONFIG, trace_id="a"))
    second = plans.plan(RequestOptions(config_text=CONFIG, trace_id="b", metadata={"user": "x"}))
    assert first is second and plans.compiled == 1


@pytest.mark.parametrize(
    "change",
    [
        {"api_key": "sk-other"},
        {"custom_host": "http://localhost:9/v1"},
        {"request_timeout": 5.0},
        {"forward_headers": ["x-a"]},
        {"strict_compliance": False},
        {"provider_options": {"openai_project": "p"}},
    ],
)
def test_anything_that_shapes_the_plan_misses(change) -> None:
    plans = memo()
    base = plans.plan(RequestOptions(config_text=CONFIG))
    other = plans.plan(RequestOptions(config_text=CONFIG, **change))
    assert other is not base and plans.compiled == 2


def test_invalid_configs_raise_every_time_and_are_not_kept() -> None:
    plans = memo()
    for _ in range(2):
        with pytest.raises(BadRequest):
            plans.plan(RequestOptions(config_text='{"targets": 3}'))
    assert plans.compiled == 0


def test_the_memo_is_bounded() -> None:
    plans = memo(max_entries=2)
    for key in ("k1", "k2", "k3"):
        plans.plan(RequestOptions(provider="openai", api_key=key))
    plans.plan(RequestOptions(provider="openai", api_key="k1"))  # evicted: compiled again
    assert plans.compiled == 4


def test_the_key_holds_no_credential() -> None:
    key = plan_key(RequestOptions(provider="openai", api_key="sk-secret-123"))
    assert b"sk-secret-123" not in key and len(key) == 32
