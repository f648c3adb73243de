"""The compiled routing tree: ``Leaf`` (one provider call, options resolved), ``Branch`` (a strategy), ``Plan``.

Built by ``gateway.routing.compiler``; walked by ``gateway.routing.router``; a ``Leaf`` is what the
leaf pipeline, the exchanges and the credential resolvers are handed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from translators.registry import ProviderSpec


@dataclass(frozen=True)
class RetryPolicy:
    """How often and on which statuses one leaf is retried."""

    attempts: int = 0
    on_status_codes: tuple[int, ...] = ()
    use_retry_after_header: bool = False
    configured: bool = False


@dataclass
class Leaf:
    """One provider call with every option resolved."""

    path: str
    provider: str
    spec: ProviderSpec
    api_key: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    custom_host: str | None = None
    guard_host: bool = False
    forward_headers: tuple[str, ...] = ()
    request_timeout: float | None = None
    override_params: dict[str, Any] = field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    cache: dict[str, Any] | None = None
    circuit_breaker: dict[str, Any] | None = None
    strict: bool = True
    weight: float = 1.0
    name: str | None = None
    #: Compiled hooks (``gateway.guardrails.hooks.Hook``) for the input and output events.
    before_hooks: list[Any] = field(default_factory=list)
    after_hooks: list[Any] = field(default_factory=list)
    #: The Model Catalog slug this leaf was bound from (``gateway.catalog``), None for inline targets.
    catalog: str | None = None


@dataclass
class Branch:
    """A strategy over child nodes."""

    path: str
    mode: str
    targets: list["Node"]
    on_status_codes: tuple[int, ...] | None = None
    conditions: list[dict[str, Any]] = field(default_factory=list)
    default: str | None = None
    weight: float = 1.0
    name: str | None = None


Node = Leaf | Branch


@dataclass
class Plan:
    """The compiled routing tree for one request."""

    root: Node
