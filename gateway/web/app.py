"""Build a standalone gateway app: ``create_app(config=None)``.

Settings are layered: defaults, then the file named by ``GATEWAY_CONFIG_FILE``, then
``GATEWAY_*`` environment variables, then the ``config`` mapping. Standalone mode also
installs an orjson JSON provider and app-level JSON 404/405 handlers (and a JSON 400 for a
WebSocket upgrade sent to a plain route), which an embedded gateway leaves to its host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing.exceptions import WebsocketMismatch

from gateway.core.settings import DEFAULTS, from_env, from_file
from gateway.web.blueprint import make_blueprint, not_found_response
from gateway.web.extension import Gateway
from gateway.web.jsonprovider import OrjsonProvider
from gateway.web.render import json_response


def _method_not_allowed(exc: MethodNotAllowed) -> Response:
    allowed = ", ".join(exc.valid_methods or [])
    return json_response(
        {"status": "failure", "message": "Method Not Allowed", "ok": False},
        405,
        [("Allow", allowed), ("x-portkey-error-origin", "gateway")],
    )


def _websocket_mismatch(exc: WebsocketMismatch) -> Response:
    return json_response(
        {"status": "failure", "message": "This route does not take WebSocket upgrades", "ok": False},
        400,
        [("x-portkey-error-origin", "gateway")],
    )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Return a Flask app serving the gateway at the root path."""
    app = Flask("gateway", static_folder=None)
    app.json = OrjsonProvider(app)
    app.config.update(DEFAULTS)
    config_file = (config or {}).get("GATEWAY_CONFIG_FILE") or os.environ.get("GATEWAY_CONFIG_FILE")
    if config_file:
        app.config.update(from_file(config_file))
    app.config.update(from_env())
    if config:
        app.config.update(config)
    Gateway().init_app(app)
    app.register_blueprint(make_blueprint())
    app.register_error_handler(NotFound, lambda exc: not_found_response())
    app.register_error_handler(MethodNotAllowed, _method_not_allowed)
    app.register_error_handler(WebsocketMismatch, _websocket_mismatch)
    return app
