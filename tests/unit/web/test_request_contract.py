"""Header parsing, config validation and custom-host (SSRF) checks."""

from __future__ import annotations

import json

import pytest

from gateway.core.errors import BadRequest, InvalidConfig
from gateway.core.options import forwardable_request_headers, parse_request_headers, upstream_response_headers
from gateway.core.plan import Branch, Leaf
from gateway.core.settings import DEFAULT_TRUSTED_HOSTS, Settings, coerce, from_env
from gateway.routing.compiler import compile_plan
from gateway.routing.config_schema import parse_config, snake_case_keys
from gateway.transport.ssrf import TrustedHosts, check_custom_host
from translators.registry import build_registry

TRUSTED = TrustedHosts(DEFAULT_TRUSTED_HOSTS)
REGISTRY = build_registry()


def plan_for(headers: dict[str, str]):
    return compile_plan(parse_request_headers(headers), REGISTRY, TRUSTED, 5)


# -- headers -------------------------------------------------------------------------------------


def test_provider_key_and_options_from_headers() -> None:
    opts = parse_request_headers(
        {
            "x-portkey-provider": "OpenAI",
            "Authorization": "Bearer sk-abc",
            "x-portkey-metadata": '{"user": "u1", "tier": {"level": 2}}',
            "x-portkey-request-timeout": "1500",
            "x-portkey-forward-headers": "X-Tenant, x-other",
            "x-portkey-azure-resource-name": "res",
            "x-portkey-aws-access-key-id": "AKIA",
            "x-portkey-openai-organization": "org-1",
            "x-portkey-strict-open-ai-compliance": "false",
            "anthropic-version": "2023-06-01",
        }
    )
    assert opts.provider == "openai"
    assert opts.api_key == "sk-abc"
    assert opts.metadata == {"user": "u1", "tier": {"level": 2}}
    assert opts.request_timeout == 1500.0
    assert opts.forward_headers == ["x-tenant", "x-other"]
    assert opts.provider_options == {
        "resource_name": "res",
        "aws_access_key_id": "AKIA",
        "openai_organization": "org-1",
        "anthropic_version": "2023-06-01",
    }
    assert opts.strict_compliance is False


def test_trace_id_is_generated_when_absent_and_echoed_when_present() -> None:
    a = parse_request_headers({}).trace_id
    b = parse_request_headers({}).trace_id
    assert a and b and a != b
    assert parse_request_headers({"x-portkey-trace-id": "t-1"}).trace_id == "t-1"


