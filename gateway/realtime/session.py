"""Proxy realtime WebSocket sessions (``GET /v1/realtime``) to OpenAI or Azure OpenAI.

Provider facts (OpenAI realtime guide and API reference; Azure OpenAI realtime how-to):
OpenAI serves ``wss://api.openai.com/v1/realtime?model=<model>`` with ``Authorization: Bearer <key>``;
``OpenAI-Beta: realtime=v1`` selects the beta protocol (sent only when the client sent it). Browsers
cannot set headers, so OpenAI also reads ``Sec-WebSocket-Protocol`` entries: ``realtime``,
``openai-insecure-api-key.<key>``, ``openai-beta.realtime-v1``, ``openai-organization.<id>``,
``openai-project.<id>``. Azure OpenAI serves ``wss://{resource}.openai.azure.com/openai/realtime
?api-version=<v>&deployment=<deployment>`` (GA: ``/openai/v1/realtime?model=<deployment>``) with
``api-key`` or an Entra bearer token. A custom host replaces the base URL (``http`` -> ``ws``,
``https`` -> ``wss``), as on every other route.

The session goes to the first leaf of the plan, in config order, whose provider serves realtime
(OpenAI-compatible or Azure adapters): a WebSocket session cannot be replayed, so strategies,
retries and caching do not apply. The upstream handshake happens first, so a refusal answers the
client's handshake with the provider's status and an OpenAI error envelope. Transport is wsproto
(sans-I/O) on the raw gunicorn socket and on a socket of our own (peer address checked for
untrusted custom hosts). Sessions connect directly: ``GATEWAY_PROXIES`` is not applied here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from wsproto.utilities import LocalProtocolError

from gateway.catalog import realtime as catalog_realtime
from gateway.core.errors import BadRequest, Unauthorized
from gateway.core.options import RequestOptions
from gateway.core.plan import Leaf, Node
from gateway.core.safelog import log_unexpected
from gateway.realtime.connect import ClientHandshake, UpstreamPlan, connect_upstream
from gateway.realtime.pump import Peer, run_session
from gateway.routing.compiler import compile_plan
from gateway.transport.client import USER_AGENT
from translators.azure import translator as azure_translator
from translators.contract import Target, TranslationError
from translators.openai import compat as openai_translator

if TYPE_CHECKING:
    from gateway.web.state import GatewayState

log = logging.getLogger("gateway.realtime.session")

KEY_PROTOCOL = "openai-insecure-api-key."
HANDSHAKE_TIMEOUT = 30.0
#: Client headers never forwarded upstream, even when named in ``forward_headers``.
_HANDSHAKE_HEADERS = frozenset(
    {"host", "connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"}
)


def offered_protocols(headers: Sequence[tuple[str, str]]) -> tuple[list[str], str | None]:
    """Return the client's subprotocols without the key entry, and the key that entry carried."""
    protocols: list[str] = []
    key = None
    for name, value in headers:
        if name.lower() != "sec-websocket-protocol":
            continue
        for item in (part.strip() for part in value.split(",")):
            if item.startswith(KEY_PROTOCOL):
                key = item[len(KEY_PROTOCOL) :] or None
            elif item:
                protocols.append(item)
    return protocols, key


def serves_realtime(leaf: Leaf) -> bool:
    """Return whether ``leaf``'s provider can take a realtime session."""
    return leaf.spec.adapter in ("openai", "azure") and leaf.spec.serves("realtime")


def first_realtime_leaf(node: Node) -> Leaf | None:
    """Return the first leaf, depth first in config order, that serves realtime."""
    if isinstance(node, Leaf):
        return node if serves_realtime(node) else None
    for child in node.targets:
        found = first_realtime_leaf(child)
        if found is not None:
            return found
    return None


def _ws_url(http_url: str, query: str) -> str:
    scheme, sep, rest = http_url.partition("://")
    scheme = {"https": "wss", "http": "ws"}.get(scheme.lower(), scheme)
    return f"{scheme}{sep}{rest}" + (f"?{query}" if query else "")


def _missing_key() -> Unauthorized:
    return Unauthorized(
        "No API key: send Authorization: Bearer <key> (browsers: the openai-insecure-api-key.<key> subprotocol)",
        code="missing_api_key",
    )


def _openai_upstream(leaf: Leaf, query: str) -> tuple[str, dict[str, str]]:
    if leaf.spec.key_required and leaf.spec.auth != "none" and not leaf.api_key:
        raise _missing_key()
    base = (leaf.custom_host or leaf.spec.base_url).rstrip("/")
    return _ws_url(base + "/realtime", query), openai_translator.request_headers(leaf.spec, leaf.api_key, leaf.options)


