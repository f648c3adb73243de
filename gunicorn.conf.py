"""gunicorn settings for the gateway: gevent workers, sized for long-lived streams.

Imports nothing from the app and neither requests, urllib3 nor ssl, so the gevent worker
can monkey-patch before they load (no MonkeyPatchWarning). Every value has an env override.
"""

import multiprocessing
import os

bind = os.environ.get("GATEWAY_BIND", "0.0.0.0:8787")
worker_class = "gevent"
workers = int(os.environ.get("GATEWAY_WORKERS") or os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_connections = int(os.environ.get("GATEWAY_WORKER_CONNECTIONS", "1000"))
# The upstream pool keeps one connection per concurrent request a worker can serve.
os.environ.setdefault("GATEWAY_POOL_MAXSIZE", str(worker_connections))
# For async workers the timeout is a heartbeat, not a request limit.
timeout = 30
# Streams still running on a restart get this long to finish.
graceful_timeout = int(os.environ.get("GATEWAY_GRACEFUL_TIMEOUT", "120"))
# Above a typical load balancer idle timeout (60 s).
keepalive = int(os.environ.get("GATEWAY_KEEPALIVE", "75"))
max_requests = 0
# gunicorn's control socket defaults to one path per user; several gateways on a host would share it.
control_socket_disable = "GATEWAY_CONTROL_SOCKET" not in os.environ
if not control_socket_disable:
    control_socket = os.environ["GATEWAY_CONTROL_SOCKET"]
accesslog = os.environ.get("GATEWAY_ACCESSLOG") or None
if os.environ.get("GATEWAY_ACCESSLOG_FORMAT"):
    access_log_format = os.environ["GATEWAY_ACCESSLOG_FORMAT"]
errorlog = "-"
loglevel = os.environ.get("GATEWAY_LOGLEVEL", "info")
