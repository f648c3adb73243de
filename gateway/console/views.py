"""The console blueprint: pages under ``/public/``, its JSON API under ``/public/api/`` and ``GET /log/stream``.

Registered inside the gateway's parent blueprint, so it follows the mount prefix of an
embedded gateway (``/llm/public/``). Pages and static files are the package's own files
(``templates/``, ``static/``); the API answers JSON and needs the session cookie or
``Authorization: Bearer <GATEWAY_ADMIN_TOKEN>``.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from functools import wraps
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, redirect, render_template, request, send_from_directory, url_for

from gateway.console import livelog, sources
from gateway.console.access import (
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    ConsoleAccess,
    MemoryThrottle,
    RedisThrottle,
)
from gateway.web.state import current_state

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
EXTENSION_KEY = "gateway.console"
MAX_PAGE = 200
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
TEXT_FILTERS = ("provider", "catalog_slug", "gateway_key", "model", "trace_id", "metadata")

bp = Blueprint("console", __name__, template_folder="templates")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


# --- state -------------------------------------------------------------------------------------


def admin_token() -> str:
    """The configured admin token ('' when the console is off)."""
    settings = current_state().settings
    token = getattr(settings, "admin_token", None)
    if token is None:
        token = current_app.config.get("GATEWAY_ADMIN_TOKEN")
    return str(token or "")


class _Console:
    """Per-app console objects: the access checker of the current token and the login throttle."""

    def __init__(self, token: str, state: Any) -> None:
        self.token = token
        self.access = ConsoleAccess(token)
        redis = getattr(state, "redis", None)
        self.throttle: Any = RedisThrottle(redis) if redis is not None else MemoryThrottle()


def _console() -> _Console | None:
    token = admin_token()
    if not token:
        return None
    holder = current_app.extensions.get(EXTENSION_KEY)
    if holder is None or not secrets.compare_digest(holder.token, token):
        holder = _Console(token, current_state())
        current_app.extensions[EXTENSION_KEY] = holder
    return holder


def _address() -> str:
    return request.remote_addr or "unknown"


def _base() -> str:
    """Path of the console root (``/public/`` or ``<prefix>/public/``)."""
    return url_for(".index")


def _cookie_path() -> str:
    """The mount root, so the cookie also reaches ``<prefix>/log/stream``."""
    return _base().removesuffix("public/") or "/"


# --- responses ---------------------------------------------------------------------------------


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(orjson.dumps(payload), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _problem(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": {"message": message, "status": status}}, status, headers)


@bp.after_request
def _page_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


# --- access ------------------------------------------------------------------------------------


def _authorize() -> Response | None:
    """Admit the request with a valid session (plus CSRF on writes) or Bearer admin token; else an error."""
    console = _console()
    if console is None:
        return _problem(403, "The console is off: set GATEWAY_ADMIN_TOKEN to enable it")
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        wait = console.throttle.retry_after(_address())
        if wait:
            return _problem(429, "Too many bad tokens; try again later", {"Retry-After": str(wait)})
        if console.access.token_ok(header[7:].strip()):
            g.console_via = "bearer"
            return None
        console.throttle.failed(_address())
        return _problem(401, "Invalid admin token", {"WWW-Authenticate": 'Bearer realm="gateway console"'})
    sid = console.access.session_id(request.cookies.get(SESSION_COOKIE))
    if sid is None:
        return _problem(401, "Log in to the console or send Authorization: Bearer <admin token>")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        offered = request.headers.get(CSRF_HEADER) or request.form.get("csrf")
        if not console.access.csrf_ok(sid, offered):
            return _problem(403, "Missing or wrong CSRF token")
    g.console_via = "session"
    g.console_sid = sid
    return None


def requires_admin(view):
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        refused = _authorize()
        return refused if refused is not None else view(*args, **kwargs)

    return wrapped


# --- pages -------------------------------------------------------------------------------------


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, base=_base(), **context), status=status, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_page(console: _Console, status: int = 200, error: str | None = None) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = _page("console/login.html", status, csrf=nonce, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        max_age=600,
        path=_base(),
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    return response


@bp.get("/public")
def bare() -> Response:
    return redirect(_base(), 308)


@bp.get("/public/")
def index() -> Response:
    console = _console()
    if console is None:
        return _page("console/setup.html")
    sid = console.access.session_id(request.cookies.get(SESSION_COOKIE))
    if sid is None:
        return _login_page(console)
    return _page("console/console.html", csrf=console.access.csrf_for(sid), stream=_cookie_path() + "log/stream")


@bp.post("/public/login")
def login() -> Response:
    console = _console()
    if console is None:
        return redirect(_base(), 303)
    wait = console.throttle.retry_after(_address())
    if wait:
        response = _login_page(console, 429, f"Too many bad tokens from your address. Try again in {wait} s.")
        response.headers["Retry-After"] = str(wait)
        return response
    form_nonce = request.form.get("csrf", "")
    cookie_nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not form_nonce or not secrets.compare_digest(form_nonce.encode(), cookie_nonce.encode()):
        return _login_page(console, 403, "The login form expired; please try again.")
    if not console.access.token_ok(request.form.get("token", "")):
        console.throttle.failed(_address())
        return _login_page(console, 401, "That is not the admin token.")
    response = redirect(_base(), 303)
    response.set_cookie(
        SESSION_COOKIE,
        console.access.new_session(),
        max_age=SESSION_MAX_AGE,
        path=_cookie_path(),
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=_base())
    return response


@bp.post("/public/logout")
@requires_admin
def logout() -> Response:
    response = redirect(_base(), 303)
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(), httponly=True, samesite="Strict")
    return response


@bp.get("/public/static/<path:filename>")
def static(filename: str) -> Response:
    response = send_from_directory(STATIC, filename, max_age=300)
    if filename.endswith(".js"):
        response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


# --- API ---------------------------------------------------------------------------------------


def _number(name: str) -> float | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise _BadQuery(f"{name} must be a number (epoch seconds)") from None
    if not math.isfinite(value):
        raise _BadQuery(f"{name} must be a finite number")
    return value


class _BadQuery(Exception):
    pass


def _filters() -> dict[str, Any]:
    filters: dict[str, Any] = {}
    klass = request.args.get("status_class", "").strip().lower()
    if klass:
        if klass not in STATUS_CLASSES:
            raise _BadQuery(f"status_class must be one of {', '.join(STATUS_CLASSES)}")
        filters["status_class"] = klass
    for name in TEXT_FILTERS:
        value = request.args.get(name, "").strip()
        if value:
            filters[name] = value[:500]
    if "metadata" in filters and "=" not in filters["metadata"]:
        raise _BadQuery("metadata must be key=value")
    for name in ("since", "until"):
        value = _number(name)
        if value is not None:
            filters[name] = value
    return filters


def _limit() -> int:
    raw = request.args.get("limit", "").strip()
    if not raw:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise _BadQuery(f"limit must be an integer from 1 to {MAX_PAGE}")
    return int(raw)


@bp.get("/public/api/session")
@requires_admin
def session_info() -> Response:
    return _json({"authenticated": True, "via": g.console_via})


@bp.get("/public/api/records")
@requires_admin
def records() -> Response:
    try:
        filters, limit = _filters(), _limit()
    except _BadQuery as exc:
        return _problem(400, str(exc))
    before = request.args.get("before", "").strip() or None
    return _json({"filters": filters, **sources.page(current_state(), filters, limit, before)})


@bp.get("/public/api/records/<record_id>")
@requires_admin
def record(record_id: str) -> Response:
    found = sources.one(current_state(), record_id)
    if found is None:
        return _problem(404, "No such record")
    return _json(found)


@bp.get("/public/api/usage")
@requires_admin
def usage() -> Response:
    return _json(sources.usage(current_state()))


@bp.get("/public/api/health")
@requires_admin
def health() -> Response:
    return _json(sources.health(current_state()))


@bp.get("/public/api/models")
@requires_admin
def models() -> Response:
    return _json(sources.catalog_models(current_state()))


@bp.post("/public/api/config/validate")
@requires_admin
def validate_config() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "config" not in body:
        return _problem(400, 'Send {"config": <config text or object>}')
    config = body["config"]
    text = config if isinstance(config, str) else orjson.dumps(config).decode()
    return _json(sources.validate_config(current_state(), text))


@bp.get("/log/stream")
@requires_admin
def log_stream() -> Response:
    client_id = f"{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}"
    store = sources.records_of(current_state())
    body = livelog.stream(store, client_id)
    response = Response(body, content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
