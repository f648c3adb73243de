"""Resolve temporary AWS credentials for Bedrock by assuming a role with STS, cached until they expire.

Facts (AWS STS API reference, ``AssumeRole``): the Query API ``GET /?Action=AssumeRole&Version=2011-06-15
&RoleArn=...&RoleSessionName=...[&ExternalId=...]`` at ``https://sts.{region}.amazonaws.com``, SigV4-signed
for service ``sts`` (with ``translators/aws_sigv4.py``); the XML answer holds ``AssumeRoleResult/Credentials``
with ``AccessKeyId``, ``SecretAccessKey``, ``SessionToken`` and ``Expiration`` (ISO 8601), errors hold
``Error/Code`` and ``Error/Message``. The source credentials come from the leaf options (``aws_access_key_id``,
``aws_secret_access_key``, ``aws_session_token``) or from ``AWS_ASSUME_ROLE_ACCESS_KEY_ID`` /
``AWS_ASSUME_ROLE_SECRET_ACCESS_KEY``. ``GATEWAY_AWS_STS_ENDPOINT`` overrides the endpoint (tests,
VPC endpoints). Credentials are cached per role, external id and source credential until they expire.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from gateway.auth.token_cache import cache_key
from gateway.core.errors import ProviderError
from gateway.transport.client import Timeout, UpstreamFailure
from translators.bedrock.sigv4 import AwsKeys, amz_date, region_of, sign
from translators.contract import Target, TranslationError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from gateway.auth.token_cache import TokenCache
    from gateway.core.plan import Leaf
    from gateway.transport.outbound import Outbound

PROVIDER = "bedrock"
VERSION = "2011-06-15"
SESSION_NAME = "portkey-gateway"
DURATION_SECONDS = 3600
#: Read and total timeout of one AssumeRole call.
TIMEOUT_SECONDS = 10.0


def _fail(status: int, detail: str) -> ProviderError:
    return ProviderError(
        PROVIDER, status, f"{PROVIDER} error: could not assume role: {detail}", error_type="authentication_error"
    )


def _text(node: Element | None, name: str) -> str:
    if node is None:
        return ""
    for child in node.iter():
        if child.tag.rsplit("}", 1)[-1] == name:
            return (child.text or "").strip()
    return ""


def _find(root: Element, name: str) -> Element | None:
    for child in root.iter():
        if child.tag.rsplit("}", 1)[-1] == name:
            return child
    return None


def parse_assume_role(status: int, body: bytes) -> tuple[dict[str, str], float]:
    """Parse an AssumeRole answer into ``(credentials, expires_at epoch)``; raise ``ProviderError`` on errors."""
    from xml.etree import ElementTree  # with the first AssumeRole answer

    try:
        # STS (or the operator's endpoint) answers; ElementTree resolves no external entities and
        # expat >= 2.4 caps entity amplification.
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        raise _fail(502, f"STS answered HTTP {status} with a body that is not XML") from None
    if status >= 400:
        error = _find(root, "Error")
        code, message = _text(error, "Code") or f"HTTP {status}", _text(error, "Message")
        raise _fail(401 if status < 500 else 502, f"{code}: {message}" if message else code)
    creds = _find(root, "Credentials")
    found = {
        "access_key_id": _text(creds, "AccessKeyId"),
        "secret_access_key": _text(creds, "SecretAccessKey"),
        "session_token": _text(creds, "SessionToken"),
    }
    if not found["access_key_id"] or not found["secret_access_key"]:
        raise _fail(502, "STS answered without credentials")
    expiration = _text(creds, "Expiration")
    try:
        expires_at = datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()
    except ValueError:
        expires_at = time.time() + 900  # unknown expiry: keep it for the shortest AssumeRole duration
    return found, expires_at


def _source(options: dict[str, Any]) -> AwsKeys | None:
    """The credentials that sign AssumeRole: the leaf's static keys, else the assume-role environment keys."""
    if options.get("aws_access_key_id") and options.get("aws_secret_access_key"):
        token = options.get("aws_session_token") or None
        return AwsKeys(str(options["aws_access_key_id"]), str(options["aws_secret_access_key"]), token)
    key, secret = os.environ.get("AWS_ASSUME_ROLE_ACCESS_KEY_ID"), os.environ.get("AWS_ASSUME_ROLE_SECRET_ACCESS_KEY")
    return AwsKeys(key, secret) if key and secret else None


def assume_role(
    outbound: "Outbound", region: str, role_arn: str, external_id: str | None, source: AwsKeys
) -> tuple[dict[str, str], float]:
    """Call STS AssumeRole; return ``(credentials dict, expires_at)``."""
    settings = outbound.settings
    endpoint = settings.aws_sts_endpoint or f"https://sts.{region}.amazonaws.com"
    query = {"Action": "AssumeRole", "Version": VERSION, "RoleArn": role_arn, "RoleSessionName": SESSION_NAME}
    query["DurationSeconds"] = str(DURATION_SECONDS)
    if external_id:
        query["ExternalId"] = external_id
    url = f"{endpoint.rstrip('/')}/?{urlencode(sorted(query.items()))}"
    headers = sign("GET", url, {"accept": "application/xml"}, None, source, "sts", region, amz_date())
    timeout = Timeout(settings.connect_timeout, TIMEOUT_SECONDS, TIMEOUT_SECONDS)
    try:
        response = outbound.client.send("GET", url, headers=headers, timeout=timeout)
    except UpstreamFailure as failure:
        raise _fail(502, f"STS is unreachable: {failure.detail}") from None
    return parse_assume_role(response.status_code, response.content)


def resolve(outbound: "Outbound", leaf: "Leaf", cache: "TokenCache") -> dict[str, Any]:
    """Return ``{"aws": {...}}`` temporary credentials for ``aws_auth_type: assumedRole``, else ``{}``."""
    options = leaf.options
    if str(options.get("aws_auth_type") or "").lower() != "assumedrole" or not options.get("aws_role_arn"):
        return {}
    role_arn = str(options["aws_role_arn"])
    external_id = str(options.get("aws_external_id") or "") or None
    try:
        region = region_of(Target(provider=PROVIDER, options=options))
    except TranslationError as exc:
        raise _fail(401, exc.message) from None
    source = _source(options)
    if source is None:
        raise _fail(
            401,
            "no source credentials (aws_access_key_id/aws_secret_access_key or "
            "AWS_ASSUME_ROLE_ACCESS_KEY_ID/AWS_ASSUME_ROLE_SECRET_ACCESS_KEY)",
        )
    # The key holds the whole source credential (hashed), so a caller who only knows the access key id
    # never receives credentials another caller's secret obtained.
    key = cache_key("aws-sts", role_arn, external_id, source.access_key, source.secret_key, source.token, region)
    creds = cache.get_or_fetch(key, lambda: assume_role(outbound, region, role_arn, external_id, source))
    return {"aws": dict(creds)}