def _azure_upstream(leaf: Leaf, target: Target, query: str) -> tuple[str, dict[str, str]]:
    auth = azure_translator.auth_headers(target)
    if not auth:
        raise _missing_key()
    params = parse_qsl(query, keep_blank_values=True)
    asked = dict(params)
    host = leaf.custom_host
    if not host:
        try:
            host = azure_translator.resource_host(target.option("resource_name"))
        except TranslationError as exc:
            raise BadRequest(exc.message, param=exc.param) from None
    version = asked.get("api-version") or str(target.option("api_version", default=""))
    deployment = asked.get("deployment") or target.option("deployment_id") or asked.get("model")
    kept = [(k, v) for k, v in params if k not in ("api-version", "deployment", "model")]
    if version == "v1":
        model = asked.get("model") or target.option("deployment_id")
        if not model:
            raise BadRequest("azure-openai realtime needs a model (the deployment name)", param="model")
        path, kept = "/openai/v1/realtime", kept + [("model", str(model))]
    else:
        if not deployment:
            raise BadRequest(
                "azure-openai realtime needs a deployment (x-portkey-azure-deployment-id or ?deployment=)",
                param="deployment_id",
            )
        if not version:
            raise BadRequest(
                "azure-openai realtime needs api_version (x-portkey-azure-api-version or ?api-version=)",
                param="api_version",
            )
        path, kept = "/openai/realtime", kept + [("api-version", version), ("deployment", str(deployment))]
    headers = openai_translator.request_headers(leaf.spec, None, leaf.options)
    headers.update(auth)
    return _ws_url(host.rstrip("/") + path, urlencode(kept)), headers


def plan_upstream(
    state: "GatewayState", opts: RequestOptions, headers: Sequence[tuple[str, str]], query: str, grant: Any = None
) -> UpstreamPlan:
    """Compile the request into the upstream URL, headers and subprotocols; raise 4xx errors on bad input."""
    protocols, key = offered_protocols(headers)
    if opts.api_key is None and key:
        opts.api_key = key
    if state.catalog is not None:  # @slug providers and ?model=@slug/model
        plan = catalog_realtime.plan(state.catalog, state, opts, query, grant)
    else:
        plan = compile_plan(opts, state.registry, state.trusted, state.settings.max_retry_attempts)
    leaf = first_realtime_leaf(plan.root)
    if leaf is None:
        provider = opts.provider or "the configured providers"
        raise BadRequest(f"realtime is not supported by {provider}", param="x-portkey-provider")
    if state.catalog is not None:
        catalog_realtime.admit(state.catalog, leaf, grant)
        query = catalog_realtime.query(leaf, query)
    if leaf.spec.adapter == "azure":
        url, upstream_headers = _azure_upstream(leaf, state.credentials.target(leaf), query)
    else:
        url, upstream_headers = _openai_upstream(leaf, query)
    out = {name.lower(): value for name, value in upstream_headers.items()}
    for name, value in headers:
        lname = name.lower()
        if lname in leaf.forward_headers and lname not in _HANDSHAKE_HEADERS:
            out[lname] = value
    out.setdefault("user-agent", USER_AGENT)
    settings = state.settings
    handshake = leaf.request_timeout / 1000 if leaf.request_timeout else min(settings.read_timeout, HANDSHAKE_TIMEOUT)
    return UpstreamPlan(leaf.provider, url, out, protocols, leaf.guard_host, settings.connect_timeout, handshake)


class Session:
    """A connected upstream waiting for the client's 101; ``run`` relays until both sides close."""

    def __init__(
        self, client: ClientHandshake, upstream: Peer, subprotocol: str | None, plan: UpstreamPlan, trace: str
    ) -> None:
        self.client = client
        self.upstream = upstream
        self.subprotocol = subprotocol
        self.plan = plan
        self.trace = trace

    def run(self) -> None:
        """Accept the client, relay both ways and close everything; never raises."""
        started = time.monotonic()
        where = urlsplit(self.plan.url)
        try:
            headers = [("x-portkey-trace-id", self.trace), ("x-portkey-provider", self.plan.provider)]
            client = self.client.accept(self.subprotocol, headers)
        except (OSError, LocalProtocolError) as exc:  # the client vanished before its 101
            log.info("realtime session %s: client gone before the upgrade (%s)", self.trace, exc.__class__.__name__)
            self.upstream.shutdown()
            return
        try:
            outcome = run_session(client, self.upstream)
        except Exception as exc:  # noqa: BLE001 - logged without its text
            log_unexpected(log, exc, "realtime session %s failed", self.trace)
            self.upstream.shutdown()
            client.shutdown()
            return
        log.info(
            "realtime session %s to %s %s%s ended after %.1fs: client close %s, upstream close %s",
            self.trace,
            self.plan.provider,
            where.hostname,
            where.path,
            time.monotonic() - started,
            outcome.get("client"),
            outcome.get("upstream"),
        )


def open_session(
    state: "GatewayState",
    environ: Mapping[str, Any],
    headers: Sequence[tuple[str, str]],
    opts: RequestOptions,
    target: str,
    query: str,
) -> Session:
    """Validate the upgrade, plan and connect the upstream; raise gateway or provider errors before any 101."""
    client = ClientHandshake(environ, headers, target)
    plan = plan_upstream(state, opts, headers, query, environ.get("gateway.grant"))
    upstream, subprotocol = connect_upstream(state, plan)
    return Session(client, upstream, subprotocol, plan, opts.trace_id)