def test_x_api_key_is_the_key_when_there_is_no_authorization() -> None:
    assert parse_request_headers({"x-api-key": "ant-key"}).api_key == "ant-key"
    assert parse_request_headers({"x-api-key": "a", "authorization": "Bearer b"}).api_key == "b"


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"x-portkey-metadata": "{not json"}, "x-portkey-metadata must be valid JSON"),
        ({"x-portkey-metadata": "[1]"}, "must be a JSON dict"),
        ({"x-portkey-request-timeout": "soon"}, "milliseconds"),
        ({"x-portkey-request-timeout": "-5"}, "positive"),
        ({"x-portkey-forward-headers": "a, x-portkey-forward-headers"}, "must not contain"),
        ({"x-portkey-default-input-guardrails": "{"}, "must be valid JSON"),
    ],
)
def test_malformed_headers_are_400(headers: dict[str, str], fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_request_headers(headers)
    assert fragment in info.value.message
    assert info.value.status_code == 400


def test_response_header_filter_drops_hop_by_hop_length_and_encoding() -> None:
    kept = upstream_response_headers(
        [
            ("Content-Length", "10"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive"),
            ("Keep-Alive", "timeout=5"),
            ("x-request-id", "r1"),
            ("x-ratelimit-remaining-requests", "99"),
            ("Content-Type", "application/json"),
            ("Set-Cookie", "a=b"),
        ]
    )
    assert kept == [
        ("x-request-id", "r1"),
        ("x-ratelimit-remaining-requests", "99"),
        ("Content-Type", "application/json"),
    ]


def test_proxy_forwards_client_headers_but_not_gateway_or_hop_by_hop_ones() -> None:
    forwarded = dict(
        forwardable_request_headers(
            [
                ("Host", "gw"),
                ("Content-Length", "3"),
                ("Authorization", "Bearer k"),
                ("x-portkey-provider", "openai"),
                ("Connection", "close"),
                ("OpenAI-Beta", "assistants=v2"),
                ("Content-Type", "application/json"),
                ("Expect", "100-continue"),
                ("Accept-Encoding", "br"),
            ]
        )
    )
    assert forwarded == {"openai-beta": "assistants=v2", "content-type": "application/json"}


# -- config --------------------------------------------------------------------------------------


def test_camel_case_keys_are_normalised_but_preserved_values_are_not() -> None:
    config = snake_case_keys(
        {
            "retry": {"attempts": 2, "onStatusCodes": [429]},
            "overrideParams": {"maxTokens": 5},
            "strategy": {
                "mode": "conditional",
                "conditions": [{"query": {"metadata.userTier": {"$eq": "pro"}}, "then": "a"}],
            },
        }
    )
    assert config["retry"] == {"attempts": 2, "on_status_codes": [429]}
    assert config["override_params"] == {"maxTokens": 5}
    assert config["strategy"]["conditions"][0]["query"] == {"metadata.userTier": {"$eq": "pro"}}


@pytest.mark.parametrize(
    ("config", "error"),
    [
        (
            '{"strategy": {"mode": "roundrobin"}, "targets": [{"provider": "openai"}]}',
            "path: strategy,mode, message: Must be one of: single, fallback, loadbalance, conditional.",
        ),
        (
            '{"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": -1}]}',
            "path: targets,0,weight, message: Must be greater than or equal to 0.",
        ),
        ('{"retry": {"on_status_codes": [429]}}', "path: retry,attempts, message: Missing data for required field."),
        ('{"retry": {"attempts": "3"}}', "path: retry,attempts, message: Not a valid integer."),
        ('{"cache": {"mode": "fuzzy"}}', "path: cache,mode, message: Must be one of: simple, semantic."),
        ('{"cache": {"mode": "semantic", "threshold": "high"}}', "path: cache,threshold, message: Not a valid number."),
        (
            '{"cache": {"mode": "semantic", "threshold": 1.5}}',
            "path: cache,threshold, message: Must be greater than or equal to 0 and less than or equal to 1.",
        ),
        (
            '{"cache": {"mode": "semantic", "embedding": "openai"}}',
            "path: cache,embedding, message: Invalid input type.",
        ),
        ('{"options": [{"provider": "openai"}]}', "This version of config is not supported"),
        ('{"targets": [{"provider": "openai"}]}', "path: strategy, message: targets need a strategy"),
        ('{"forward_headers": ["x-portkey-forward-headers"]}', "must not contain"),
    ],
)
def test_invalid_configs_give_the_reference_errors(config: str, error: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        parse_config(config)
    assert any(error in line for line in info.value.errors), info.value.errors
    body = info.value.to_dict()
    assert body["status"] == "failure" and body["message"] == "Invalid config passed"


def test_invalid_config_reports_the_dotted_path_of_the_first_bad_field() -> None:
    with pytest.raises(InvalidConfig) as info:
        parse_config(
            '{"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"},'
            ' {"provider": "groq", "retry": {"attempts": -1}}]}'
        )
    assert info.value.param == "targets[1].retry.attempts"


@pytest.mark.parametrize("text", ["pc-abc123", "not json", "[1, 2]", '"x"'])
def test_non_json_config_is_rejected(text: str) -> None:
    with pytest.raises(BadRequest, match="Invalid config passed. You need to pass a valid json"):
        parse_config(text)


def test_unknown_provider_in_config_names_the_path() -> None:
    with pytest.raises(InvalidConfig) as info:
        plan_for(
            {
                "x-portkey-config": '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai"},'
                '{"provider":"nope"}]}'
            }
        )
    assert info.value.errors == ["path: targets,1,provider, message: Invalid provider: nope"]


def test_unknown_provider_header_is_400() -> None:
    with pytest.raises(BadRequest, match="Invalid provider passed"):
        plan_for({"x-portkey-provider": "nope"})


def test_no_provider_at_all_is_400() -> None:
    with pytest.raises(BadRequest, match="Either x-portkey-config or x-portkey-provider header is required"):
        plan_for({})
    with pytest.raises(BadRequest, match="Either x-portkey-provider needs to be passed"):
        plan_for({"x-portkey-config": '{"retry": {"attempts": 1}}'})


def test_header_only_request_is_a_single_leaf() -> None:
    plan = plan_for({"x-portkey-provider": "groq", "authorization": "Bearer gk"})
    assert isinstance(plan.root, Leaf)
    assert (plan.root.provider, plan.root.api_key, plan.root.path) == ("groq", "gk", "config")


def test_inheritance_follows_the_reference() -> None:
    config = """{
      "override_params": {"temperature": 0.1, "max_tokens": 5},
      "retry": {"attempts": 2},
      "request_timeout": 1000,
      "strategy": {"mode": "fallback"},
      "targets": [
        {"provider": "openai", "api_key": "k1", "override_params": {"max_tokens": 9}},
        {"strategy": {"mode": "loadbalance"}, "retry": {"attempts": 0}, "custom_host": "http://localhost:9/v1",
         "targets": [{"provider": "groq", "api_key": "k2", "weight": 3}, {"provider": "together-ai", "weight": 0}]}
      ]
    }"""
    plan = plan_for({"x-portkey-config": config, "x-portkey-provider": "together-ai", "authorization": "Bearer tk"})
    root = plan.root
    assert isinstance(root, Branch) and root.mode == "fallback"
    first, nested = root.targets
    assert first.override_params == {"temperature": 0.1, "max_tokens": 9}
    assert first.retry.attempts == 2 and first.retry.on_status_codes == (429, 500, 502, 503, 504)
    assert first.request_timeout == 1000 and first.custom_host is None
    groq, together = nested.targets
    assert nested.path == "config.targets[1]" and groq.path == "config.targets[1].targets[0]"
    assert groq.retry.attempts == 0 and groq.custom_host == "http://localhost:9/v1"
    assert groq.weight == 3 and together.weight == 0
    # the header key goes only to the header's provider
    assert together.api_key == "tk" and first.api_key == "k1" and groq.api_key == "k2"


def test_header_key_is_not_leaked_to_other_providers() -> None:
    config = '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai"},{"provider":"groq"}]}'
    plan = plan_for({"x-portkey-config": config, "authorization": "Bearer secret"})
    assert [t.api_key for t in plan.root.targets] == [None, None]
    plan = plan_for({"x-portkey-config": config, "authorization": "Bearer secret", "x-portkey-provider": "groq"})
    assert [t.api_key for t in plan.root.targets] == [None, "secret"]
    one = (
        '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","override_params":{"model":"a"}},'
        '{"provider":"openai","override_params":{"model":"b"}}]}'
    )
    plan = plan_for({"x-portkey-config": one, "authorization": "Bearer secret"})
    assert [t.api_key for t in plan.root.targets] == ["secret", "secret"]


def test_header_options_win_at_every_leaf() -> None:
    config = (
        '{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","request_timeout":5},'
        '{"provider":"groq","custom_host":"http://localhost:1/v1"}]}'
    )
    plan = plan_for(
        {
            "x-portkey-config": config,
            "x-portkey-request-timeout": "700",
            "x-portkey-custom-host": "http://127.0.0.1:2/v1",
        }
    )
    assert [t.request_timeout for t in plan.root.targets] == [700.0, 700.0]
    assert [t.custom_host for t in plan.root.targets] == ["http://127.0.0.1:2/v1"] * 2


def test_strict_compliance_can_only_be_switched_off() -> None:
    off = plan_for({"x-portkey-config": '{"provider":"openai","strict_open_ai_compliance":false}'})
    assert off.root.strict is False
    header_off = plan_for({"x-portkey-provider": "openai", "x-portkey-strict-open-ai-compliance": "false"})
    assert header_off.root.strict is False
    on = plan_for({"x-portkey-provider": "openai", "x-portkey-strict-open-ai-compliance": "true"})
    assert on.root.strict is True


# -- SSRF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1",
        "http://localhost:11434/v1",
        "http://127.0.0.1:8000/v1",
        "http://[::1]:8000/v1",
        "http://gpu.localhost:9000",
        "http://host.docker.internal:1234/v1",
        "https://8.8.8.8/v1",
        "https://[2606:4700:4700::1111]/v1",
    ],
)
def test_allowed_custom_hosts(url: str) -> None:
    assert check_custom_host(url, TRUSTED) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "file:///etc/passwd",
        "ftp://example.com",
        "gopher://x",
        "javascript:alert(1)",
        "http://user:pass@example.com",
        "http://example.com@evil.com",
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/computeMetadata",
        "http://metadata",
        "http://instance-data",
        "http://10.0.0.5/v1",
        "http://192.168.1.10",
        "http://172.16.0.1",
        "http://100.64.0.1",
        "http://0.0.0.0:80",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://10.1/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://svc.internal/v1",
        "http://printer.local",
        "http://db.corp",
        "http://a.lan",
        "http://x.onion",
        "http://exa mple.com",
        "http://ex%61mple.com",
        "http://bad\x00host",
        "https://api.portkey.ai/v1",
        "http://example.com.",
        "http://a.b.c.d.e.f.g.h.i.j.k.com",
        "http://example.com:0",
        "http://example.com:70000",
        "http://еxample.com",
    ],
)
def test_refused_custom_hosts(url: str) -> None:
    with pytest.raises(BadRequest, match="Invalid custom host"):
        check_custom_host(url, TRUSTED)


