"""Address and authenticate Bedrock Runtime requests: model ids, the endpoint URL, SigV4 or an API key.

Facts (Bedrock API reference ``Converse``/``ConverseStream``/``InvokeModel``; user guide "Cross-region
inference", "Amazon Bedrock API keys"):

* Host ``https://bedrock-runtime.{region}.amazonaws.com`` (option ``aws_region``, default ``us-east-1``;
  ``custom_host`` replaces scheme, host and prefix); paths ``/model/{modelId}/converse``,
  ``/converse-stream`` and ``/invoke``. The model id is URL-encoded in the path (``:`` -> ``%3A``, an ARN's
  ``/`` -> ``%2F``); SigV4 escapes it again in the canonical URI (``translators/aws_sigv4.py``).
* Model ids are ``{provider}.{model}``, optionally behind an inference-profile region prefix (``us.``,
  ``eu.``, ``apac.``, ``global.``, ...) or inside an ARN (``.../{id}``).
* Auth: SigV4 (service ``bedrock``) over the exact body bytes sent, with static keys (options
  ``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``) or assumed-role credentials
  resolved by ``gateway/auth_aws.py`` (``Target.credentials["aws"]``); ``aws_auth_type: apiKey`` sends the
  Bedrock API key as ``Authorization: Bearer`` unsigned. The signing time is ``aws_sigv4.clock`` unless
  ``Target.credentials["signing_time"]`` pins it (golden fixtures), so signatures are reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from translators.bedrock.sigv4 import AwsKeys, amz_date, region_of, sign
from translators.contract import HttpRequest, Target, TranslationError
from translators.openai_shapes import json_bytes

SERVICE = "bedrock"
_REGION_PREFIXES = ("us.", "eu.", "apac.", "au.", "ca.", "jp.", "global.", "us-gov.")


def model_family(model: str) -> str:
    """Return the model's family (``anthropic``, ``amazon``, ``cohere``, ...), without region prefix or ARN."""
    name = model.rsplit("/", 1)[-1]
    for prefix in _REGION_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name.split(".", 1)[0]


def signing_time(target: Target) -> str:
    """Return the SigV4 timestamp: now, or the time a golden fixture pinned."""
    pinned = target.credentials.get("signing_time")
    if isinstance(pinned, str):
        return pinned
    return amz_date(pinned if isinstance(pinned, (int, float)) else None)


def signing_credentials(target: Target) -> AwsKeys:
    """Return the AWS credentials to sign with: assumed-role ones, else the static keys."""
    aws = target.credentials.get("aws")
    if isinstance(aws, Mapping) and aws.get("access_key_id"):
        return AwsKeys(aws["access_key_id"], aws["secret_access_key"], aws.get("session_token"))
    key, secret = target.option("aws_access_key_id"), target.option("aws_secret_access_key")
    if not key or not secret:
        raise TranslationError(
            "bedrock needs AWS credentials: aws_access_key_id and aws_secret_access_key, "
            "aws_auth_type assumedRole with aws_role_arn, or aws_auth_type apiKey with an API key",
            "aws_access_key_id",
        )
    return AwsKeys(str(key), str(secret), target.option("aws_session_token"))


def request_for(target: Target, model: str, action: str, payload: dict[str, Any]) -> HttpRequest:
    """Build the signed (or API-key) request for ``/model/{model}/{action}``."""
    if not model:
        raise TranslationError("model is required", "model")
    region = region_of(target)
    base = (target.custom_host or f"https://bedrock-runtime.{region}.amazonaws.com").rstrip("/")
    url = f"{base}/model/{quote(model, safe='')}/{action}"
    body = json_bytes(payload)
    headers = {"content-type": "application/json"}
    if str(target.option("aws_auth_type", default="")).lower() == "apikey":
        if not target.api_key:
            raise TranslationError("aws_auth_type apiKey needs a Bedrock API key (Authorization: Bearer)", "api_key")
        headers["authorization"] = f"Bearer {target.api_key}"
    else:
        headers = sign("POST", url, headers, body, signing_credentials(target), SERVICE, region, signing_time(target))
    return HttpRequest("POST", url, headers, body)
