"""A real headless Chromium (Debian's package, driven by Playwright) against a real gateway under gunicorn.

The gateway runs with an admin token and a catalog file whose provider and gateway key point at
the mock provider. A failed test leaves a screenshot of its page in ``tests/artifacts/``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import ROOT, Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "tests" / "artifacts"

ADMIN_TOKEN = "console-browser-admin-token-6f1d2c9a"
GATEWAY_KEY = "gw-console-team-key-4b7e10"
PROVIDER_KEY = "sk-console-provider-secret-9a8b7c"
SLUG = "mock-openai"
KEY_NAME = "team-console"

CATALOG = """
[providers.{slug}]
provider = "openai"
api_key = "${{CONSOLE_TEST_PROVIDER_KEY}}"
models = ["gpt-4o-mini", "gpt-test"]
[providers.{slug}.limits]
requests_per_minute = 10
budget_usd = 5.0
budget_tokens = 1000

[keys.{key_name}]
key_sha256 = "{key_hash}"
[keys.{key_name}.limits]
requests_per_minute = 200
budget_tokens = 5000
"""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright import sync_api  # requirements-dev.txt

    assert os.path.exists(CHROMIUM), "the console's browser tests need Debian's chromium (apt-get install chromium)"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("console") / "catalog.toml"
    key_hash = hashlib.sha256(GATEWAY_KEY.encode()).hexdigest()
    path.write_text(CATALOG.format(slug=SLUG, key_name=KEY_NAME, key_hash=key_hash))
    return path


@pytest.fixture(scope="session")
def console_gateway(gateway_factory, catalog_file: Path) -> Server:
    """One gateway (one gevent worker) with the console, the catalog and request records (its own file) on."""
    return gateway_factory(
        GATEWAY_ADMIN_TOKEN=ADMIN_TOKEN,
        GATEWAY_CATALOG_FILE=str(catalog_file),
        GATEWAY_RECORDS_DB=str(catalog_file.with_name("records.sqlite3")),
        GATEWAY_LIMITS_DB=str(catalog_file.with_name("limits.sqlite3")),
        CONSOLE_TEST_PROVIDER_KEY=PROVIDER_KEY,
        GATEWAY_STREAM_IDLE_TIMEOUT="5",
    )


def admin_get(gateway: Server, path: str, **params) -> dict:
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    answer = requests.get(f"{gateway.url}/public/api/{path}", params=params, headers=bearer, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture(scope="session")
def has_records(console_gateway: Server) -> bool:
    return admin_get(console_gateway, "records", limit=1)["available"]


@pytest.fixture(scope="session")
def has_catalog(console_gateway: Server) -> bool:
    return bool(admin_get(console_gateway, "models")["catalog"])


@pytest.fixture
def needs_records(has_records: bool) -> None:
    assert has_records, "the console gateway has no request-record store"


@pytest.fixture
def needs_catalog(has_catalog: bool) -> None:
    assert has_catalog, "the console gateway has no model catalog"


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:120]


@pytest.fixture
def page(browser, request) -> Iterator[object]:
    """A fresh browser context (no cookies) at 1280x800; screenshot on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.js_errors = errors
    yield tab
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{_artifact_name(request.node.nodeid)}.png"), full_page=True)
        except Exception as exc:
            print(f"screenshot failed: {exc}")
    context.close()


def log_in(tab, gateway: Server, view: str = "logs") -> None:
    tab.goto(f"{gateway.url}/public/")
    tab.fill("#token", ADMIN_TOKEN)
    tab.click("#login-form button[type=submit]")
    tab.wait_for_selector("#nav")
    if view != "logs":
        tab.goto(f"{gateway.url}/public/#{view}")
    tab.wait_for_selector(f"#view-{view}:not([hidden])")
