"""The Flask extension: ``Gateway().init_app(app)`` builds the gateway state for ``app``.

``init_app`` reads the ``GATEWAY_*`` keys of ``app.config`` (over the defaults), builds the
per-app state in ``app.extensions["gateway"]`` and nothing else: it does not touch the
host's JSON provider, logging, error pages or monkey-patching.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from gateway.web.state import install_state


class Gateway:
    """Attach the gateway to a Flask app; optionally register its blueprint under a prefix."""

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Flask, *, url_prefix: str | None = None, name: str = "gateway") -> None:
        """Build the gateway state for ``app``; with ``url_prefix``, also mount the routes there."""
        install_state(app)
        if url_prefix is not None:
            from gateway.web.blueprint import make_blueprint

            app.register_blueprint(make_blueprint(name), url_prefix=url_prefix or None)
