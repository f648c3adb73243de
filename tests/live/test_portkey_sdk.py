"""The official ``portkey-ai`` SDK against the gateway: its client options become the gateway's headers.

``Portkey(base_url=...)`` sends ``x-portkey-provider``, ``Authorization``, ``x-portkey-config``,
``x-portkey-custom-host``, ``x-portkey-trace-id``, ``x-portkey-metadata``, the cache headers and the
provider options as headers; the gateway must honour each one.
"""

from __future__ import annotations

import uuid

import pytest
from portkey_ai import Portkey
from portkey_ai._vendor.openai import RateLimitError  # the SDK raises its vendored openai's errors

from tests.chatdata import streamed_text

QUESTION = [{"role": "user", "content": "Say hi"}]


def sid() -> str:
    return uuid.uuid4().hex[:10]


def portkey(gateway, **options) -> Portkey:
    return Portkey(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, **options)


def test_provider_key_trace_and_metadata_reach_the_provider(gateway, mockctl) -> None:
    s = sid()
    client = portkey(
        gateway,
        provider="openai",
        Authorization="Bearer sk-portkey-sdk",
        custom_host=mockctl.base(id=s),
        trace_id="trace-portkey-1",
        metadata={"team": "search"},
    )
    answer = client.chat.completions.create(model="gpt-test", messages=QUESTION)
    assert answer.choices[0].message.content == "echo: Say hi"
    portkey_headers = answer.get_headers()  # the x-portkey-* response headers, prefix removed
    assert portkey_headers["trace-id"] == "trace-portkey-1"
    assert portkey_headers["provider"] == "openai"
    (seen,) = mockctl.requests(s)
    assert seen["path"].endswith("/v1/chat/completions")
    assert seen["headers"]["authorization"] == "Bearer sk-portkey-sdk"
    assert not any(name.startswith("x-portkey-") for name in seen["headers"])


def test_a_streamed_answer_through_the_sdk(gateway, mockctl) -> None:
    client = portkey(gateway, provider="openai", Authorization="sk-x", custom_host=mockctl.base(id=sid(), chunks=4))
    chunks = list(client.chat.completions.create(model="gpt-test", messages=QUESTION, stream=True))
    text = streamed_text(chunks)
    assert text == "echo: Say hi"


def test_config_fallback_cache_and_namespace(gateway, mockctl) -> None:
    s = sid()
    config = {
        "strategy": {"mode": "fallback"},
        "cache": {"mode": "simple", "max_age": 60},
        "targets": [
            {"provider": "openai", "api_key": "sk-a", "custom_host": mockctl.base(id=s + "-down", status=503)},
            {"provider": "openai", "api_key": "sk-b", "custom_host": mockctl.base(id=s)},
        ],
    }
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": f"cache me {s}"}]}

    def status(client: Portkey) -> tuple[str, str]:
        headers = client.chat.completions.create(**body).get_headers()
        return headers["cache-status"], headers["last-used-option-index"]

    plain = portkey(gateway, config=config)
    assert status(plain) == ("MISS", "config.targets[1]")
    assert status(plain)[0] == "HIT"
    tenant_x = portkey(gateway, config=config, cache_namespace="tenant-x")
    assert status(tenant_x)[0] == "MISS"
    assert status(tenant_x)[0] == "HIT"
    assert status(portkey(gateway, config=config, cache_force_refresh=True))[0] == "REFRESH"
    assert len(mockctl.requests(s)) == 3


def test_provider_errors_raise_the_sdks_exception(gateway, mockctl) -> None:
    client = portkey(gateway, provider="openai", Authorization="sk-x", custom_host=mockctl.base(id=sid(), status=429))
    with pytest.raises(RateLimitError, match="openai error: mock failure 429") as caught:
        client.chat.completions.create(model="gpt-test", messages=QUESTION)
    assert caught.value.status_code == 429


def test_a_guarded_stream_through_the_sdk(gateway, mockctl) -> None:
    """The SDK sends strict compliance off, so the stream starts with the input hook results."""
    config = {
        "provider": "openai",
        "api_key": "sk-x",
        "custom_host": mockctl.base(id=sid()),
        "input_guardrails": [{"default.wordCount": {"minWords": 1, "maxWords": 99}}],
    }
    chunks = list(portkey(gateway, config=config).chat.completions.create(model="m", messages=QUESTION, stream=True))
    assert chunks[0].model_extra["hook_results"]["before_request_hooks"][0]["verdict"] is True
    text = streamed_text(chunks[1:])
    assert text == "echo: Say hi"
