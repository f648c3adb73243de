"""The catalog's errors, in the gateway envelope (Anthropic's on the Messages routes, like every gateway error)."""

from __future__ import annotations

import math

from gateway.core.errors import BadRequest, GatewayError


def _retry_after(seconds: float) -> dict[str, str]:
    """The ``Retry-After`` header: whole seconds until the limit frees, at least one."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class UnknownSlug(BadRequest):
    def __init__(self, slug: str) -> None:
        super().__init__(f"Unknown catalog provider: @{slug}", param="model", code="unknown_catalog_provider")


class Forbidden(GatewayError):
    """A model outside the provider's allow-list, or a provider outside the key's."""

    status_code = 403
    error_type = "permission_error"


class RateLimited(GatewayError):
    """A requests or tokens limit is reached; ``Retry-After`` is the seconds until its window ends."""

    status_code = 429
    error_type = "rate_limit_error"

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message, code="rate_limit_exceeded", headers=_retry_after(seconds))


class BudgetExhausted(GatewayError):
    """A spend or token budget is used up for its period (412, as the reference's hosted product answers)."""

    status_code = 412
    error_type = "budget_exceeded"

    def __init__(self, message: str, seconds: float | None) -> None:
        headers = _retry_after(seconds) if seconds is not None else None
        super().__init__(message, code="budget_exhausted", headers=headers)


class LimitsUnavailable(GatewayError):
    """The counter store is down and ``GATEWAY_LIMITS_FAIL`` is ``closed``."""

    status_code = 503
    error_type = "service_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "Limits cannot be checked right now (the counter store is unavailable)", code="limits_unavailable"
        )
