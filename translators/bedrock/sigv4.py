"""AWS Signature Version 4 for requests the gateway sends to AWS (Bedrock Runtime, STS AssumeRole).

Facts (AWS General Reference, "Signature Version 4 signing process"; botocore ``SigV4Auth``): the
signature covers the method, the canonical URI (the path escaped once more, so a model id's ``%3A``
becomes ``%253A``), the sorted query, the signed headers (``host``, ``x-amz-date``, any
``x-amz-security-token``), and the SHA-256 of the exact body bytes sent. The signing key is
``HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")``; it depends only on
the secret, the UTC day, the region and the service, so it is cached. The timestamp format is
``YYYYMMDDTHHMMSSZ`` (UTC). Regions are lower-case names such as ``us-east-1`` (option
``aws_region``, default ``us-east-1``).

Pure: no I/O. botocore (about 4 MB of a worker's memory) loads with the first signature, in
``translators/bedrock/signer.py``; a gateway that never calls AWS never imports it. The signing
time comes from ``clock`` unless a timestamp is given, so signatures are reproducible in tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import NamedTuple

from translators.contract import Target, TranslationError

DEFAULT_REGION = "us-east-1"
#: The SigV4 timestamp format (``x-amz-date``).
SIGV4_TIME = "%Y%m%dT%H%M%SZ"
#: The signing clock (epoch seconds); replace it to pin signatures in tests.
clock: Callable[[], float] = time.time
_REGION = re.compile(r"^[a-z0-9-]{2,32}$")


class AwsKeys(NamedTuple):
    """The keys a request is signed with (the attributes botocore's signers read)."""

    access_key: str
    secret_key: str
    token: str | None = None


def amz_date(at: float | None = None) -> str:
    """Return the SigV4 timestamp (``x-amz-date``) of ``at`` (epoch seconds), or of ``clock()`` when not given."""
    return time.strftime(SIGV4_TIME, time.gmtime(clock() if at is None else at))


def region_of(target: Target) -> str:
    """The AWS region of a target (``aws_region``, default ``us-east-1``)."""
    region = str(target.option("aws_region", default=DEFAULT_REGION)).strip().lower()
    if not _REGION.match(region):
        raise TranslationError(f"invalid aws_region {region[:40]!r}", "aws_region")
    return region


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    keys: AwsKeys,
    service: str,
    region: str,
    timestamp: str,
    *,
    s3: bool = False,
) -> dict[str, str]:
    """Return ``headers`` plus the SigV4 headers (``authorization``, ``x-amz-date``, ``x-amz-security-token``).

    Header names come back in lower case. ``s3``: sign as S3 wants it, the canonical URI being the path as sent
    (not escaped a second time).
    """
    from translators.bedrock.signer import AWSRequest, PinnedSigV4, S3SigV4  # botocore loads here, once

    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    (S3SigV4 if s3 else PinnedSigV4)(keys, service, region, timestamp).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}
