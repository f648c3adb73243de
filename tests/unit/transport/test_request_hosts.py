"""Hosts a request can shape: provider options in host names, long custom hosts (issue 15, items 1 and 5)."""

from __future__ import annotations

import json

import pytest

from gateway.core.errors import BadRequest
from gateway.core.options import parse_request_headers
from gateway.core.settings import DEFAULT_TRUSTED_HOSTS
from gateway.routing.compiler import compile_plan
from gateway.transport.ssrf import TrustedHosts, check_custom_host
from translators.azure.translator import TRANSLATOR as AZURE
from translators.bedrock.batch_http import object_url
from translators.contract import Target, TranslationError
from translators.google.vertex import model_url
from translators.registry import build_registry

REGISTRY = build_registry()
TRUSTED = TrustedHosts(DEFAULT_TRUSTED_HOSTS)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
EVIL = ["evil.example#", "evil.example/x", "a.b", "x@evil.example", "evil.example:80", "-x", "x" * 64, "", " "]


@pytest.mark.parametrize("resource", [r for r in EVIL if r.strip()])
def test_azure_resource_name_must_be_one_host_label(resource: str) -> None:
    target = Target(
        "azure-openai",
        api_key="k",
        options={"resource_name": resource, "deployment_id": "d", "api_version": "2024-10-21"},
    )
    with pytest.raises(TranslationError) as caught:
        AZURE.build_request("chatComplete", CHAT, target, False)
    assert caught.value.param == "resource_name"


def test_azure_resource_name_that_is_a_label_builds_the_azure_host() -> None:
    target = Target(
        "azure-openai", api_key="k", options={"resource_name": "Contoso-1", "deployment_id": "d", "api_version": "v"}
    )
    url = AZURE.build_request("chatComplete", CHAT, target, False).request.url
    assert url.startswith("https://Contoso-1.openai.azure.com/openai/deployments/d/")


@pytest.mark.parametrize("region", [r for r in EVIL if r.strip()])
def test_vertex_region_must_be_one_host_label(region: str) -> None:
    target = Target("vertex-ai", api_key="t", options={"vertex_region": region, "vertex_project_id": "p"})
    with pytest.raises(TranslationError) as caught:
        model_url(target, "google", "gemini-2.0-flash", "generateContent")
    assert caught.value.param == "vertex_region"


def test_vertex_project_is_kept_inside_the_path() -> None:
    target = Target(
        "vertex-ai", api_key="t", options={"vertex_region": "us-central1", "vertex_project_id": "p/../../x?y#"}
    )
    url = model_url(target, "google", "gemini-2.0-flash", "generateContent")
    assert url.startswith("https://us-central1-aiplatform.googleapis.com/v1/projects/p%2F..%2F..%2Fx%3Fy%23/locations/")


@pytest.mark.parametrize("bucket", ["evil.example#", "x@evil.example", "Bad_Bucket", "a", "evil:80"])
def test_s3_bucket_names_from_file_ids_are_checked(bucket: str) -> None:
    with pytest.raises(TranslationError):
        object_url(Target("bedrock"), bucket, "key.jsonl")


def test_option_shaped_hosts_get_the_connect_time_peer_check() -> None:
    def leaf(headers: dict[str, str]):
        return compile_plan(parse_request_headers(headers), REGISTRY, TRUSTED, 5).root

    assert leaf({"x-portkey-provider": "azure-openai", "x-portkey-azure-resource-name": "contoso"}).guard_host
    assert leaf({"x-portkey-provider": "vertex-ai", "x-portkey-vertex-region": "us-central1"}).guard_host
    assert leaf({"x-portkey-provider": "bedrock", "x-portkey-aws-region": "us-east-1"}).guard_host
    assert leaf({"x-portkey-provider": "azure-openai", "x-portkey-custom-host": "https://azure.example.com"}).guard_host
    assert not leaf({"x-portkey-provider": "azure-openai", "x-portkey-custom-host": "http://127.0.0.1:9"}).guard_host
    assert not leaf({"x-portkey-provider": "openai"}).guard_host


def test_ssrf_through_azure_resource_name_is_a_400_in_the_app(client) -> None:
    config = {
        "provider": "azure-openai",
        "api_key": "k",
        "resource_name": "169.254.169.254#",
        "deployment_id": "d",
        "api_version": "v",
    }
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-portkey-config": json.dumps(config)})
    assert response.status_code == 400
    assert response.get_json()["param"] == "resource_name"


@pytest.mark.parametrize(
    "host",
    [
        "https://" + "a" * 64 + ".example.com",
        "https://" + ".".join(["b" * 60] * 5) + ".com",
        "https://a" + "a" * 300 + ".com",
    ],
)
def test_over_long_custom_host_names_are_invalid_custom_hosts(host: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_custom_host(host, TRUSTED)
    assert caught.value.code == "invalid_custom_host"


def test_over_long_custom_host_is_a_400_in_the_app(client) -> None:
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": "https://" + "a" * 70 + ".example.com/v1"}
    response = client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_custom_host"


def test_max_length_labels_are_still_fine() -> None:
    assert check_custom_host("https://" + "a" * 63 + ".example.com", TRUSTED)
