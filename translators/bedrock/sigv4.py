"""AWS Signature Version 4 for requests the gateway sends to AWS (Bedrock Runtime, STS AssumeRole).

Facts (AWS General Reference, "Signature Version 4 signing process"; botocore ``SigV4Auth``): the
signature covers the method, the canonical URI (the path escaped once more, so a model id's ``%3A``
becomes ``%253A``), the sorted query, the signed headers (``host``, ``x-amz-date``, any
``x-amz-security-token``), and the SHA-256 of the exact body bytes sent. The signing key is
``HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")``; it depends only on
the secret, the UTC day, the region and the service, so it is cached. The timestamp format is
``YYYYMMDDTHHMMSSZ`` (UTC). Regions are lower-case names such as ``us-east-1`` (option
``aws_region``, default ``us-east-1``).

Pure: no I/O. The signing time comes from ``clock`` unless a timestamp is given, so signatures are
reproducible in tests.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from translators.contract import Target, TranslationError

DEFAULT_REGION = "us-east-1"
#: The SigV4 timestamp format (``x-amz-date``).
SIGV4_TIME = "%Y%m%dT%H%M%SZ"
#: The signing clock (epoch seconds); replace it to pin signatures in tests.
clock: Callable[[], float] = time.time
_REGION = re.compile(r"^[a-z0-9-]{2,32}$")


def amz_date(at: float | None = None) -> str:
    """Return the SigV4 timestamp (``x-amz-date``) of ``at`` (epoch seconds), or of ``clock()`` when not given."""
    return time.strftime(SIGV4_TIME, time.gmtime(clock() if at is None else at))


def region_of(target: Target) -> str:
    """The AWS region of a target (``aws_region``, default ``us-east-1``)."""
    region = str(target.option("aws_region", default=DEFAULT_REGION)).strip().lower()
    if not _REGION.match(region):
        raise TranslationError(f"invalid aws_region {region[:40]!r}", "aws_region")
    return region


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class PinnedSigV4(SigV4Auth):
    """botocore's SigV4 with a given timestamp (reproducible signatures) and a cached signing key."""

    def __init__(self, credentials: Credentials, service: str, region: str, timestamp: str) -> None:
        super().__init__(credentials, service, region)
        self.timestamp = timestamp

    def headers_to_sign(self, request: AWSRequest) -> Any:
        cached = request.context.get("headers_to_sign")
        if cached is None:
            cached = request.context["headers_to_sign"] = super().headers_to_sign(request)
        return cached

    def payload(self, request: AWSRequest) -> str:
        data = request.data  # always bytes or None here; botocore's ``request.body`` re-prepares the request
        return hashlib.sha256(data or b"").hexdigest()

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        day = request.context["timestamp"][:8]
        key = _signing_key(self.credentials.secret_key, day, self._region_name, self._service_name)
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self.timestamp
        self._modify_request_before_signing(request)
        string_to_sign = self.string_to_sign(request, self.canonical_request(request))
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    creds: Credentials,
    service: str,
    region: str,
    timestamp: str,
) -> dict[str, str]:
    """Return ``headers`` plus the SigV4 headers (``authorization``, ``x-amz-date``, ``x-amz-security-token``)."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    PinnedSigV4(creds, service, region, timestamp).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}
