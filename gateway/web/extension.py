"""The Flask extension: ``Gateway().init_app(app)`` builds the gateway state for ``app``.

``init_app`` reads the ``GATEWAY_*`` keys of ``app.config`` (over the defaults), builds the
per-app state in ``app.extensions["gateway"]`` and nothing else: it does not touch the
host's JSON provider, logging, error pages or monkey-patching.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from gateway.core.settings import DEFAULTS, Settings
from gateway.web.state import EXTENSION_KEY, GatewayState

log = logging.getLogger("gateway")


class Gateway:
    """Attach the gateway to a Flask app; optionally register its blueprint under a prefix."""

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Flask, *, url_prefix: str | None = None, name: str = "gateway") -> None:
        """Build the gateway state for ``app``; with ``url_prefix``, also mount the routes there."""
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        settings = Settings.from_mapping(app.config)
        app.extensions[EXTENSION_KEY] = GatewayState(settings)
        _warn_if_unpatched()
        if url_prefix is not None:
            from gateway.web.blueprint import make_blueprint

            app.register_blueprint(make_blueprint(name), url_prefix=url_prefix or None)


def _warn_if_unpatched() -> None:
    """Warn when running under gevent without monkey-patching (streams would block the worker)."""
    import os
    import sys

    if "gevent" not in sys.modules or "gevent" not in os.environ.get("SERVER_SOFTWARE", "").lower():
        return
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        log.warning("gevent is loaded but the socket module is not patched; upstream calls will block the worker")
