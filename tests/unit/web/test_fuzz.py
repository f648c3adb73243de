"""Bounded fuzzing of the in-process app: generated bad configs, headers and bodies never give a 500.

Hypothesis builds configs and bodies from the gateway's own vocabulary (config keys, strategy modes,
roles, content block types, tool types) mixed with arbitrary JSON, so most examples get past the
JSON parse and reach the schema, the compiler and the translators. Every provider base URL points at
a closed local port, so whatever validates is refused quickly (a 502), never sent anywhere. The runs
are derandomized and capped (``max_examples``) so CI time stays bounded and a failure reproduces.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import create_app

CLOSED = "http://127.0.0.1:9"
PROVIDERS = ("openai", "anthropic", "groq", "google", "bedrock", "azure-openai", "vertex-ai", "nope", "")
CONFIG_KEYS = (
    "provider", "api_key", "strategy", "targets", "mode", "on_status_codes", "conditions", "query", "then",
    "default", "retry", "attempts", "cache", "max_age", "circuit_breaker", "failure_threshold", "cooldown",
    "request_timeout", "custom_host", "forward_headers", "override_params", "weight", "name", "resource_name",
    "deployment_id", "api_version", "vertex_region", "vertex_project_id", "aws_region", "openai_organization",
    "anthropic_version", "before_request_hooks", "input_guardrails", "checks", "id", "deny", "options",
    "strictOpenAiCompliance", "onStatusCodes",
)  # fmt: skip
BODY_KEYS = (
    "model", "messages", "role", "content", "type", "text", "image_url", "url", "tools", "tool_choice",
    "function", "name", "parameters", "input_schema", "system", "max_tokens", "stream", "stop", "n",
    "temperature", "input", "instructions", "tool_use_id", "tool_calls", "source", "data", "thinking",
    "response_format", "stream_options", "previous_response_id", "store", "context_management", "metadata",
)  # fmt: skip
WORDS = (
    "fallback", "loadbalance", "conditional", "single", "simple", "semantic", "user", "assistant", "system",
    "developer", "tool", "function", "text", "image", "image_url", "tool_use", "tool_result", "web_search",
    "namespace", "message", "function_call", "function_call_output", "input_text", "json_schema", "auto",
    "openai", "anthropic", "gpt-4o", "claude-sonnet-4-5", "http://localhost:9", "https://example.com/v1",
)  # fmt: skip

#: What an HTTP header value can hold once a server has parsed it: Latin-1 without control characters.
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=40
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS + PROVIDERS),
    st.text(max_size=20),
)


def documents(keys: tuple[str, ...]) -> st.SearchStrategy:
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=6)),
        max_leaves=30,
    )


def config_text() -> st.SearchStrategy[str]:
    provider_node = st.fixed_dictionaries(
        {"provider": st.sampled_from(PROVIDERS)}, optional={k: documents(CONFIG_KEYS) for k in CONFIG_KEYS[1:20]}
    )
    tree = st.recursive(
        provider_node,
        lambda inner: st.fixed_dictionaries(
            {
                "strategy": st.fixed_dictionaries({"mode": st.sampled_from(WORDS[:5])}),
                "targets": st.lists(inner, max_size=3),
            }
        ),
        max_leaves=6,
    )
    as_json = st.one_of(tree, st.dictionaries(st.sampled_from(CONFIG_KEYS), documents(CONFIG_KEYS), max_size=6))
    return st.one_of(as_json.map(json.dumps), deep_config(), HEADER_TEXT, st.just('{"provider": "openai"'))


def deep_config() -> st.SearchStrategy[str]:
    """Strategies nested 50 to 400 levels deep (a recursion bomb for a recursive validator)."""

    def nest(levels: int) -> str:
        node: dict = {"provider": "openai", "api_key": "sk-x"}
        for _ in range(levels):
            node = {"strategy": {"mode": "fallback"}, "targets": [node]}
        return json.dumps(node)

    return st.integers(50, 400).map(nest)


def body() -> st.SearchStrategy[bytes]:
    chatish = st.fixed_dictionaries(
        {"model": st.one_of(st.sampled_from(WORDS), scalars)},
        optional={
            "messages": st.lists(
                st.dictionaries(st.sampled_from(BODY_KEYS), documents(BODY_KEYS), max_size=4), max_size=3
            ),
            "input": documents(BODY_KEYS),
            "max_tokens": scalars,
            "stream": st.just(False),
            "tools": st.lists(documents(BODY_KEYS), max_size=2),
            "system": documents(BODY_KEYS),
        },
    )
    as_json = st.one_of(chatish, documents(BODY_KEYS)).map(lambda d: json.dumps(d).encode())
    return st.one_of(as_json, st.binary(max_size=40))


@pytest.fixture(scope="module")
def fuzz_client():
    providers = {p: {"base_url": CLOSED + "/v1"} for p in ("openai", "anthropic", "groq")}
    app = create_app(
        {
            "TESTING": True,
            "GATEWAY_PROVIDERS": providers,
            "GATEWAY_CONNECT_TIMEOUT": 0.2,
            "GATEWAY_READ_TIMEOUT": 0.5,
            "GATEWAY_RETRY_BASE_DELAY": 0.0,
            "GATEWAY_RETRY_MAX_DELAY": 0.0,
            "GATEWAY_RETRY_BUDGET": 0.5,
            "GATEWAY_TRUSTED_HOSTS": [],
        }
    )
    yield app.test_client()
    app.extensions["gateway"].close()


FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
ROUTES = ("/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings", "/v1/completions")


def check(response) -> None:
    assert response.status_code != 500, response.get_data(as_text=True)[:500]
    assert response.status_code < 600
    if response.status_code >= 400:
        assert response.is_json, response.get_data(as_text=True)[:200]


@FUZZ
@given(config=config_text(), route=st.sampled_from(ROUTES))
def test_generated_configs_never_give_a_500(fuzz_client, config: str, route: str) -> None:
    payload = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "input": "hi"}
    check(fuzz_client.post(route, json=payload, headers={"x-portkey-config": config}))


@FUZZ
@given(raw=body(), route=st.sampled_from(ROUTES), provider=st.sampled_from(("openai", "anthropic", "groq")))
def test_generated_bodies_never_give_a_500(fuzz_client, raw: bytes, route: str, provider: str) -> None:
    headers = {"x-portkey-provider": provider, "Authorization": "Bearer sk-fuzz", "content-type": "application/json"}
    check(fuzz_client.post(route, data=raw, headers=headers))


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(
            (
                "x-portkey-provider",
                "x-portkey-config",
                "x-portkey-custom-host",
                "x-portkey-request-timeout",
                "x-portkey-forward-headers",
                "x-portkey-metadata",
                "x-portkey-azure-resource-name",
                "x-portkey-vertex-region",
                "x-portkey-aws-region",
                "x-portkey-retry-count",
                "x-portkey-cache",
                "x-portkey-strict-open-ai-compliance",
                "anthropic-version",
                "authorization",
            )
        ),
        st.one_of(
            st.sampled_from(WORDS + PROVIDERS),
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
        ),
        max_size=5,
    ),
    route=st.sampled_from(ROUTES),
)
def test_generated_gateway_headers_never_give_a_500(fuzz_client, headers: dict[str, str], route: str) -> None:
    payload = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "input": "hi"}
    check(fuzz_client.post(route, json=payload, headers=headers))
