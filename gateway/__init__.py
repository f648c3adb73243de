"""A Portkey-compatible AI gateway for Flask and gunicorn.

Public surface: ``create_app`` (standalone app), ``Gateway`` (the ``init_app`` extension)
and ``make_blueprint`` (mount the routes in a host app under any prefix).
"""

from __future__ import annotations

from gateway.core.version import VERSION as __version__

__all__ = ["Gateway", "__version__", "create_app", "make_blueprint"]


def __getattr__(name: str):
    # Imported lazily so that ``import gateway.<module>`` from blueprints never cycles back here.
    if name == "create_app":
        from gateway.web.app import create_app

        return create_app
    if name == "Gateway":
        from gateway.web.extension import Gateway

        return Gateway
    if name == "make_blueprint":
        from gateway.web.blueprint import make_blueprint

        return make_blueprint
    raise AttributeError(f"module 'gateway' has no attribute {name!r}")
