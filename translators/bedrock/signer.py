"""botocore's SigV4 signer with a pinned timestamp and a cached signing key (``sigv4.sign`` imports these).

Kept apart from ``sigv4.py`` because botocore costs a worker about 4 MB of memory: only a gateway
that signs a request for AWS (Bedrock, STS, S3) imports it. Pure: no I/O.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class PinnedSigV4(SigV4Auth):
    """botocore's SigV4 with a given timestamp (reproducible signatures) and a cached signing key."""

    def __init__(self, keys: Any, service: str, region: str, timestamp: str) -> None:
        super().__init__(keys, service, region)
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


class S3SigV4(PinnedSigV4):
    """SigV4 as S3 wants it: the canonical URI is the path as sent, not escaped a second time."""

    def _normalize_url_path(self, path: str) -> str:
        return path
