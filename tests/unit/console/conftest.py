"""Console apps for the unit tests: the real gateway app, with in-memory record store and catalog fakes."""

from __future__ import annotations

import pytest
from flask import Flask

from gateway import Gateway, create_app
from gateway.console.views import bp as console_bp
from tests.unit.console.fakes import FakeCatalog, FakeRecords

TOKEN = "console-admin-token-for-tests-0123456789"


def _has_console(app: Flask) -> bool:
    return any(name.split(".")[-1] == "console" for name in app.blueprints)


def console_app(token: str | None = TOKEN, prefix: str | None = None, **config) -> Flask:
    """A gateway app with the console; ``prefix`` mounts the gateway in a host app under that path."""
    settings = {"TESTING": True, **config}
    if token is not None:
        settings["GATEWAY_ADMIN_TOKEN"] = token
    if prefix is None:
        app = create_app(settings)
        if not _has_console(app):
            app.register_blueprint(console_bp)
    else:
        app = Flask("host")
        app.config.update(settings)
        Gateway().init_app(app, url_prefix=prefix)
        if not _has_console(app):
            app.register_blueprint(console_bp, url_prefix=prefix)
    state = app.extensions["gateway"]
    state.records = FakeRecords()
    state.catalog = FakeCatalog()
    return app


@pytest.fixture
def app():
    application = console_app()
    yield application
    application.extensions["gateway"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def records(app) -> FakeRecords:
    return app.extensions["gateway"].records


@pytest.fixture
def catalog(app) -> FakeCatalog:
    return app.extensions["gateway"].catalog


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