def test_trusted_hosts_setting_allows_private_addresses_and_networks() -> None:
    trusted = TrustedHosts(["vllm.internal", "10.0.0.0/8", "192.168.1.7"])
    assert check_custom_host("http://vllm.internal:8000/v1", trusted)
    assert check_custom_host("http://10.2.3.4:8000/v1", trusted)
    assert check_custom_host("http://192.168.1.7/v1", trusted)
    with pytest.raises(BadRequest):
        check_custom_host("http://192.168.1.8/v1", trusted)
    with pytest.raises(BadRequest):  # the default list is replaced, not extended
        check_custom_host("http://localhost:1/v1", trusted)


# -- settings ------------------------------------------------------------------------------------


def test_env_values_are_coerced_to_the_default_types() -> None:
    env = from_env(
        {
            "GATEWAY_READ_TIMEOUT": "30",
            "GATEWAY_POOL_MAXSIZE": "64",
            "GATEWAY_TRUSTED_HOSTS": "localhost, 10.0.0.0/8",
            "GATEWAY_PROVIDERS": '{"openai": {"base_url": "http://x/v1"}}',
            "GATEWAY_API_KEYS": "k1,k2",
            "UNRELATED": "1",
        }
    )
    assert env == {
        "GATEWAY_READ_TIMEOUT": 30.0,
        "GATEWAY_POOL_MAXSIZE": 64,
        "GATEWAY_TRUSTED_HOSTS": ["localhost", "10.0.0.0/8"],
        "GATEWAY_PROVIDERS": {"openai": {"base_url": "http://x/v1"}},
        "GATEWAY_API_KEYS": ["k1", "k2"],
    }
    assert coerce("GATEWAY_TRUSTED_HOSTS", '["a", "b"]') == ["a", "b"]
    with pytest.raises(ValueError):
        coerce("GATEWAY_READ_TIMEOUT", "soon")


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="GATEWAY_POOL_MAXSIZE"):
        Settings.from_mapping({"GATEWAY_POOL_MAXSIZE": 0})


