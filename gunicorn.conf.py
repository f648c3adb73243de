"""gunicorn settings for the gateway: gevent workers, sized for long-lived streams.

Imports nothing from the app and neither requests, urllib3 nor ssl, so the gevent worker
can monkey-patch before they load (no MonkeyPatchWarning); only hooks that run in a worker after
the app has loaded (``post_worker_init``, ``worker_exit``) reach into it. Every value has an env
override. The observability hooks below are described in docs/observability.md.
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

# -- observability (docs/observability.md) -----------------------------------------------------------
# Prometheus multiprocess mode: every worker writes its values under one directory, made fresh for this
# master unless PROMETHEUS_MULTIPROC_DIR names one (then it is emptied at start).
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_metrics_dir_made = not _metrics_dir
if not _metrics_dir:
    import tempfile

    _metrics_dir = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
_metrics_server = None


def on_starting(server):
    """Start with no values left from an earlier run in the metrics directory."""
    import glob

    os.makedirs(_metrics_dir, exist_ok=True)
    for path in glob.glob(os.path.join(_metrics_dir, "*.db")):
        os.remove(path)


def when_ready(server):
    """With GATEWAY_METRICS_BIND, serve /metrics on that address from a small process of its own."""
    global _metrics_server
    bind_to = os.environ.get("GATEWAY_METRICS_BIND")
    if bind_to:
        import subprocess
        import sys

        _metrics_server = subprocess.Popen([sys.executable, "-m", "gateway.observability.metrics_server", bind_to])


def worker_exit(server, worker):
    """Write this worker's last request records and metric updates before it goes."""
    import sys

    telemetry = sys.modules.get("gateway.observability.telemetry")
    if telemetry is not None:
        telemetry.flush_all()


def child_exit(server, worker):
    """Drop a dead worker's live gauges (what prometheus_client's mark_process_dead does, without importing it)."""
    import glob

    for path in glob.glob(os.path.join(_metrics_dir, f"gauge_live*_{worker.pid}.db")):
        os.remove(path)


def on_exit(server):
    """Stop the metrics process; remove the metrics directory made for this master."""
    if _metrics_server is not None and _metrics_server.poll() is None:
        _metrics_server.terminate()
        _metrics_server.wait(5)
    if _metrics_dir_made:
        import shutil

        shutil.rmtree(_metrics_dir, ignore_errors=True)


# The request log (the `gateway.requests` logger): one JSON object per request (python-json-logger), or a
# short text line, on stdout; GATEWAY_LOG_FORMAT=off leaves it unconfigured. Set in each worker after the
# app loads (post-patch), leaving gunicorn's own loggers (and its access log switch) as they are.
_log_format = os.environ.get("GATEWAY_LOG_FORMAT", "json").lower()


def post_worker_init(worker):
    """Give the `gateway.requests` logger its handler; then freeze the loaded app out of the GC's sight."""
    _request_log_handler()
    # Everything loaded so far (modules, the app, the gateway's state) lives as long as the worker: the
    # collector need not scan it. Without this a full collection walks the whole heap (25-60 ms on a
    # small VM, every request in flight waits); with it, about 2 ms.
    import gc

    gc.collect()
    gc.freeze()


def _request_log_handler():
    if _log_format not in ("json", "text"):
        return
    import atexit
    import logging
    import sys

    from gateway.observability.logs import BufferedStreamHandler, json_formatter

    # Thread and process names are meaningless under gevent (and costly to look up per greenlet).
    logging.logThreads = logging.logMultiprocessing = False
    handler = BufferedStreamHandler(sys.stdout)
    atexit.register(handler.flush_now)
    if _log_format == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    requests_log = logging.getLogger("gateway.requests")
    requests_log.handlers[:] = [handler]
    requests_log.setLevel(logging.INFO)
    requests_log.propagate = False
