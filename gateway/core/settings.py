"""Load the gateway's ``GATEWAY_*`` settings from defaults, a file, the environment and a mapping.

Every key is documented in the README ("Configuration"). Values given as environment
variables are coerced to the type of the default (JSON for lists and mappings, a comma
list is accepted for lists, ``true``/``false`` for booleans).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

PREFIX = "GATEWAY_"

DEFAULT_TRUSTED_HOSTS = ("localhost", "127.0.0.1", "::1", "host.docker.internal")

#: Every setting with its default. Keys are stored in ``app.config`` with the prefix.
DEFAULTS: dict[str, Any] = {
    "GATEWAY_CONNECT_TIMEOUT": 3.05,
    "GATEWAY_READ_TIMEOUT": 600.0,
    "GATEWAY_STREAM_IDLE_TIMEOUT": 120.0,
    "GATEWAY_POOL_CONNECTIONS": 32,
    "GATEWAY_POOL_MAXSIZE": 1000,
    "GATEWAY_PROXIES": {},
    "GATEWAY_CA_BUNDLE": "",
    "GATEWAY_TRUSTED_HOSTS": list(DEFAULT_TRUSTED_HOSTS),
    "GATEWAY_PROVIDERS": {},
    "GATEWAY_MAX_JSON_BYTES": 64 * 1024 * 1024,
    "GATEWAY_MAX_IMAGE_BYTES": 20 * 1024 * 1024,
    "GATEWAY_MAX_UPLOAD_BYTES": 1024 * 1024 * 1024,
    "GATEWAY_IMAGE_FETCH_TIMEOUT": 10.0,
    "GATEWAY_API_KEYS": [],
    "GATEWAY_ADMIN_TOKEN": "",
    "GATEWAY_REDIS_URL": "",
    "GATEWAY_REDIS_TIMEOUT": 0.5,
    "GATEWAY_REDIS_BACKOFF": 5.0,
    "GATEWAY_REDIS_REQUEST_BUDGET": 1.0,
    "GATEWAY_AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com",
    "GATEWAY_AZURE_IMDS_ENDPOINT": "http://169.254.169.254/metadata/identity/oauth2/token",
    "GATEWAY_AWS_STS_ENDPOINT": "",
    "GATEWAY_RESPONSES_DB": "",
    "GATEWAY_CACHE_MAX_BYTES": 64 * 1024 * 1024,
    "GATEWAY_SEMANTIC_EMBEDDING": {},
    "GATEWAY_RESPONSES_TTL": 30 * 24 * 3600.0,
    "GATEWAY_MAX_RETRY_ATTEMPTS": 5,
    "GATEWAY_RETRY_BASE_DELAY": 1.0,
    "GATEWAY_RETRY_MAX_DELAY": 30.0,
    "GATEWAY_RETRY_BUDGET": 60.0,
    "GATEWAY_CATALOG_FILE": "",
    "GATEWAY_CATALOG_RELOAD_INTERVAL": 1.0,
    "GATEWAY_LIMITS_FAIL": "open",
    "GATEWAY_LIMITS_DB": "",
    "GATEWAY_METRICS": True,
    "GATEWAY_METRICS_BIND": "",
    "GATEWAY_RECORDS_MAX": 10_000,
    "GATEWAY_RECORDS_DB": "",
    "GATEWAY_LOG_BODIES": False,
    "GATEWAY_LOG_BODY_MAX_CHARS": 2048,
    "GATEWAY_OTEL_PROPAGATE": False,
}


def coerce(key: str, raw: str) -> Any:
    """Convert one environment string to the type of ``key``'s default."""
    default = DEFAULTS.get(key)
    text = raw.strip()
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{key} must be true or false, got {raw!r}")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, list):
        if text.startswith("["):
            return orjson.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(default, dict):
        return orjson.loads(text) if text else {}
    return raw


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the known ``GATEWAY_*`` keys present in ``environ``, coerced."""
    environ = os.environ if environ is None else environ
    return {key: coerce(key, environ[key]) for key in DEFAULTS if key in environ}


def from_file(path: str) -> dict[str, Any]:
    """Read ``GATEWAY_*`` keys from a ``.toml``, ``.json`` or ``.py`` file."""
    if path.endswith(".toml"):
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    elif path.endswith(".json"):
        with open(path, "rb") as fh:
            data = json.load(fh)
    elif path.endswith(".py"):
        scope: dict[str, Any] = {"__file__": path}
        with open(path, "rb") as fh:
            exec(compile(fh.read(), path, "exec"), scope)  # noqa: S102 - operator-owned file
        data = {k: v for k, v in scope.items() if k.isupper()}
    else:
        raise ValueError(f"config file must end in .toml, .json or .py: {path}")
    return {k: v for k, v in data.items() if k.startswith(PREFIX)}


@dataclass(frozen=True)
class Settings:
    """Hold the resolved settings one gateway instance runs with."""

    connect_timeout: float = DEFAULTS["GATEWAY_CONNECT_TIMEOUT"]
    read_timeout: float = DEFAULTS["GATEWAY_READ_TIMEOUT"]
    stream_idle_timeout: float = DEFAULTS["GATEWAY_STREAM_IDLE_TIMEOUT"]
    pool_connections: int = DEFAULTS["GATEWAY_POOL_CONNECTIONS"]
    pool_maxsize: int = DEFAULTS["GATEWAY_POOL_MAXSIZE"]
    proxies: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: str = ""
    trusted_hosts: tuple[str, ...] = DEFAULT_TRUSTED_HOSTS
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    max_json_bytes: int = DEFAULTS["GATEWAY_MAX_JSON_BYTES"]
    max_image_bytes: int = DEFAULTS["GATEWAY_MAX_IMAGE_BYTES"]
    max_upload_bytes: int = DEFAULTS["GATEWAY_MAX_UPLOAD_BYTES"]
    image_fetch_timeout: float = DEFAULTS["GATEWAY_IMAGE_FETCH_TIMEOUT"]
    api_keys: tuple[str, ...] = ()
    admin_token: str = field(default="", repr=False)  # never in a log line
    redis_url: str = ""
    redis_timeout: float = DEFAULTS["GATEWAY_REDIS_TIMEOUT"]
    redis_backoff: float = DEFAULTS["GATEWAY_REDIS_BACKOFF"]
    redis_request_budget: float = DEFAULTS["GATEWAY_REDIS_REQUEST_BUDGET"]
    azure_authority_host: str = DEFAULTS["GATEWAY_AZURE_AUTHORITY_HOST"]
    azure_imds_endpoint: str = DEFAULTS["GATEWAY_AZURE_IMDS_ENDPOINT"]
    aws_sts_endpoint: str = ""
    responses_db: str = ""
    cache_max_bytes: int = DEFAULTS["GATEWAY_CACHE_MAX_BYTES"]
    semantic_embedding: Mapping[str, Any] = field(default_factory=dict)
    responses_ttl: float = DEFAULTS["GATEWAY_RESPONSES_TTL"]
    max_retry_attempts: int = DEFAULTS["GATEWAY_MAX_RETRY_ATTEMPTS"]
    retry_base_delay: float = DEFAULTS["GATEWAY_RETRY_BASE_DELAY"]
    retry_max_delay: float = DEFAULTS["GATEWAY_RETRY_MAX_DELAY"]
    retry_budget: float = DEFAULTS["GATEWAY_RETRY_BUDGET"]
    catalog_file: str = ""
    catalog_reload_interval: float = DEFAULTS["GATEWAY_CATALOG_RELOAD_INTERVAL"]
    limits_fail: str = "open"
    limits_db: str = ""
    metrics: bool = True
    metrics_bind: str = ""
    records_max: int = DEFAULTS["GATEWAY_RECORDS_MAX"]
    records_db: str = ""
    log_bodies: bool = False
    log_body_max_chars: int = DEFAULTS["GATEWAY_LOG_BODY_MAX_CHARS"]
    otel_propagate: bool = False

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> "Settings":
        """Build settings from a Flask config (keys with the ``GATEWAY_`` prefix)."""
        merged = {**DEFAULTS, **{k: v for k, v in config.items() if k.startswith(PREFIX)}}

        def number(key: str, kind: type, minimum: float) -> Any:
            value = kind(merged[key])
            if value < minimum:
                raise ValueError(f"{key} must be >= {minimum}, got {value}")
            return value

        return cls(
            connect_timeout=number("GATEWAY_CONNECT_TIMEOUT", float, 0.001),
            read_timeout=number("GATEWAY_READ_TIMEOUT", float, 0.001),
            stream_idle_timeout=number("GATEWAY_STREAM_IDLE_TIMEOUT", float, 0.001),
            pool_connections=number("GATEWAY_POOL_CONNECTIONS", int, 1),
            pool_maxsize=number("GATEWAY_POOL_MAXSIZE", int, 1),
            proxies=dict(merged["GATEWAY_PROXIES"] or {}),
            ca_bundle=str(merged["GATEWAY_CA_BUNDLE"] or ""),
            trusted_hosts=tuple(h.lower() for h in merged["GATEWAY_TRUSTED_HOSTS"]),
            providers=dict(merged["GATEWAY_PROVIDERS"] or {}),
            max_json_bytes=number("GATEWAY_MAX_JSON_BYTES", int, 1),
            max_image_bytes=number("GATEWAY_MAX_IMAGE_BYTES", int, 1),
            max_upload_bytes=number("GATEWAY_MAX_UPLOAD_BYTES", int, 1),
            image_fetch_timeout=number("GATEWAY_IMAGE_FETCH_TIMEOUT", float, 0.001),
            api_keys=tuple(merged["GATEWAY_API_KEYS"] or ()),
            admin_token=str(merged["GATEWAY_ADMIN_TOKEN"] or ""),
            redis_url=str(merged["GATEWAY_REDIS_URL"] or ""),
            redis_timeout=number("GATEWAY_REDIS_TIMEOUT", float, 0.001),
            redis_backoff=number("GATEWAY_REDIS_BACKOFF", float, 0),
            redis_request_budget=number("GATEWAY_REDIS_REQUEST_BUDGET", float, 0),
            azure_authority_host=str(merged["GATEWAY_AZURE_AUTHORITY_HOST"]).rstrip("/"),
            azure_imds_endpoint=str(merged["GATEWAY_AZURE_IMDS_ENDPOINT"]),
            aws_sts_endpoint=str(merged["GATEWAY_AWS_STS_ENDPOINT"] or "").rstrip("/"),
            responses_db=str(merged["GATEWAY_RESPONSES_DB"] or ""),
            cache_max_bytes=number("GATEWAY_CACHE_MAX_BYTES", int, 1024),
            semantic_embedding=dict(merged["GATEWAY_SEMANTIC_EMBEDDING"] or {}),
            responses_ttl=number("GATEWAY_RESPONSES_TTL", float, 1),
            max_retry_attempts=number("GATEWAY_MAX_RETRY_ATTEMPTS", int, 0),
            retry_base_delay=number("GATEWAY_RETRY_BASE_DELAY", float, 0),
            retry_max_delay=number("GATEWAY_RETRY_MAX_DELAY", float, 0),
            retry_budget=number("GATEWAY_RETRY_BUDGET", float, 0),
            catalog_file=str(merged["GATEWAY_CATALOG_FILE"] or ""),
            catalog_reload_interval=float(merged["GATEWAY_CATALOG_RELOAD_INTERVAL"]),
            limits_fail=_choice(merged, "GATEWAY_LIMITS_FAIL", ("open", "closed")),
            limits_db=str(merged["GATEWAY_LIMITS_DB"] or ""),
            metrics=bool(merged["GATEWAY_METRICS"]),
            metrics_bind=str(merged["GATEWAY_METRICS_BIND"] or ""),
            records_max=number("GATEWAY_RECORDS_MAX", int, 0),
            records_db=str(merged["GATEWAY_RECORDS_DB"] or ""),
            log_bodies=bool(merged["GATEWAY_LOG_BODIES"]),
            log_body_max_chars=number("GATEWAY_LOG_BODY_MAX_CHARS", int, 0),
            otel_propagate=bool(merged["GATEWAY_OTEL_PROPAGATE"]),
        )


def _choice(merged: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = str(merged[key] or allowed[0]).strip().lower()
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")
    return value
