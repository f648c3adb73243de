"""Each request's Redis time account: how long this request has spent waiting on Redis so far.

Opened by the web layer before every request (``start_request``) and read by the guarded Redis
client (``gateway.stores.redis_guard``), which refuses calls once the request's budget is spent.
Kept apart from the client so opening an account never imports redis.
"""

from __future__ import annotations

from contextvars import ContextVar


class _Account:
    __slots__ = ("spent",)

    def __init__(self) -> None:
        self.spent = 0.0


_account: ContextVar[_Account | None] = ContextVar("gateway_redis_account", default=None)


def start_request() -> None:
    """Open a fresh Redis time account for the request being served in this context."""
    _account.set(_Account())


def current_account() -> _Account | None:
    """The account of the request served in this context (None outside a request)."""
    return _account.get()
