"""The Flask face: app factory, ``init_app`` extension, blueprint assembly, request → ``Call``, rendering, the per-app state."""
