"""The benchmark's floor: the cheapest Flask + gevent proxy we can write, a measuring stick, not a product.

``bench/run.py`` runs it under ``gunicorn -k gevent`` next to this gateway and the reference, so a run shows
what a bare Flask app under gunicorn's gevent workers costs on the same machine, in the same rounds: any
absolute target (e.g. "added p50 latency at c=1 <= 0.6 ms") can be read against it.

It does only what every proxied request needs: one route takes a POST on any path, sends the same body
bytes to the ``x-portkey-custom-host`` base plus the path after ``/v1`` with ``geventhttpclient`` (one
pooled client per origin, kept alive), with the auth and content headers, and answers with the upstream's
status, content type and body. An ``text/event-stream`` answer is relayed piece by piece as it arrives.
No validation, no translation, no logging, no metrics, no error handling: anything unexpected is a 500.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response, request
from geventhttpclient import URL, HTTPClient

FORWARDED = ("Content-Type", "Authorization", "x-api-key", "anthropic-version")
BLOCK = 65536

app = Flask(__name__)
_clients: dict[str, HTTPClient] = {}  # origin -> pooled client
_bases: dict[str, tuple[HTTPClient, str]] = {}  # custom host -> (client, path prefix)


def upstream(base: str) -> tuple[HTTPClient, str]:
    """The client for ``base``'s origin and the path prefix to put before the request's path after ``/v1``."""
    found = _bases.get(base)
    if found is None:
        url = URL(base)
        origin = f"{url.scheme}://{url.netloc}"
        client = _clients.get(origin)
        if client is None:
            client = HTTPClient.from_url(url, concurrency=64, network_timeout=30, connection_timeout=10)
            _clients[origin] = client
        found = _bases[base] = (client, url.path.rstrip("/"))
    return found


def relay(resp) -> Iterator[bytes]:
    """The upstream's body as it arrives, one receive at a time; then the connection goes back to the pool.

    ``resp.read(n)`` waits until it holds ``n`` bytes (or the end), which would batch a stream; so each piece
    here is one ``recv`` fed through the response's parser (which removes the chunked framing).
    """
    try:
        buffer = resp._body_buffer
        while True:
            if buffer:
                piece = bytes(buffer)
                del buffer[:]
                yield piece
            elif resp.message_complete or resp._sock is None:
                return
            elif data := resp._sock.recv(BLOCK):
                resp.feed(data)
            else:
                return  # the upstream closed the connection
    finally:
        resp.release()


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.post("/<path:path>")
def proxy(path: str) -> Response:
    client, prefix = upstream(request.headers["x-portkey-custom-host"])
    headers = {name: value for name in FORWARDED if (value := request.headers.get(name))}
    resp = client.post(prefix + request.path.removeprefix("/v1"), body=request.get_data(), headers=headers)
    content_type = resp.get("content-type") or "application/json"
    if content_type.startswith("text/event-stream"):
        return Response(relay(resp), resp.status_code, content_type=content_type)
    try:
        body = resp.read()
    finally:
        resp.release()
    return Response(body, resp.status_code, content_type=content_type)
