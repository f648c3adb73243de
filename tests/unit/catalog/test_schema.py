"""The catalog file: marshmallow validation, ${NAME} substitution, every error with its path."""

from __future__ import annotations

import hashlib

import pytest

from gateway.catalog.schema import CatalogError, check_registry, parse

GOOD = """
[providers.openai-prod]
provider = "OpenAI"
api_key = "${OPENAI_API_KEY}"
custom_host = "https://llm.internal.example/v1"
models = ["gpt-4o", "gpt-4o-mini"]
aliases = { fast = "gpt-4o-mini" }
openai_organization = "org-1"
[providers.openai-prod.limits]
requests_per_minute = 600
tokens_per_minute = 200000
budget_usd = 100.0
budget_period = "week"

[keys.team-a]
key = "${TEAM_A_KEY}"
providers = ["openai-prod"]
[keys.team-a.limits]
budget_usd = 20

[keys.ops]
key_sha256 = "HASH"
""".replace("HASH", hashlib.sha256(b"ops-secret-key").hexdigest())

ENV = {"OPENAI_API_KEY": "sk-from-env", "TEAM_A_KEY": "gk-team-a-0001"}


def test_a_good_file() -> None:
    data = parse(GOOD, ENV)
    entry = data.providers["openai-prod"]
    assert entry.provider == "openai"
    assert entry.api_key == "sk-from-env"
    assert entry.options == {"openai_organization": "org-1"}
    assert entry.resolve_model("fast") == "gpt-4o-mini"
    assert entry.allows("gpt-4o") and entry.allows("fast") and not entry.allows("gpt-5")
    assert entry.limits.set() == {
        "requests_per_minute": 600,
        "tokens_per_minute": 200000,
        "budget_usd": 100.0,
    }
    assert entry.limits.budget_period == "week"
    assert data.keys["team-a"].key == "gk-team-a-0001"
    assert data.keys["team-a"].providers == ("openai-prod",)
    assert data.keys["team-a"].limits.budget_usd == 20.0
    assert data.keys["ops"].key is None and len(data.keys["ops"].key_sha256) == 64
    assert data.warnings == ()


def test_literal_secrets_are_warned_about_without_their_value() -> None:
    data = parse('[providers.p]\nprovider = "openai"\napi_key = "sk-literal-123"\n', {})
    assert data.warnings and "p" in data.warnings[0]
    assert "sk-literal-123" not in " ".join(data.warnings)


def test_every_problem_is_reported_with_its_path() -> None:
    text = """
[providers.Bad]
provider = "openai"
[providers.p]
api_key = "${MISSING_VAR}"
retry = { attempts = 2 }
custom_host = "not a url"
[providers.p.limits]
budget_period = "year"
tokens_per_day = 1.5
unknown_limit = 3
[keys.k]
key = "${ALSO_MISSING}"
key_sha256 = "abc"
[keys.j]
key = "gk-long-enough"
providers = ["nope"]
[extra]
"""
    with pytest.raises(CatalogError) as caught:
        parse(text, {})
    errors = "\n".join(caught.value.errors)
    for expected in (
        "providers.Bad: invalid name",
        "providers.p.provider: Missing data for required field.",
        "providers.p.retry: retry is a routing setting",
        "providers.p.custom_host",
        "providers.p.limits.budget_period",
        "providers.p.limits.tokens_per_day",
        "providers.p.limits.unknown_limit",
        "providers.p.api_key: environment variable MISSING_VAR is not set",
        "keys.k.key: environment variable ALSO_MISSING is not set",
        "keys.k.key_sha256",
        "extra: Unknown field.",
    ):
        assert expected in errors, expected


def test_unknown_slugs_in_a_key_allow_list() -> None:
    with pytest.raises(CatalogError) as caught:
        parse('[keys.j]\nkey = "gk-long-enough"\nproviders = ["nope"]\n', {})
    assert caught.value.errors == ["keys.j.providers: unknown provider slug nope"]


def test_bad_toml_and_unknown_provider_ids() -> None:
    with pytest.raises(CatalogError, match="not valid TOML"):
        parse("[providers.p\n", {})
    data = parse('[providers.p]\nprovider = "no-such"\n', {})
    with pytest.raises(CatalogError, match="providers.p.provider: unknown provider no-such"):
        check_registry(data, {"openai"}, "f.toml")
