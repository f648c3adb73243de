"""The response cache end to end: hits and misses across workers through Redis, tenants, streams, semantic."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support import start_redis

QUESTION = {"model": "gpt-test", "messages": [{"role": "user", "content": "What is the capital of France?"}]}


def sid() -> str:
    return uuid.uuid4().hex[:10]


def ask(
    gateway,
    config: dict,
    body: dict | None = None,
    key: str = "sk-tenant-a",
    new_connection: bool = False,
    **headers: str,
) -> requests.Response:
    hdrs = {"x-portkey-config": json.dumps(config), "Authorization": f"Bearer {key}", **headers}
    if new_connection:
        hdrs["Connection"] = "close"
    return requests.post(gateway.url + "/v1/chat/completions", json=body or QUESTION, headers=hdrs, timeout=15)


def cached_target(mockctl, scenario: str, **cache) -> dict:
    return {"provider": "openai", "custom_host": mockctl.base(id=scenario), "cache": {"mode": "simple", **cache}}


@pytest.fixture(scope="module")
def redis_gateways(gateway_factory, redis_server):
    """Two gateway instances (one gunicorn worker each) sharing one redis-server."""
    return [gateway_factory(GATEWAY_REDIS_URL=redis_server.url) for _ in range(2)]


@pytest.fixture(scope="module")
def redis_gateway(redis_gateways):
    return redis_gateways[0]


def test_miss_then_hit_across_two_workers_through_redis(redis_gateways, mockctl) -> None:
    one, two = redis_gateways
    s = sid()
    config = cached_target(mockctl, s, max_age=60)
    first = ask(one, config)
    assert first.status_code == 200 and first.headers["x-portkey-cache-status"] == "MISS"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: ask((one, two)[i % 2], config, new_connection=True), range(16)))
    assert {a.headers["x-portkey-cache-status"] for a in answers} == {"HIT"}
    assert all(a.json()["choices"] == first.json()["choices"] for a in answers)
    assert len(mockctl.requests(s)) == 1, "the other worker answered from the shared cache"


def test_tenants_never_share_answers(redis_gateway, mockctl) -> None:
    s = sid()
    config = cached_target(mockctl, s)
    assert ask(redis_gateway, config, key="tenant-one").headers["x-portkey-cache-status"] == "MISS"
    assert ask(redis_gateway, config, key="tenant-two").headers["x-portkey-cache-status"] == "MISS"
    assert ask(redis_gateway, config, key="tenant-one").headers["x-portkey-cache-status"] == "HIT"
    assert len(mockctl.requests(s)) == 2


def test_a_streamed_request_is_answered_from_the_cache(gateway, mockctl) -> None:
    s = sid()
    config = cached_target(mockctl, s)
    plain = ask(gateway, config)
    assert plain.headers["x-portkey-cache-status"] == "MISS"
    stream = ask(gateway, config, body={**QUESTION, "stream": True, "stream_options": {"include_usage": True}})
    assert stream.headers["x-portkey-cache-status"] == "HIT"
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = stream.text.strip().split("\n\n")
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == plain.json()["choices"][0]["message"]["content"]
    assert chunks[-1]["usage"] == plain.json()["usage"]
    assert len(mockctl.requests(s)) == 1


def test_a_streamed_answer_is_cached_for_later_requests(gateway, mockctl) -> None:
    s = sid()
    config = cached_target(mockctl, s)
    streamed = ask(gateway, config, body={**QUESTION, "stream": True})
    assert streamed.headers["x-portkey-cache-status"] == "MISS" and streamed.text.endswith("data: [DONE]\n\n")
    again = ask(gateway, config)
    assert again.headers["x-portkey-cache-status"] == "HIT"
    assert again.json()["choices"][0]["message"]["content"] == "echo: What is the capital of France?"


def test_max_age_is_in_seconds_and_force_refresh(gateway, mockctl) -> None:
    s = sid()
    config = cached_target(mockctl, s, max_age=1)
    assert ask(gateway, config).headers["x-portkey-cache-status"] == "MISS"
    assert ask(gateway, config).headers["x-portkey-cache-status"] == "HIT"
    refreshed = ask(gateway, config, **{"x-portkey-cache-force-refresh": "true"})
    assert refreshed.headers["x-portkey-cache-status"] == "REFRESH"
    time.sleep(1.3)
    assert ask(gateway, config).headers["x-portkey-cache-status"] == "MISS"
    assert len(mockctl.requests(s)) == 3


def test_failed_answers_are_not_cached(gateway, mockctl) -> None:
    s = sid()
    config = {"provider": "openai", "custom_host": mockctl.base(id=s, status=500, fail_times=1), "cache": "simple"}
    assert ask(gateway, config).status_code == 500
    second = ask(gateway, config)
    assert second.status_code == 200 and second.headers["x-portkey-cache-status"] == "MISS"
    assert ask(gateway, config).headers["x-portkey-cache-status"] == "HIT"


def test_no_cache_config_reports_disabled(gateway, mockctl) -> None:
    resp = ask(gateway, {"provider": "openai", "custom_host": mockctl.base()})
    assert resp.headers["x-portkey-cache-status"] == "DISABLED"


def test_semantic_hit_through_the_mock_embedding_provider(gateway, mockctl) -> None:
    s = sid()
    config = {
        "provider": "openai",
        "custom_host": mockctl.base(id=s),
        "cache": {
            "mode": "semantic",
            "threshold": 0.9,
            "embedding": {"provider": "openai", "model": "bow-embed", "custom_host": mockctl.base(id=s + "-emb")},
        },
    }
    first = ask(gateway, config)
    assert first.headers["x-portkey-cache-status"] == "SEMANTIC MISS"
    near = ask(
        gateway,
        config,
        body={"model": "gpt-test", "messages": [{"role": "user", "content": "what is the capital of france"}]},
    )
    assert near.headers["x-portkey-cache-status"] == "SEMANTIC HIT"
    assert near.json()["choices"] == first.json()["choices"]
    far = ask(
        gateway,
        config,
        body={"model": "gpt-test", "messages": [{"role": "user", "content": "How tall is the Eiffel tower?"}]},
    )
    assert far.headers["x-portkey-cache-status"] == "SEMANTIC MISS"
    assert len(mockctl.requests(s)) == 2
    assert len(mockctl.requests(s + "-emb")) >= 3


def test_semantic_without_an_embedding_model_is_a_config_error(gateway, mockctl) -> None:
    resp = ask(gateway, {"provider": "openai", "cache": {"mode": "semantic"}})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "cache.mode"


def test_requests_still_succeed_when_redis_stops(gateway_factory, mockctl, log_dir) -> None:
    redis = start_redis(log_dir)
    server = gateway_factory(GATEWAY_REDIS_URL=redis.url)
    s = sid()
    config = cached_target(mockctl, s)
    assert ask(server, config).headers["x-portkey-cache-status"] == "MISS"
    assert ask(server, config).headers["x-portkey-cache-status"] == "HIT"
    redis.stop()
    down = ask(server, config)
    assert down.status_code == 200 and down.headers["x-portkey-cache-status"] == "MISS"
    assert "cache unavailable in Redis" in server.log()


def test_a_cached_messages_answer_serves_both_formats(gateway, mockctl) -> None:
    """Anthropic serves /v1/messages natively, but the cache keeps answers in chat terms for every client format."""
    s = sid()
    config = {
        "provider": "anthropic",
        "api_key": "sk-ant",
        "custom_host": mockctl.base(id=s),
        "cache": {"mode": "simple"},
    }
    headers = {"x-portkey-config": json.dumps(config)}
    message = {"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": f"Cached {s}"}]}
    first = requests.post(gateway.url + "/v1/messages", json=message, headers=headers, timeout=15)
    again = requests.post(gateway.url + "/v1/messages", json=message, headers=headers, timeout=15)
    assert [first.headers["x-portkey-cache-status"], again.headers["x-portkey-cache-status"]] == ["MISS", "HIT"]
    assert first.json()["type"] == again.json()["type"] == "message"
    assert again.json()["content"] == first.json()["content"] == [{"type": "text", "text": f"echo: Cached {s}"}]
    chat = {"model": "claude-x", "max_tokens": 50, "messages": message["messages"]}
    as_chat = requests.post(gateway.url + "/v1/chat/completions", json=chat, headers=headers, timeout=15)
    assert as_chat.headers["x-portkey-cache-status"] == "HIT"
    assert as_chat.json()["choices"][0]["message"]["content"] == f"echo: Cached {s}"
    assert len(mockctl.requests(s)) == 1


def test_legacy_completions_are_cached_and_replayed_as_text_completions(gateway, mockctl) -> None:
    s = sid()
    config = cached_target(mockctl, s)
    hdrs = {"x-portkey-config": json.dumps(config), "Authorization": "Bearer sk-tenant-a"}
    body = {"model": "gpt-instruct", "prompt": f"Once upon {s}"}
    url = gateway.url + "/v1/completions"
    streamed = requests.post(url, json={**body, "stream": True}, headers=hdrs, timeout=15)
    assert streamed.headers["x-portkey-cache-status"] == "MISS" and streamed.text.endswith("data: [DONE]\n\n")
    plain = requests.post(url, json=body, headers=hdrs, timeout=15)
    assert plain.headers["x-portkey-cache-status"] == "HIT"
    assert plain.json()["object"] == "text_completion"
    assert plain.json()["choices"][0]["text"] == f"echo: Once upon {s}"
    replayed = requests.post(url, json={**body, "stream": True}, headers=hdrs, timeout=15)
    assert replayed.headers["x-portkey-cache-status"] == "HIT"
    events = replayed.text.strip().split("\n\n")
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == f"echo: Once upon {s}"
    assert len(mockctl.requests(s)) == 1
