"""The catalog as the gateway uses it: providers (slug, credentials, models, aliases), gateway keys, limits.

Built by ``gateway.catalog.schema.parse`` from the TOML file; immutable, swapped whole on reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Rate limits: name -> window length in seconds.
RATE_WINDOWS = {"minute": 60, "hour": 3600, "day": 86400}
RATE_LIMITS = tuple(f"{kind}_per_{window}" for kind in ("requests", "tokens") for window in RATE_WINDOWS)
BUDGET_LIMITS = ("budget_usd", "budget_tokens")
BUDGET_PERIODS = ("day", "week", "month", "total")


@dataclass(frozen=True)
class Limits:
    """The optional limits of one provider or gateway key (None = no limit)."""

    requests_per_minute: int | None = None
    requests_per_hour: int | None = None
    requests_per_day: int | None = None
    tokens_per_minute: int | None = None
    tokens_per_hour: int | None = None
    tokens_per_day: int | None = None
    budget_usd: float | None = None
    budget_tokens: int | None = None
    budget_period: str = "month"

    def set(self) -> dict[str, float]:
        """The limits that are set, by name."""
        names = RATE_LIMITS + BUDGET_LIMITS
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    @property
    def counts_tokens(self) -> bool:
        """Whether answers must report usage for these limits (tokens or spend)."""
        return any(
            getattr(self, name) is not None
            for name in ("tokens_per_minute", "tokens_per_hour", "tokens_per_day", "budget_usd", "budget_tokens")
        )

    @property
    def empty(self) -> bool:
        return not self.set()


@dataclass(frozen=True)
class ProviderEntry:
    """One ``[providers.<slug>]`` table."""

    slug: str
    provider: str
    api_key: str | None = None
    custom_host: str | None = None
    #: Every other provider option a config target accepts (resource_name, aws_region, ...), snake_case.
    options: dict[str, Any] = field(default_factory=dict)
    models: tuple[str, ...] | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    limits: Limits = Limits()

    def resolve_model(self, model: str) -> str:
        """The model sent upstream for ``model`` (an alias resolved)."""
        return self.aliases.get(model, model)

    def allows(self, model: str) -> bool:
        """Whether ``model`` (already resolved) is in the allow-list (no list: every model)."""
        return self.models is None or model in self.models or model in self.aliases


@dataclass(frozen=True)
class KeyEntry:
    """One ``[keys.<name>]`` table: the secret (plain or its SHA-256), the slug allow-list, limits."""

    name: str
    key: str | None = None
    key_sha256: str | None = None
    providers: tuple[str, ...] | None = None
    limits: Limits = Limits()

    def may_use(self, slug: str) -> bool:
        return self.providers is None or slug in self.providers


@dataclass(frozen=True)
class CatalogData:
    """The whole parsed file."""

    providers: dict[str, ProviderEntry] = field(default_factory=dict)
    keys: dict[str, KeyEntry] = field(default_factory=dict)
    #: Warnings found while parsing (literal secrets in the file), logged once per load.
    warnings: tuple[str, ...] = ()
