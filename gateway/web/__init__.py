"""The Flask face: app factory, ``init_app`` extension, blueprints, request → ``Call``, rendering, per-app state."""
