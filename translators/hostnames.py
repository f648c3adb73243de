"""Check request options that become part of an upstream host name.

A provider whose host is built from an option (Azure OpenAI's ``resource_name`` in
``{resource}.openai.azure.com``, Vertex AI's ``vertex_region`` in ``{region}-aiplatform...``,
an S3 bucket in ``{bucket}.s3.{region}.amazonaws.com``) must not let that option carry a dot,
a slash, ``@``, ``#`` or ``:``: any of them moves the request to a host the client chose.
``host_label`` accepts exactly one DNS label (RFC 1035: letters, digits and inner hyphens,
1 to 63 characters) and raises ``TranslationError`` (a 400) naming the option otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from translators.contract import TranslationError

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
#: S3 bucket names (AWS "Bucket naming rules"): 3-63 of lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{1,61})[a-z0-9]$")


def host_label(value: Any, option: str) -> str:
    """Return ``value`` as text when it is one DNS label; raise ``TranslationError`` naming ``option``."""
    text = str(value).strip()
    if not _LABEL.match(text):
        raise TranslationError(f"invalid {option}: it must be one host name label (letters, digits, hyphens)", option)
    return text


def s3_bucket(value: str, option: str = "file_id") -> str:
    """Return ``value`` when it is a valid S3 bucket name; raise ``TranslationError`` otherwise."""
    if not _BUCKET.match(value) or ".." in value:
        raise TranslationError(f"invalid S3 bucket name {value[:70]!r}", option)
    return value
