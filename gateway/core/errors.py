"""Define the gateway's error classes and the JSON bodies they render to.

Two shapes exist, as in the reference gateway:

* gateway errors (bad headers, bad config, bad body): ``{"status": "failure", "message": ...}``,
  with an OpenAI-style ``error`` object added so SDKs show a useful message;
* provider-side errors (a provider's non-2xx, an unreachable or timed-out upstream): OpenAI's
  envelope ``{"error": {"message", "type", "param", "code"}, "provider": ...}``.

Every error response names its origin in ``x-portkey-error-origin`` (``gateway`` or a provider id).
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base class: an error the gateway reports itself, in the gateway shape."""

    status_code = 500
    error_type = "gateway_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        param: str | None = None,
        code: str | None = None,
        errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.param = param
        self.code = code
        self.errors = errors
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        """Render the gateway error body."""
        body: dict[str, Any] = {"status": "failure", "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["error"] = {
            "message": self.message if self.errors is None else f"{self.message}: {'; '.join(self.errors)}",
            "type": self.error_type,
            "param": self.param,
            "code": self.code,
        }
        return body


class BadRequest(GatewayError):
    """A malformed request: 400 ``invalid_request_error``."""

    status_code = 400
    error_type = "invalid_request_error"


class InvalidConfig(BadRequest):
    """An ``x-portkey-config`` that fails validation; carries the reference's ``errors`` list."""

    def __init__(self, errors: list[str], *, param: str | None = None) -> None:
        super().__init__("Invalid config passed", errors=errors, param=param, code="invalid_config")


class Unauthorized(GatewayError):
    """The gateway's own key check failed."""

    status_code = 401
    error_type = "authentication_error"


class NotFound(GatewayError):
    """No such route or object."""

    status_code = 404
    error_type = "not_found_error"


class PayloadTooLarge(GatewayError):
    """A body over the configured size limit."""

    status_code = 413
    error_type = "invalid_request_error"


class ProviderError(Exception):
    """An error to render in OpenAI's envelope on behalf of ``provider``.

    Used for a provider's own non-2xx answer and for failures reaching it.
    """

    def __init__(
        self,
        provider: str,
        status_code: int,
        message: str,
        *,
        error_type: str | None = None,
        param: str | None = None,
        code: str | int | None = None,
        origin: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        self.message = message
        self.error_type = error_type
        self.param = param
        self.code = code
        self.origin = origin or provider
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        """Render OpenAI's error envelope with the ``provider`` field."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            },
            "provider": self.provider,
        }


class UpstreamUnavailable(ProviderError):
    """The provider could not be reached (connect refused, DNS, reset, TLS): 502."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(
            provider,
            502,
            f"{provider} error: could not reach the provider: {detail}",
            error_type="upstream_unavailable",
            origin="gateway",
        )


class UpstreamTimeout(ProviderError):
    """The provider did not answer within the gateway's read timeout: 504."""

    def __init__(self, provider: str, seconds: float) -> None:
        super().__init__(
            provider,
            504,
            f"{provider} error: no response from the provider within {seconds:g}s",
            error_type="upstream_timeout",
            origin="gateway",
        )


class RequestTimeout(ProviderError):
    """The per-attempt ``request_timeout`` expired: 408, worded as the reference does."""

    def __init__(self, provider: str, timeout_ms: float) -> None:
        super().__init__(
            provider,
            408,
            f"Request exceeded the timeout sent in the request: {timeout_ms:g}ms",
            error_type="timeout_error",
            origin="gateway",
        )

    def to_dict(self) -> dict[str, Any]:
        """Render the reference's 408 body (no ``provider`` field)."""
        body = super().to_dict()
        del body["provider"]
        return body


def dotted(path: tuple) -> str:
    """Render a path tuple as ``targets[0].retry.attempts``."""
    out = ""
    for part in path:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def config_error(path: tuple, message: str) -> InvalidConfig:
    """Build an ``InvalidConfig`` for one problem at ``path``."""
    return InvalidConfig([f"path: {','.join(str(p) for p in path)}, message: {message}"], param=dotted(path) or None)
