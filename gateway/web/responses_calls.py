"""Build calls for the Responses routes and serve stored responses.

``POST /v1/responses`` goes natively to providers that have the Responses API (OpenAI) and
through the chat layer to the others; for those the gateway keeps the state: the response,
its input items and the conversation so far, stored unless ``store`` is false, so that
``previous_response_id``, ``GET``, ``DELETE`` and ``input_items`` work with any provider.
Stored responses are scoped to the credential that created them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import request

from gateway.core.call import Call
from gateway.core.errors import BadRequest, NotFound
from gateway.core.options import RequestOptions
from gateway.core.safelog import kind
from gateway.routing.router import leaves
from gateway.stores.responses_state import scope_of
from gateway.streaming.client_formats import ResponsesFormat
from gateway.web.incoming import incoming, request_headers, request_options, validated_body
from gateway.web.state import GatewayState, current_state
from translators.contract import TranslationError
from translators.formats import responses_api, schemas

log = logging.getLogger("gateway.responses")


def scope(options: RequestOptions) -> str:
    """The tenant scope of a request: its provider key and gateway key."""
    return scope_of(options.api_key, options.gateway_key)


def response_call() -> Call:
    """The call for ``POST /v1/responses``."""
    state = current_state()
    headers = request_headers()
    options = request_options(headers)
    raw, body = validated_body(state.settings.max_json_bytes, schemas.responses)
    tenant = scope(options)
    previous = body.get("previous_response_id")
    record = state.responses_store().get(tenant, previous) if previous else None
    items = responses_api.input_items(body)
    history = record["conversation"] if record else []
    try:
        chat = responses_api.to_chat(body, history)
    except TranslationError as exc:
        # Providers with the Responses API get the client's body untouched: what the chat layer cannot
        # express only matters when a target without it may be called.
        if not routes_only_to_native_responses(state, options):
            raise BadRequest(exc.message, param=exc.param) from None
        chat = {"model": body.get("model"), "messages": []}
    response_id = responses_api.new_item_id("resp")

    def finished(response: dict[str, Any]) -> None:
        if body.get("store") is False:
            return
        conversation = history + responses_api.history(items, response)
        try:
            state.responses_store().save(
                tenant, response_id, {"response": response, "input_items": items, "conversation": conversation}
            )
        except Exception as exc:  # noqa: BLE001 - logged without its text
            log.warning("could not store response %s (%s)", response_id, kind(exc))

    fmt = ResponsesFormat(body, response_id, time.time(), finished)
    fmt.missing_previous = previous if previous and record is None else None
    return incoming(
        "responses",
        "/responses",
        headers,
        options,
        body=chat,
        client_body=body,
        client_raw=raw,
        unmapped=responses_api.unmapped_fields(body),
        stream=body.get("stream") is True,
        format=fmt,
    )


def stored(state: GatewayState, response_id: str) -> tuple[str, dict[str, Any] | None]:
    """Return the request's tenant scope and the stored record for ``response_id`` (or None)."""
    options = request_options(request_headers())
    tenant = scope(options)
    return tenant, state.responses_store().get(tenant, response_id)


def routes_only_to_native_responses(state: GatewayState, options: RequestOptions) -> bool:
    """Whether every target the request can reach serves the Responses API itself."""
    if not (options.provider or options.config_text):
        return False
    plan = state.plans.plan(options)
    return all(leaf.spec.serves("responses") for leaf in leaves(plan.root))


def provider_keeps_responses(state: GatewayState) -> bool:
    """Whether the request routes to a provider with its own Responses API (then it holds unknown ids)."""
    options = request_options(request_headers())
    if not (options.provider or options.config_text):
        return False
    if state.catalog is not None:  # @slug providers are known to the catalog's registry
        plan = state.catalog.compile(state, options)
    else:
        plan = state.plans.plan(options)
    return any(leaf.spec.serves("responses") for leaf in leaves(plan.root))


def not_found(response_id: str) -> NotFound:
    """OpenAI's answer for an unknown response id."""
    return NotFound(f"No response found with id '{response_id}'.", param="response_id", code="response_not_found")


def input_items_page(record: dict[str, Any]) -> dict[str, Any]:
    """``input_items`` as a page, honouring ``limit``, ``order`` (default desc) and ``after``."""
    items = list(record["input_items"])
    if request.args.get("order", "desc") == "desc":
        items.reverse()
    after = request.args.get("after")
    if after:
        ids = [item.get("id") for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    try:
        limit = max(1, min(100, int(request.args.get("limit", 20))))
    except ValueError:
        raise BadRequest("limit must be an integer", param="limit") from None
    page = items[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > limit,
    }
