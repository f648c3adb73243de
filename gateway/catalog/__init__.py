"""The Model Catalog: ``@slug/model`` strings, server-side credentials, gateway keys, limits and budgets.

``Catalog`` (``state.catalog``) is built from ``GATEWAY_CATALOG_FILE``; see ``docs/catalog.md``.
Modules: ``schema`` (the file, validated with marshmallow), ``loader`` (SIGHUP and file-change
reload), ``keys`` (gateway keys), ``resolve`` (model strings and plans), ``limits`` / ``counters`` /
``windows`` (rate limits and budgets over SQLite or Redis), ``usage`` and ``pricing`` (tokens and cost),
``redact`` (credentials masked in answers), ``caller`` (governance around one leaf), ``listing`` (``GET /v1/models``).
"""
