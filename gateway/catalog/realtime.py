"""The catalog for ``GET /v1/realtime``: ``?model=@slug/model`` or ``x-portkey-provider: @slug``.

The session takes the first leaf that serves realtime; ``plan`` resolves and binds the catalog leaves
(as ``Catalog.route`` does for HTTP calls), ``admit`` checks the limits of the chosen leaf's provider and
of the key (one request each; a session's token use is not counted), and ``query`` puts the upstream
model into the query string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from gateway.catalog.keys import PROVIDER_KEY_HEADERS, Grant
from gateway.catalog.limits import Scope
from gateway.catalog.resolve import bind_leaf, lift_body_model
from gateway.core.call import Call
from gateway.core.options import RequestOptions
from gateway.core.plan import Leaf, Plan
from gateway.routing.router import leaves

if TYPE_CHECKING:
    from gateway.catalog.catalog import Catalog
    from gateway.web.state import GatewayState


def plan(catalog: "Catalog", state: "GatewayState", opts: RequestOptions, query: str, grant: Grant | None) -> Plan:
    """The session's plan with catalog leaves bound to the file's credentials."""
    data = catalog.data
    if grant is not None and grant.header in PROVIDER_KEY_HEADERS:
        opts.api_key = None  # the gateway key is not a provider key
    params = dict(parse_qsl(query, keep_blank_values=True))
    call = Call(fn="realtime", method="GET", path="/realtime", options=opts)
    if params.get("model"):
        call.body = {"model": params["model"]}
        lift_body_model(call, data)
    compiled = catalog.compile(state, opts)
    for leaf in leaves(compiled.root):
        bind_leaf(leaf, call, data, grant, state.registry)
    return compiled


def admit(catalog: "Catalog", leaf: Leaf, grant: Grant | None) -> None:
    """Raise ``RateLimited`` / ``BudgetExhausted`` when the key's or the provider's limits refuse a session."""
    data = catalog.data
    scopes = []
    if grant is not None and grant.entry is not None and not grant.entry.limits.empty:
        scopes.append(Scope("key", grant.entry.name, grant.entry.limits))
    entry = data.providers.get(leaf.catalog or "")
    if entry is not None and not entry.limits.empty:
        scopes.append(Scope("provider", entry.slug, entry.limits))
    catalog.limiter.admit(scopes)


def query(leaf: Leaf, raw: str) -> str:
    """The query string for the upstream: the catalog leaf's model instead of ``@slug/model``."""
    model: Any = leaf.override_params.get("model")
    params = parse_qsl(raw, keep_blank_values=True)
    if leaf.catalog and not model:
        model = next((v.partition("/")[2] for k, v in params if k == "model" and v.startswith("@")), None)
    if not leaf.catalog or not isinstance(model, str) or not model:
        return raw
    return urlencode([(k, model if k == "model" else v) for k, v in params])
