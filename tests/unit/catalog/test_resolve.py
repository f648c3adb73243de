"""Resolving ``@slug`` references: model strings, config targets, bound leaves, and the state's catalog view."""

from __future__ import annotations

import json

import pytest

from gateway import create_app
from gateway.catalog.errors import Forbidden, UnknownSlug
from gateway.catalog.keys import Grant
from gateway.catalog.resolve import SlugRegistry, bind_leaf, lift_body_model, lift_config_models, split_ref
from gateway.catalog.schema import parse
from gateway.core.call import Call
from gateway.core.errors import BadRequest
from gateway.core.options import RequestOptions
from gateway.routing.compiler import compile_plan
from gateway.routing.router import leaves
from gateway.transport.ssrf import TrustedHosts
from translators.registry import build_registry

CATALOG = """
[providers.prod]
provider = "azure-openai"
api_key = "${AZ_KEY}"
custom_host = "https://prod.example.com/openai"
resource_name = "prod-resource"
models = ["gpt-4o"]
aliases = { fast = "gpt-4o-mini" }
[providers.prod.limits]
requests_per_minute = 5
budget_usd = 1.5

[providers.any]
provider = "openai"
api_key = "sk-literal-any"

[keys.team]
key = "gk-team-secret"
providers = ["any"]
[keys.team.limits]
budget_tokens = 1000
"""
DATA = parse(CATALOG, {"AZ_KEY": "az-secret"})
REGISTRY = build_registry({})


def call(body: dict | None = None, **options) -> Call:
    return Call(fn="chatComplete", method="POST", path="/chat/completions", body=body, raw=b"{}",
                options=RequestOptions(**options))  # fmt: skip


def plan_leaves(c: Call, grant: Grant | None = None):
    lift_body_model(c, DATA)
    lift_config_models(c)
    plan = compile_plan(c.options, SlugRegistry(REGISTRY, DATA), TrustedHosts(()), 5)
    bound = list(leaves(plan.root))
    for leaf in bound:
        bind_leaf(leaf, c, DATA, grant, REGISTRY)
    return bound


def test_split_ref() -> None:
    assert split_ref("@Prod/gpt-4o") == ("prod", "gpt-4o")
    assert split_ref("@prod/org/model") == ("prod", "org/model")
    assert split_ref("@prod") == ("prod", None)


def test_a_body_model_binds_credentials_options_and_alias() -> None:
    c = call({"model": "@prod/fast", "messages": []}, custom_host="https://evil.example", api_key="client-key",
             provider_options={"resource_name": "evil", "api_version": "2024-10-21"})  # fmt: skip
    (leaf,) = plan_leaves(c)
    assert c.body["model"] == "fast" and c.raw is None
    assert leaf.provider == "azure-openai" and leaf.catalog == "prod"
    assert leaf.api_key == "az-secret"
    assert leaf.custom_host == "https://prod.example.com/openai" and not leaf.guard_host
    assert leaf.options == {"resource_name": "prod-resource", "api_version": "2024-10-21"}
    assert leaf.override_params["model"] == "gpt-4o-mini"


def test_a_providers_own_at_model_is_left_alone() -> None:
    (leaf,) = plan_leaves(call({"model": "@cf/meta/llama-3.1-8b-instruct"}, provider="openai"))
    assert leaf.catalog is None and leaf.provider == "openai"
    config = json.dumps({"provider": "openai", "api_key": "k"})
    c = call({"model": "@cf/meta/llama-3.1-8b-instruct"}, config_text=config)
    (leaf,) = plan_leaves(c)
    assert leaf.catalog is None and c.body["model"] == "@cf/meta/llama-3.1-8b-instruct"


def test_mixed_config_targets() -> None:
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "openai", "api_key": "sk-inline"},
            {"provider": "@any"},
            {"overrideParams": {"model": "@prod/gpt-4o"}},
        ],
    }
    inline, any_leaf, prod = plan_leaves(call({"model": "m", "messages": []}, config_text=json.dumps(config)))
    assert (inline.provider, inline.catalog, inline.api_key) == ("openai", None, "sk-inline")
    assert (any_leaf.provider, any_leaf.catalog, any_leaf.api_key) == ("openai", "any", "sk-literal-any")
    assert (prod.catalog, prod.override_params["model"]) == ("prod", "gpt-4o")


def test_errors() -> None:
    with pytest.raises(UnknownSlug, match="@nope"):
        plan_leaves(call({"model": "@nope/x"}))
    with pytest.raises(UnknownSlug, match="@nope"):
        plan_leaves(call({"model": "x"}, config_text=json.dumps({"provider": "@nope"})))
    with pytest.raises(Forbidden, match="gpt-3.5"):
        plan_leaves(call({"model": "@prod/gpt-3.5"}))
    team = Grant(DATA.keys["team"], "authorization")
    with pytest.raises(Forbidden, match="team"):
        plan_leaves(call({"model": "@prod/gpt-4o"}), team)
    assert plan_leaves(call({"model": "@any/whatever"}), team)[0].catalog == "any"
    with pytest.raises(BadRequest, match="x-portkey-provider"):
        plan_leaves(call({"model": "@prod/gpt-4o"}, provider="@any"))
    with pytest.raises(BadRequest, match="another catalog provider"):
        plan_leaves(
            call(
                {"model": "x"},
                config_text=json.dumps({"provider": "@any", "override_params": {"model": "@prod/gpt-4o"}}),
            )
        )


def test_state_catalog_views(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AZ_KEY", "az-secret")
    path = tmp_path / "catalog.toml"
    path.write_text(CATALOG)
    app = create_app({"GATEWAY_CATALOG_FILE": str(path), "GATEWAY_LIMITS_DB": str(tmp_path / "l.sqlite3")})
    catalog = app.extensions["gateway"].catalog
    try:
        providers = catalog.providers()
        assert providers[0] == {"slug": "prod", "provider": "azure-openai", "models": ["gpt-4o"],
                                "aliases": {"fast": "gpt-4o-mini"}}  # fmt: skip
        assert "secret" not in json.dumps(providers) and "sk-literal" not in json.dumps(providers)
        usage = {(row["kind"], row["name"]): row for row in catalog.usage()}
        assert usage["provider", "prod"]["limits"] == {"requests_per_minute": 5, "budget_usd": 1.5}
        assert usage["provider", "prod"]["used"] == {"requests_per_minute": 0.0, "budget_usd": 0.0}
        assert usage["key", "team"]["period"] == "month"
        client = app.test_client()
        resp = client.post("/v1/chat/completions", json={"model": "@prod/gpt-4o", "messages": []})
        assert resp.status_code == 401
        headers = {"x-api-key": "gk-team-secret", "x-portkey-config": json.dumps({"provider": "@prod"})}
        body = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        resp = client.post("/v1/messages", json=body, headers=headers)
        assert resp.status_code == 403 and resp.get_json()["type"] == "error"  # Anthropic's envelope
        assert client.get("/v1/models", headers={"x-portkey-api-key": "gk-team-secret"}).get_json()["data"] == []
    finally:
        app.extensions["gateway"].close()