def test_provider_overrides_and_new_compatible_providers() -> None:
    registry = build_registry(
        {"openai": {"base_url": "http://mock/v1/"}, "my-vllm": {"base_url": "http://gpu:8000/v1", "auth": "none"}}
    )
    assert registry["openai"].base_url == "http://mock/v1"
    assert registry["my-vllm"].auth == "none" and registry["my-vllm"].serves("chatComplete")
    with pytest.raises(ValueError, match="unknown keys"):
        build_registry({"openai": {"base": "x"}})
    with pytest.raises(ValueError, match="needs a base_url"):
        build_registry({"new": {}})


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("", True), ("1", True), ("false", False), ("0", False), (None, False)]
)
def test_cache_force_refresh_header_reads_false_as_false(value, expected) -> None:
    headers = {} if value is None else {"x-portkey-cache-force-refresh": value}
    assert parse_request_headers(headers).cache_force_refresh is expected


@pytest.mark.parametrize("host", ["http://127.0.0.2:9000/v1", "http://169.254.169.254/v1", "http://10.1.2.3/v1"])
def test_a_semantic_embedding_host_must_pass_the_ssrf_rules(host: str) -> None:
    config = {"provider": "openai", "cache": {"mode": "semantic", "embedding": {"custom_host": host, "model": "e"}}}
    with pytest.raises(InvalidConfig) as info:
        plan_for({"x-portkey-config": json.dumps(config)})
    assert info.value.param == "cache.embedding.custom_host"
    assert "Invalid custom host" in info.value.errors[0]


def test_header_default_guardrails_get_consecutive_ids_after_the_configs() -> None:
    from gateway.guardrails.hooks import compile_hooks

    contains = {"default.contains": {"operator": "any", "words": ["a"]}}
    before, _ = compile_hooks({"input_guardrails": [contains]}, [contains, contains, contains], [])
    suffixes = [int(hook.id.rsplit("_", 1)[1]) for hook in before]
    assert suffixes == [0, 1, 2, 3]
