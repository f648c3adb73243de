"""Routing decisions without a network: strategies, conditions, retries, backoff and circuit breaking."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from gateway.core.call import Call
from gateway.core.errors import BadRequest, InvalidConfig
from gateway.core.options import parse_request_headers
from gateway.core.plan import Leaf, RetryPolicy
from gateway.core.result import Result
from gateway.core.settings import DEFAULT_TRUSTED_HOSTS
from gateway.pipeline.retry import Backoff, backoff_delay, retry_after_seconds, run_with_retries
from gateway.routing.breaker import BreakerConfig, MemoryBreakerStore
from gateway.routing.compiler import compile_plan
from gateway.routing.conditions import RoutingError, choose, matches, query_problem
from gateway.routing.router import Router
from gateway.transport.ssrf import TrustedHosts
from translators.registry import build_registry

REGISTRY = build_registry()
TRUSTED = TrustedHosts(DEFAULT_TRUSTED_HOSTS)


def plan(config: str, **headers: str):
    return compile_plan(parse_request_headers({"x-portkey-config": config, **headers}), REGISTRY, TRUSTED, 5)


class FakeState:
    def __init__(self) -> None:
        self.breakers = MemoryBreakerStore()


class Script:
    """A fake leaf caller: answers per provider from a script and records the order of calls."""

    def __init__(self, answers: dict[str, list[int]]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.calls: list[str] = []

    def __call__(self, leaf: Leaf) -> Result:
        key = leaf.name or leaf.provider
        self.calls.append(key)
        statuses = self.answers[key]
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return Result(status, provider=leaf.provider, path=leaf.path, network_failure=status == 502)


def route(config: str, script: Script, body: dict | None = None, rng=random.random, state=None, **headers: str):
    call = Call(
        fn="chatComplete",
        method="POST",
        path="/chat/completions",
        options=parse_request_headers({"x-portkey-config": config, **headers}),
        body=body or {},
    )
    router = Router(call, script, (state or FakeState()).breakers, rng=rng)
    return router.route(plan(config, **headers))


# -- strategies ----------------------------------------------------------------------------------


def test_fallback_tries_in_order_until_success() -> None:
    script = Script({"a": [500], "b": [429], "c": [200]})
    config = (
        '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","name":"a"},'
        '{"provider":"groq","name":"b"},{"provider":"together-ai","name":"c"}]}'
    )
    result = route(config, script)
    assert (result.status, result.path, script.calls) == (200, "config.targets[2]", ["a", "b", "c"])


def test_fallback_on_status_codes_is_honoured_exactly() -> None:
    config = (
        '{"strategy":{"mode":"fallback","on_status_codes":[429]},"targets":[{"provider":"openai","name":"a"},'
        '{"provider":"groq","name":"b"}]}'
    )
    script = Script({"a": [500], "b": [200]})
    assert route(config, script).status == 500 and script.calls == ["a"]
    script = Script({"a": [429], "b": [200]})
    assert route(config, script).status == 200 and script.calls == ["a", "b"]


def test_fallback_stops_on_a_gateway_exception() -> None:
    class Raising(Script):
        def __call__(self, leaf: Leaf) -> Result:
            self.calls.append(leaf.name)
            return Result(400, path=leaf.path, gateway_exception=True)

    script = Raising({})
    config = (
        '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","name":"a"},{"provider":"groq","name":"b"}]}'
    )
    assert route(config, script).gateway_exception and script.calls == ["a"]


def test_fallback_returns_the_last_failure() -> None:
    script = Script({"a": [500], "b": [503]})
    config = (
        '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","name":"a"},{"provider":"groq","name":"b"}]}'
    )
    result = route(config, script)
    assert (result.status, result.path) == (503, "config.targets[1]")


def test_loadbalance_follows_weights_and_never_picks_zero() -> None:
    config = (
        '{"strategy":{"mode":"loadbalance"},"targets":[{"provider":"openai","name":"a","weight":3},'
        '{"provider":"groq","name":"b"},{"provider":"together-ai","name":"z","weight":0}]}'
    )
    rng = random.Random(7)
    script = Script({"a": [200], "b": [200], "z": [200]})
    for _ in range(4000):
        route(config, script, rng=rng.random)
    counts = Counter(script.calls)
    assert counts["z"] == 0
    assert 0.72 < counts["a"] / 4000 < 0.78


def test_loadbalance_with_all_zero_weights_is_a_config_error() -> None:
    with pytest.raises(InvalidConfig) as info:
        plan('{"strategy":{"mode":"loadbalance"},"targets":[{"provider":"openai","weight":0}]}')
    assert info.value.errors[0].startswith("path: targets, message: At least one loadbalance target")


def test_nested_paths_are_reported() -> None:
    config = (
        '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","name":"a"},'
        '{"strategy":{"mode":"loadbalance"},"targets":[{"provider":"groq","name":"b","weight":0},'
        '{"provider":"together-ai","name":"c"}]}]}'
    )
    script = Script({"a": [500], "b": [200], "c": [200]})
    result = route(config, script)
    assert result.path == "config.targets[1].targets[1]" and script.calls == ["a", "c"]


def test_single_mode_uses_the_first_target() -> None:
    script = Script({"a": [200], "b": [200]})
    config = (
        '{"strategy":{"mode":"single"},"targets":[{"provider":"openai","name":"a"},{"provider":"groq","name":"b"}]}'
    )
    assert route(config, script).path == "config.targets[0]"


# -- conditional ---------------------------------------------------------------------------------

CONDITIONAL = """{
  "strategy": {"mode": "conditional", "conditions": [
      {"query": {"metadata.user.plan": {"$eq": "pro"}}, "then": "big"},
      {"query": {"$or": [{"params.model": {"$regex": "^mini"}}, {"metadata.tier": {"$in": ["free", "trial"]}}]},
       "then": "small"}
  ], "default": "small"},
  "targets": [{"provider": "openai", "name": "big"}, {"provider": "groq", "name": "small"}]
}"""


def test_conditional_routes_by_nested_metadata_and_params() -> None:
    script = Script({"big": [200], "small": [200]})
    assert route(CONDITIONAL, script, **{"x-portkey-metadata": '{"user": {"plan": "pro"}}'}).path == "config.targets[0]"
    assert route(CONDITIONAL, script, body={"model": "mini-3"}).path == "config.targets[1]"
    assert route(CONDITIONAL, script, body={"model": "large"}).path == "config.targets[1]"  # default


def test_conditional_without_match_or_default_is_400() -> None:
    config = CONDITIONAL.replace(', "default": "small"', "")
    script = Script({"big": [200], "small": [200]})
    with pytest.raises(RoutingError, match="did not resolve to any valid target"):
        route(config, script, body={"model": "large"})


@pytest.mark.parametrize(
    ("query", "context", "expected"),
    [
        ({"metadata.a": 1}, {"metadata": {"a": 1}}, True),
        ({"metadata.a": "1"}, {"metadata": {"a": 1}}, False),
        ({"metadata.a": True}, {"metadata": {"a": 1}}, False),
        ({"metadata.a": {"$ne": 2}}, {"metadata": {"a": 1}}, True),
        ({"metadata.a": {"$gt": "5"}}, {"metadata": {"a": "10"}}, True),
        ({"metadata.a": {"$gte": 10, "$lt": 11}}, {"metadata": {"a": 10}}, True),
        ({"metadata.a": {"$lte": 1}}, {"metadata": {"a": "x"}}, False),
        ({"metadata.a": {"$nin": ["x"]}}, {"metadata": {}}, True),
        ({"metadata.a": {"$in": ["x"]}}, {"metadata": {}}, False),
        ({"params.messages.0.role": "user"}, {"params": {"messages": [{"role": "user"}]}}, True),
        ({"url.pathname": {"$regex": "/chat/"}}, {"url": {"pathname": "/v1/chat/completions"}}, True),
        ({"$and": [{"metadata.a": 1}, {"metadata.b": 2}]}, {"metadata": {"a": 1, "b": 2}}, True),
        ({"$and": [{"metadata.a": 1}, {"metadata.b": 3}]}, {"metadata": {"a": 1, "b": 2}}, False),
        ({"metadata.a": 1, "metadata.b": 3}, {"metadata": {"a": 1, "b": 2}}, False),
        ({"metadata.a": {"x": 1}}, {"metadata": {"a": {"x": 1}}}, True),
    ],
)
def test_query_operators(query, context, expected) -> None:
    assert matches(query, context) is expected


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"metadata.a": {"$like": 1}}, "Unknown operator $like"),
        ({"$xor": []}, "Unknown operator $xor"),
        ({"$and": {}}, "$and needs a non-empty list"),
        ({"metadata.a": {"$in": "x"}}, "$in needs a list"),
        ({"metadata.a": {"$regex": "("}}, "Invalid $regex"),
    ],
)
def test_malformed_queries_are_config_errors_with_a_path(query, fragment) -> None:
    import json

    config = json.dumps(
        {
            "strategy": {"mode": "conditional", "conditions": [{"query": query, "then": "a"}]},
            "targets": [{"provider": "openai", "name": "a"}],
        }
    )
    with pytest.raises(InvalidConfig) as info:
        plan(config)
    assert fragment in info.value.errors[0]
    assert info.value.param.startswith("strategy.conditions[0].query")
    assert query_problem(query) is not None


def test_unknown_target_name_is_a_config_error() -> None:
    config = (
        '{"strategy":{"mode":"conditional","conditions":[{"query":{"metadata.a":1},"then":"nope"}]},'
        '"targets":[{"provider":"openai","name":"a"}]}'
    )
    with pytest.raises(InvalidConfig) as info:
        plan(config)
    assert info.value.errors == ["path: strategy,conditions,0,then, message: Unknown target name: nope"]


def test_retry_attempts_over_the_cap_is_a_config_error() -> None:
    with pytest.raises(InvalidConfig) as info:
        plan('{"provider":"openai","retry":{"attempts":9}}')
    assert info.value.param == "retry.attempts"


def test_choose_without_conditions_matching_uses_default() -> None:
    assert choose([{"query": {"metadata.x": 1}, "then": "a"}], "b", {"metadata": {}}) == "b"
    with pytest.raises(BadRequest):
        choose([], None, {})


# -- retries -------------------------------------------------------------------------------------


class Attempt:
    def __init__(self, status: int, headers: dict[str, str] | None = None, network: bool = False) -> None:
        self.status = status
        self.network_failure = network
        self.retry_count = 0
        self._headers = headers or {}
        self.closed = False

    def header(self, name: str) -> str | None:
        return self._headers.get(name)

    def close(self) -> None:
        self.closed = True


def run(statuses: list[Attempt], policy: RetryPolicy, budget: float = 60.0):
    sleeps: list[float] = []
    queue = list(statuses)
    result = run_with_retries(
        lambda: queue.pop(0), policy, Backoff(1.0, 8.0, budget), sleep=sleeps.append, clock=lambda: sum(sleeps)
    )
    return result, sleeps


def test_retries_until_success_with_capped_jittered_backoff() -> None:
    policy = RetryPolicy(3, (500,), False, True)
    result, sleeps = run([Attempt(500), Attempt(500), Attempt(500), Attempt(200)], policy)
    assert result.status == 200 and result.retry_count == 3
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0
    for index in range(10):
        assert backoff_delay(index, Backoff(1.0, 8.0)) <= 8.0


def test_exhausted_retries_report_minus_one() -> None:
    result, sleeps = run([Attempt(500)] * 4, RetryPolicy(3, (500,), False, True))
    assert result.retry_count == -1 and len(sleeps) == 3


def test_non_retriable_status_returns_at_once_with_the_real_count() -> None:
    result, _sleeps = run([Attempt(500), Attempt(400)], RetryPolicy(3, (500,), False, True))
    assert result.status == 400 and result.retry_count == 1


def test_no_retry_policy_means_count_zero_not_minus_one() -> None:
    result, sleeps = run([Attempt(500)], RetryPolicy())
    assert result.retry_count == 0 and sleeps == []


def test_network_failures_are_retried_whatever_the_codes() -> None:
    result, _ = run([Attempt(502, network=True), Attempt(200)], RetryPolicy(1, (429,), False, True))
    assert result.status == 200 and result.retry_count == 1


def test_retry_after_headers_replace_the_backoff() -> None:
    policy = RetryPolicy(2, (429,), True, True)
    _, sleeps = run(
        [Attempt(429, {"retry-after-ms": "1500"}), Attempt(429, {"retry-after": "3"}), Attempt(200)], policy
    )
    assert sleeps == [1.5, 3.0]
    _, sleeps = run([Attempt(429, {"x-ms-retry-after-ms": "250"}), Attempt(200)], policy)
    assert sleeps == [0.25]


def test_retry_after_beyond_the_budget_stops_with_minus_one() -> None:
    result, sleeps = run([Attempt(429, {"retry-after": "120"}), Attempt(200)], RetryPolicy(2, (429,), True, True))
    assert result.retry_count == -1 and sleeps == []


def test_retry_after_http_date() -> None:
    attempt = Attempt(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after_seconds(attempt, now=1445412470.0) == pytest.approx(10.0)


# -- circuit breaker -----------------------------------------------------------------------------


def test_memory_breaker_state_machine() -> None:
    now = [1000.0]
    store = MemoryBreakerStore(clock=lambda: now[0])
    cfg = BreakerConfig(failure_threshold=3, cooldown=10)
    for _ in range(2):
        store.record("t", cfg, failed=True)
    assert store.allow("t", cfg)
    store.record("t", cfg, failed=True)
    assert not store.allow("t", cfg) and store.is_open("t")
    now[0] += 10.5  # cooldown over: one half-open probe passes, others wait
    assert store.allow("t", cfg)
    assert not store.allow("t", cfg)
    store.record("t", cfg, failed=True)  # the probe failed: open again
    assert not store.allow("t", cfg)
    now[0] += 11
    assert store.allow("t", cfg)
    store.record("t", cfg, failed=False)  # the probe succeeded: closed
    assert store.allow("t", cfg) and store.allow("t", cfg)


def test_open_targets_are_skipped_by_fallback_and_loadbalance() -> None:
    state = FakeState()
    config = (
        '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","name":"a",'
        '"circuit_breaker":{"failure_threshold":2,"cooldown":60}},{"provider":"groq","name":"b"}]}'
    )
    script = Script({"a": [500], "b": [200]})
    for _ in range(5):
        assert route(config, script, state=state).status == 200
    assert script.calls == ["a", "b", "a", "b", "b", "b", "b"]  # opened after two failures
    lb = (
        '{"strategy":{"mode":"loadbalance"},"circuit_breaker":{"failure_threshold":1,"cooldown":60},'
        '"targets":[{"provider":"openai","name":"a"},{"provider":"groq","name":"b"}]}'
    )
    script = Script({"a": [500], "b": [200]})
    state = FakeState()  # the same openai target is already open in the first state
    rng = random.Random(1)
    for _ in range(50):
        route(lb, script, rng=rng.random, state=state)
    assert script.calls.count("a") == 1  # after one failure the open target is never picked


def test_a_route_whose_circuits_are_all_open_answers_503() -> None:
    state = FakeState()
    config = '{"provider":"openai","circuit_breaker":{"failure_threshold":1,"cooldown":60}}'
    script = Script({"openai": [500]})
    assert route(config, script, state=state).status == 500
    result = route(config, script, state=state)
    assert result.status == 503 and b"circuit" in result.body and script.calls == ["openai"]


def test_token_cache_fetches_once_for_concurrent_cold_callers() -> None:
    import threading
    import time as _time

    from gateway.auth.token_cache import TokenCache

    cache = TokenCache()
    calls = []

    def fetch():
        calls.append(1)
        _time.sleep(0.05)
        return "token", _time.time() + 3600

    threads = [threading.Thread(target=lambda: cache.get_or_fetch("k", fetch)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and cache.get_or_fetch("k", fetch) == "token"
