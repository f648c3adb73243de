"""gunicorn settings for the gateway: gevent workers, sized for long-lived streams.

Imports nothing from the app and neither requests, urllib3 nor ssl, so the gevent worker
can monkey-patch before they load (no MonkeyPatchWarning). Every value has an env override.
"""

import multiprocessing
import os

bind = os.environ.get("GATEWAY_BIND", "0.0.0.0:8787")
# gevent, plus a header-read deadline, a bound on idle connections and JSON rejection pages
# (gateway/web/server.py; it imports only gunicorn and gevent, so the rule above holds).
worker_class = "gateway.web.server.GatewayWorker"
logger_class = "gateway.web.server.RedactingLogger"
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
# Request head limits, sized for real configs: an ``x-portkey-config`` with several targets, guardrails
# and override params runs to a few KiB, 16 KiB with large tool schemas; gunicorn's 8 KiB default per
# header answered 431 to those. A head may hold at most fields x field size (about 2 MiB); requests over
# a limit get a JSON 431 (or 414 for the request line) in the gateway's error shape.
limit_request_line = int(os.environ.get("GATEWAY_LIMIT_REQUEST_LINE", "8190"))  # gunicorn's maximum
limit_request_fields = int(os.environ.get("GATEWAY_LIMIT_REQUEST_FIELDS", "64"))
limit_request_field_size = int(os.environ.get("GATEWAY_LIMIT_REQUEST_FIELD_SIZE", "32768"))
# A new connection must send its request head within GATEWAY_HEADER_TIMEOUT seconds (default 10);
# connections waiting idle for a request are closed longest-waiting first when a worker nears
# worker_connections (GATEWAY_MAX_IDLE_CONNECTIONS caps them outright). Both are read by the worker.
# gunicorn's control socket defaults to one path per user; several gateways on a host would share it.
control_socket_disable = "GATEWAY_CONTROL_SOCKET" not in os.environ
if not control_socket_disable:
    control_socket = os.environ["GATEWAY_CONTROL_SOCKET"]
accesslog = os.environ.get("GATEWAY_ACCESSLOG") or None
if os.environ.get("GATEWAY_ACCESSLOG_FORMAT"):
    access_log_format = os.environ["GATEWAY_ACCESSLOG_FORMAT"]
errorlog = "-"
loglevel = os.environ.get("GATEWAY_LOGLEVEL", "info")
