"""The console at ``/public/``: request logs (stored and live), usage against limits, a playground, health.

``bp`` is registered inside the gateway's parent blueprint (``gateway.blueprint``), so it is
served at the root of a standalone gateway and under the mount prefix of an embedded one.
Access needs ``GATEWAY_ADMIN_TOKEN``; see ``gateway.console.access``.
"""
