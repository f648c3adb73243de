"""Config documents an attacker controls: depth and size caps, header-safe values (issue 15, items 2 and 3)."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.core.errors import BadRequest, InvalidConfig
from gateway.routing.config_schema import MAX_JSON_DEPTH, MAX_TARGET_DEPTH, MAX_TARGETS, parse_config

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def nested_targets(levels: int) -> dict:
    node: dict = {"provider": "openai", "api_key": "sk-x"}
    for _ in range(levels):
        node = {"strategy": {"mode": "fallback"}, "targets": [node]}
    return node


def test_config_nested_150_levels_is_a_400_not_a_500(client) -> None:
    config = json.dumps(nested_targets(150))
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-portkey-config": config})
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == "failure"
    assert "nest" in json.dumps(body)


def test_deep_json_anywhere_in_the_config_is_refused_without_recursion() -> None:
    inner: dict = {}
    for _ in range(900):
        inner = {"a": inner}
    with pytest.raises(BadRequest) as caught:
        parse_config(json.dumps({"provider": "openai", "override_params": inner}))
    assert str(MAX_JSON_DEPTH) in caught.value.message


def test_target_depth_and_count_caps() -> None:
    parse_config(json.dumps(nested_targets(MAX_TARGET_DEPTH)))
    with pytest.raises(InvalidConfig) as caught:
        parse_config(json.dumps(nested_targets(MAX_TARGET_DEPTH + 1)))
    assert "nest at most" in caught.value.errors[0]
    wide = {"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai"}] * (MAX_TARGETS + 1)}
    with pytest.raises(InvalidConfig) as caught:
        parse_config(json.dumps(wide))
    assert caught.value.param == "targets"
    assert f"at most {MAX_TARGETS} targets" in caught.value.errors[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("api_key", "sk-secret-123\r\nX-Injected: 1"),
        ("api_key", "sk-secret-123\u2028"),
        ("openai_organization", "org\n1"),
        ("openai_project", "proj-\u00e9\u4e2d"),
        ("anthropic_version", "2023-06-01\r\n"),
    ],
)
def test_header_values_with_cr_lf_or_non_latin1_are_a_400_naming_the_field(client, caplog, field, value) -> None:
    config = {"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai", "api_key": "sk-ok"}]}
    config["targets"][0][field] = value
    with caplog.at_level(logging.DEBUG):
        response = client.post("/v1/chat/completions", json=CHAT, headers={"x-portkey-config": json.dumps(config)})
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]["param"] == f"targets[0].{field}"
    assert f"path: targets,0,{field}" in body["errors"][0]
    assert "sk-secret-123" not in caplog.text
    assert "sk-secret-123" not in response.get_data(as_text=True)


def test_latin1_header_values_stay_allowed() -> None:
    parse_config(json.dumps({"provider": "openai", "api_key": "sk-caf\u00e9", "name": "\u4e2d"}))


def test_unhandled_errors_are_logged_without_their_text(app, client, caplog, monkeypatch) -> None:
    def explode(*_args, **_kwargs):
        try:
            raise KeyError("sk-inner-secret")
        except KeyError as inner:
            raise ValueError("Invalid header value b'Bearer sk-live-secret-456'") from inner

    monkeypatch.setattr(app.extensions["gateway"].plans, "plan", explode)
    with caplog.at_level(logging.DEBUG):
        response = client.post("/v1/chat/completions", json=CHAT, headers={"x-portkey-provider": "openai"})
    assert response.status_code == 500
    assert "ValueError" in caplog.text
    assert "KeyError" in caplog.text
    assert "sk-live-secret-456" not in caplog.text
    assert "sk-inner-secret" not in caplog.text


def test_the_semantic_cache_embedding_key_is_header_checked_too() -> None:
    config = {
        "provider": "openai",
        "cache": {"mode": "semantic", "embedding": {"provider": "openai", "api_key": "sk\r\nx"}},
    }
    with pytest.raises(InvalidConfig) as caught:
        parse_config(json.dumps(config))
    assert caught.value.param == "cache.embedding.api_key"
