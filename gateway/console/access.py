"""Who may use the console: the admin token, the signed session cookie, CSRF tokens and the login throttle.

The token (``GATEWAY_ADMIN_TOKEN``) is only ever compared with ``hmac.compare_digest``. The
session cookie holds a random session id signed (itsdangerous) with a key derived from the
token, so changing the token logs every browser out. A cookie-authenticated POST must carry
the session's CSRF token (an HMAC of the session id) in ``X-Console-CSRF``; the login form
uses a double-submit token bound to a SameSite=Strict cookie. Failed tokens (from the form or
a ``Bearer`` header) are counted per client address: after ``LOGIN_ATTEMPTS`` in
``LOGIN_WINDOW`` seconds the address gets 429 until the window frees.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateway.core.failopen import ThrottledWarning

log = logging.getLogger("gateway.console")

SESSION_COOKIE = "gateway_console"
LOGIN_CSRF_COOKIE = "gateway_console_login"
CSRF_HEADER = "X-Console-CSRF"
SESSION_MAX_AGE = 12 * 3600
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW = 60.0


def _derive(token: str, purpose: bytes) -> bytes:
    return hmac.new(token.encode(), b"portkey-flask-gateway console " + purpose, hashlib.sha256).digest()


class ConsoleAccess:
    """Check admin tokens and issue or verify session cookies and CSRF tokens for one token."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self._csrf_key = _derive(token, b"csrf")
        self._sessions = URLSafeTimedSerializer(_derive(token, b"session"), salt="console-session")

    def token_ok(self, offered: str | None) -> bool:
        """Return whether ``offered`` is the admin token (constant time)."""
        return hmac.compare_digest((offered or "").encode(), self._token)

    def new_session(self) -> str:
        """Return a fresh signed session cookie value."""
        return self._sessions.dumps({"sid": secrets.token_urlsafe(18)})

    def session_id(self, cookie: str | None) -> str | None:
        """Return the session id of a valid, unexpired cookie value, else None."""
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        sid = data.get("sid") if isinstance(data, dict) else None
        return sid if isinstance(sid, str) and sid else None

    def csrf_for(self, sid: str) -> str:
        """Return the CSRF token a page of session ``sid`` sends back on POSTs."""
        return hmac.new(self._csrf_key, sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, offered: str | None) -> bool:
        """Return whether ``offered`` is the CSRF token of session ``sid``."""
        return hmac.compare_digest((offered or "").encode(), self.csrf_for(sid).encode())


class MemoryThrottle:
    """Count failures per address in this process over a sliding window."""

    def __init__(
        self, attempts: int = LOGIN_ATTEMPTS, window: float = LOGIN_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        stamps = self._failures.setdefault(address, deque())
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        return stamps

    def retry_after(self, address: str) -> int:
        """Return the seconds until ``address`` may try again (0: it may try now)."""
        with self._lock:
            now = self._clock()
            stamps = self._recent(address, now)
            if len(stamps) < self.attempts:
                if not stamps:
                    self._failures.pop(address, None)
                return 0
            return max(1, int(stamps[-self.attempts] + self.window - now + 0.999))

    def failed(self, address: str) -> None:
        """Count one bad token from ``address``."""
        with self._lock:
            now = self._clock()
            self._recent(address, now).append(now)
            if len(self._failures) > 10000:  # bound memory under a spray of addresses
                oldest = next(iter(self._failures))
                self._failures.pop(oldest, None)


class RedisThrottle:
    """Count failures per address in Redis (fixed one-minute windows), shared by every worker and instance.

    Falls back to the in-process counter while Redis cannot be reached.
    """

    def __init__(self, client: Any, attempts: int = LOGIN_ATTEMPTS, window: float = LOGIN_WINDOW) -> None:
        self._redis = client
        self.attempts = attempts
        self.window = window
        self._fallback = MemoryThrottle(attempts, window)
        self._warn = ThrottledWarning(log, "console login throttle unavailable in Redis, counting per worker")

    def _key(self, address: str) -> str:
        return f"gw:console:fail:{address}"

    def retry_after(self, address: str) -> int:
        try:
            count = self._redis.get(self._key(address))
            if count is None or int(count) < self.attempts:
                return 0
            ttl = self._redis.ttl(self._key(address))
            return max(1, int(ttl)) if ttl and ttl > 0 else 1
        except Exception as exc:  # noqa: BLE001 - any Redis failure falls back to the local count
            self._warn(exc)
            return self._fallback.retry_after(address)

    def failed(self, address: str) -> None:
        try:
            pipe = self._redis.pipeline()
            pipe.incr(self._key(address))
            pipe.expire(self._key(address), int(self.window), nx=True)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)
            self._fallback.failed(address)
