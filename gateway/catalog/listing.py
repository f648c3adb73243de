"""``GET /v1/models`` without a provider: the catalog's models as ``@slug/model``.

A slug with a ``models`` list offers those and its aliases; a slug without one offers whatever its
provider's own ``/models`` answers (asked through the gateway with the stored credential; a
provider that cannot list models adds nothing; a list is reused for a minute). Only slugs the caller's
key may use are listed.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from gateway.catalog.keys import Grant
from gateway.core.call import Call
from gateway.core.options import RequestOptions, new_trace_id

if TYPE_CHECKING:
    from gateway.web.state import GatewayState

log = logging.getLogger("gateway.catalog.listing")

#: The most bytes read from one provider's model list.
_MAX_LIST_BYTES = 4 * 1024 * 1024
#: Seconds a provider's own model list is reused (per worker).
LIST_TTL = 60.0
_lists: dict[tuple[str, int], tuple[float, list[str]]] = {}


def _cached_models(state: "GatewayState", slug: str) -> list[str]:
    key = (slug, state.catalog.file.generation)
    now = time.monotonic()
    hit = _lists.get(key)
    if hit is not None and now - hit[0] < LIST_TTL:
        return hit[1]
    names = _provider_models(state, slug)
    if len(_lists) > 256:
        _lists.clear()
    _lists[key] = (now, names)
    return names


def _provider_models(state: "GatewayState", slug: str) -> list[str]:
    options = RequestOptions(provider=f"@{slug}", trace_id=new_trace_id())
    call = Call(fn="proxy", method="GET", path="/models", options=options)
    try:
        result = state.catalog.route(state, call, None)
    except Exception:  # one provider's broken list must not break the listing
        log.warning("listing the models of @%s failed", slug, exc_info=True)
        return []
    body = result.body or b""
    if result.stream is not None:
        parts, size = [], 0
        try:
            for chunk in result.stream:
                parts.append(chunk)
                size += len(chunk)
                if size > _MAX_LIST_BYTES:
                    break
        except OSError:  # a list cut off is no list
            parts = []
        finally:
            result.close()
        body = b"".join(parts)
    if not 200 <= result.status < 300:
        return []
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    data = payload.get("data") if isinstance(payload, dict) else None
    return [m["id"] for m in data or () if isinstance(m, dict) and isinstance(m.get("id"), str)]


def model_list(state: "GatewayState", grant: Grant | None) -> dict[str, Any]:
    """OpenAI's list shape, one entry per ``@slug/model`` the caller may use."""
    catalog = state.catalog
    entries = []
    for entry in catalog.data.providers.values():
        if grant is not None and not grant.may_use(entry.slug):
            continue
        if entry.models is not None:
            names = list(entry.models) + [alias for alias in entry.aliases if alias not in entry.models]
        else:
            names = _cached_models(state, entry.slug) + list(entry.aliases)
        for name in dict.fromkeys(names):
            entries.append({"id": f"@{entry.slug}/{name}", "object": "model", "created": 0, "owned_by": entry.provider})
    return {"object": "list", "data": entries}
