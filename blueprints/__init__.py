"""One Flask blueprint per endpoint group; ``gateway.make_blueprint`` assembles them.

Host applications import from ``gateway`` only, never from this package directly.
"""
