"""The gateway's version, reported by ``/healthz`` and ``gateway.__version__``."""

VERSION = "0.1.0"
