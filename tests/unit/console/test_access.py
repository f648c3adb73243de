"""Console access: the setup page without a token, login with a signed cookie, CSRF, Bearer, brute-force 429."""

from __future__ import annotations

import re

import pytest

from gateway.console.access import CSRF_HEADER, LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.unit.console.conftest import TOKEN, console_app

API_ROUTES = [
    ("GET", "/public/api/records"),
    ("GET", "/public/api/records/some-id"),
    ("GET", "/public/api/usage"),
    ("GET", "/public/api/health"),
    ("GET", "/public/api/models"),
    ("GET", "/public/api/session"),
    ("POST", "/public/api/config/validate"),
    ("GET", "/log/stream"),
]


def login_form(client, prefix: str = "") -> str:
    page = client.get(f"{prefix}/public/")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True))
    assert match, "the login page carries a CSRF field"
    return match.group(1)


def log_in(client, token: str = TOKEN, prefix: str = ""):
    nonce = login_form(client, prefix)
    return client.post(f"{prefix}/public/login", data={"token": token, "csrf": nonce})


def csrf_of(client, prefix: str = "") -> str:
    page = client.get(f"{prefix}/public/").get_data(as_text=True)
    return re.search(r'name="console-csrf" content="([^"]+)"', page).group(1)


def test_without_a_token_the_page_explains_how_to_set_one_and_the_api_is_closed():
    app = console_app(token=None)
    client = app.test_client()
    page = client.get("/public/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "GATEWAY_ADMIN_TOKEN" in text and "<form" not in text
    assert len(re.findall(r"<p[ >]", text)) == 1, "one paragraph"
    for method, path in API_ROUTES:
        answer = client.open(path, method=method, headers={"Authorization": "Bearer anything"})
        assert answer.status_code == 403, path
        assert "GATEWAY_ADMIN_TOKEN" in answer.get_json()["error"]["message"]


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_every_api_route_needs_the_session_or_the_bearer_token(client, method, path):
    assert client.open(path, method=method).status_code == 401
    assert client.open(path, method=method, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_bearer_token_opens_the_api(client, admin):
    answer = client.get("/public/api/session", headers=admin)
    assert answer.status_code == 200
    assert answer.get_json() == {"authenticated": True, "via": "bearer"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_bare_public_redirects_and_the_login_page_is_served(client):
    assert client.get("/public").status_code in (301, 308)
    page = client.get("/public/")
    assert page.status_code == 200 and 'type="password"' in page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    cookie = page.headers["Set-Cookie"]
    assert LOGIN_CSRF_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_login_sets_an_httponly_strict_signed_session_cookie(client):
    answer = log_in(client)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/public/")
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie
    assert client.get("/public/api/session").get_json()["via"] == "session"
    page = client.get("/public/").get_data(as_text=True)
    assert 'name="console-csrf"' in page and "console.js" in page


def test_a_forged_or_stale_cookie_is_refused(client):
    client.set_cookie(SESSION_COOKIE, "eyJzaWQiOiJ4In0.forged.signature")
    assert client.get("/public/api/session").status_code == 401
    log_in(client)
    assert client.get("/public/api/session").status_code == 200
    # A cookie signed under another admin token (the key is derived from the token) is worthless here.
    other = console_app(token="a-different-admin-token-000000000").test_client()
    value = client.get_cookie(SESSION_COOKIE).value
    other.set_cookie(SESSION_COOKIE, value)
    assert other.get("/public/api/session").status_code == 401


def test_login_needs_the_form_token_bound_to_its_cookie(client):
    login_form(client)
    answer = client.post("/public/login", data={"token": TOKEN, "csrf": "not-the-nonce"})
    assert answer.status_code == 403
    fresh = console_app().test_client()  # no login cookie at all, as in a cross-site POST
    assert fresh.post("/public/login", data={"token": TOKEN, "csrf": "x"}).status_code == 403
    assert fresh.get_cookie(SESSION_COOKIE) is None


def test_bad_token_rerenders_the_form_with_an_error(client):
    answer = log_in(client, token="wrong")
    assert answer.status_code == 401
    assert "not the admin token" in answer.get_data(as_text=True)
    assert client.get("/public/api/session").status_code == 401


def test_posts_with_the_session_need_the_csrf_header(client):
    log_in(client)
    body = {"config": '{"provider": "openai"}'}
    assert client.post("/public/api/config/validate", json=body).status_code == 403
    wrong = client.post("/public/api/config/validate", json=body, headers={CSRF_HEADER: "0" * 64})
    assert wrong.status_code == 403
    right = client.post("/public/api/config/validate", json=body, headers={CSRF_HEADER: csrf_of(client)})
    assert right.status_code == 200 and right.get_json()["valid"] is True


def test_logout_clears_the_session(client):
    log_in(client)
    assert client.post("/public/logout", data={"csrf": "wrong"}).status_code == 403
    answer = client.post("/public/logout", data={"csrf": csrf_of(client)})
    assert answer.status_code == 303
    assert client.get("/public/api/session").status_code == 401


def test_ten_bad_tokens_a_minute_from_one_address_then_429(client):
    for _ in range(10):
        assert log_in(client, token="guess").status_code == 401
    blocked = log_in(client, token=TOKEN)  # even the right token: the address is throttled
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert client.get_cookie(SESSION_COOKIE) is None
    # Bearer guesses from that address are throttled too; another address is not.
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/public/api/session", headers=bearer).status_code == 429
    other = {"REMOTE_ADDR": "10.9.8.7"}
    assert client.get("/public/api/session", headers=bearer, environ_base=other).status_code == 200


def test_bearer_guesses_count_towards_the_same_limit(client):
    for _ in range(10):
        assert client.get("/public/api/usage", headers={"Authorization": "Bearer guess"}).status_code == 401
    assert client.get("/public/api/usage", headers={"Authorization": "Bearer guess"}).status_code == 429
    assert log_in(client).status_code == 429


def test_the_throttle_window_slides():
    from gateway.console.access import MemoryThrottle

    now = [0.0]
    throttle = MemoryThrottle(attempts=10, window=60, clock=lambda: now[0])
    for i in range(10):
        now[0] = i
        throttle.failed("a")
    assert throttle.retry_after("a") == 51  # the first failure (t=0) leaves the window at t=60
    now[0] = 60.5
    assert throttle.retry_after("a") == 0
    assert throttle.retry_after("b") == 0


def test_under_a_mount_prefix(tmp_path):
    app = console_app(prefix="/llm")
    client = app.test_client()
    assert client.get("/public/").status_code == 404
    page = client.get("/llm/public/").get_data(as_text=True)
    assert 'action="/llm/public/login"' in page and "/llm/public/static/console.css" in page
    answer = log_in(client, prefix="/llm")
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "="))
    assert "Path=/llm/" in cookie
    console = client.get("/llm/public/").get_data(as_text=True)
    assert 'content="/llm/log/stream"' in console
    assert client.get("/llm/public/api/session").status_code == 200
    assert client.get("/llm/public/static/console.js").status_code == 200


def test_gateway_keys_do_not_lock_the_admin_out_of_the_console():
    app = console_app(GATEWAY_API_KEYS=["gw-key-1"])
    app.extensions["gateway"].catalog = None  # the plain GATEWAY_API_KEYS check
    client = app.test_client()
    assert client.get("/public/").status_code == 200
    assert client.get("/public/api/session", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/public/api/session").status_code == 401  # but the console's own check still applies
    assert client.post("/v1/chat/completions", json={}).status_code == 401  # and /v1 still needs a gateway key


def test_the_admin_token_stays_out_of_the_settings_repr(app):
    assert TOKEN not in repr(app.extensions["gateway"].settings)


def test_catalog_gateway_keys_do_not_lock_the_admin_out_either():
    from gateway.core.errors import Unauthorized

    app = console_app()
    catalog = app.extensions["gateway"].catalog
    catalog.requires_key = True  # a catalog with [keys]: every /v1 request needs one of them

    def authenticate(headers):
        raise Unauthorized("A valid gateway key is required", code="invalid_api_key")

    catalog.authenticate = authenticate
    client = app.test_client()
    assert client.get("/public/").status_code == 200
    assert client.get("/public/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/log/stream", headers={"Authorization": "Bearer wrong"}).status_code == 401
