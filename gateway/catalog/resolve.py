"""Resolve catalog references in a call and its plan: ``@slug/model`` strings, ``@slug`` providers.

Before compiling: a body model ``@slug/model`` becomes the provider ``@slug`` (as if sent in
``x-portkey-provider``) and the plain model; a config target whose ``override_params.model`` is
``@slug/model`` gets ``provider: "@slug"``. The plan is compiled against ``SlugRegistry`` (``@slug``
is the spec of the slug's provider); ``bind_leaves`` then gives each catalog leaf its server-side
credentials and options, the upstream model (aliases resolved) and checks the allow-lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import orjson

from gateway.catalog.entries import CatalogData, ProviderEntry
from gateway.catalog.errors import Forbidden, UnknownSlug
from gateway.catalog.keys import Grant
from gateway.core.call import Call
from gateway.core.errors import BadRequest
from gateway.core.plan import Leaf
from translators.registry import ProviderSpec

#: Client provider options a catalog leaf keeps (API versions and betas); everything else comes from the file,
#: so a client can never redirect the stored credential (host, resource name, region, ...).
CLIENT_OPTIONS = frozenset({"openai_beta", "anthropic_beta", "anthropic_version", "api_version"})


def split_ref(value: str) -> tuple[str, str | None]:
    """``@slug/model`` -> (slug, model); ``@slug`` -> (slug, None)."""
    slug, _, model = value[1:].partition("/")
    return slug.lower(), (model or None)


def is_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("@") and len(value) > 1


def body_model(call: Call) -> str | None:
    """The model the client asked for, in whichever body it sent."""
    for body in (call.client_body, call.body):
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            return body["model"]
    form = call.form
    if form is not None:
        model = form.fields.get("model")
        return model if isinstance(model, str) else None
    return None


def set_body_model(call: Call, model: str) -> None:
    """Put the plain ``model`` into the client's body (and its chat translation), dropping the raw bytes."""
    if isinstance(call.client_body, dict) and "model" in call.client_body:
        call.client_body["model"] = model
        call.client_raw = None
    if isinstance(call.body, dict) and "model" in call.body:
        call.body = {**call.body, "model": model}
        call.raw = None
    if call.form is not None and "model" in call.form.fields:
        fields = call.form.fields.copy()  # a mutable copy of the parsed form's fields
        fields["model"] = model
        call.form = replace(call.form, fields=fields)


def mentions_catalog(call: Call) -> bool:
    """Whether the call refers to the catalog anywhere (model string, provider header or config)."""
    return (
        is_ref(call.options.provider)
        or is_ref(body_model(call))
        or (call.options.config_text is not None and '"@' in call.options.config_text)
    )


def lift_body_model(call: Call, data: CatalogData) -> None:
    """A body model ``@slug/model`` routes to ``@slug`` with the plain model.

    With a plain provider in ``x-portkey-provider``, or with a config and a slug the catalog does not
    have, the model is the provider's own name and stays as sent (Workers AI models are ``@cf/...``).
    """
    model = body_model(call)
    if not is_ref(model):
        return
    slug, plain = split_ref(model)
    provider = call.options.provider
    if provider and not provider.startswith("@"):
        return
    if slug not in data.providers and call.options.config_text is not None and not provider:
        return
    if provider and provider != f"@{slug}":
        raise BadRequest(
            f"The model {model} names the catalog provider @{slug}, but x-portkey-provider is {provider}",
            param="model",
        )
    if plain is None:
        raise BadRequest(f"The model {model} names no model: use @{slug}/<model>", param="model")
    call.options.provider = f"@{slug}"
    set_body_model(call, plain)


def _targets(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.get("targets") or ():
            yield from _targets(child)


def lift_config_models(call: Call) -> None:
    """A config target with ``override_params.model: "@slug/model"`` and no provider is a ``@slug`` target."""
    text = call.options.config_text
    if not text or '"@' not in text:
        return
    try:
        config = orjson.loads(text)
    except orjson.JSONDecodeError:
        return  # compile_plan reports it
    changed = False
    for node in _targets(config):
        params = node.get("override_params", node.get("overrideParams"))
        model = params.get("model") if isinstance(params, dict) else None
        if is_ref(model) and "provider" not in node and "targets" not in node:
            node["provider"] = "@" + split_ref(model)[0]
            changed = True
    if changed:
        call.options.config_text = orjson.dumps(config).decode()


class SlugRegistry(Mapping[str, ProviderSpec]):
    """The provider registry plus ``@slug`` entries (the spec of the slug's provider); unknown slugs are a 400."""

    def __init__(self, registry: Mapping[str, ProviderSpec], data: CatalogData) -> None:
        self.registry = registry
        self.data = data

    def __getitem__(self, name: str) -> ProviderSpec:
        if is_ref(name):
            slug = split_ref(name)[0]
            entry = self.data.providers.get(slug)
            if entry is None:
                raise UnknownSlug(slug)
            return self.registry[entry.provider]
        return self.registry[name]

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry)

    def __len__(self) -> int:
        return len(self.registry)


def bind_leaf(leaf: Leaf, call: Call, data: CatalogData, grant: Grant | None, registry: Mapping[str, Any]) -> None:
    """Turn a ``@slug`` leaf into a call of the slug's provider with the catalog's credentials."""
    override = leaf.override_params.get("model")
    if is_ref(override):
        slug, model = split_ref(override)
        if leaf.provider.startswith("@") and split_ref(leaf.provider)[0] != slug:
            raise BadRequest(
                f"override_params.model {override} names another catalog provider than the target's {leaf.provider}",
                param="override_params.model",
            )
        if model is None:
            raise BadRequest(f"override_params.model {override} names no model", param="override_params.model")
        leaf.provider = f"@{slug}"
        leaf.override_params = {**leaf.override_params, "model": model}
    if not leaf.provider.startswith("@"):
        return
    slug = split_ref(leaf.provider)[0]
    entry: ProviderEntry | None = data.providers.get(slug)
    if entry is None:
        raise UnknownSlug(slug)
    if grant is not None and not grant.may_use(slug):
        raise Forbidden(
            f"The gateway key {grant.name} may not use the catalog provider @{slug}",
            param="model",
            code="provider_not_allowed",
        )
    model = leaf.override_params.get("model") or body_model(call)
    if isinstance(model, str) and model:
        if not entry.allows(model):
            raise Forbidden(
                f"The model {model} is not allowed on the catalog provider @{slug}",
                param="model",
                code="model_not_allowed",
            )
        resolved = entry.resolve_model(model)
        if resolved != model or "model" in leaf.override_params:
            leaf.override_params = {**leaf.override_params, "model": resolved}
    leaf.catalog = slug
    leaf.provider = entry.provider
    leaf.spec = registry[entry.provider]
    leaf.api_key = entry.api_key
    leaf.options = {**{k: v for k, v in leaf.options.items() if k in CLIENT_OPTIONS}, **entry.options}
    leaf.custom_host = entry.custom_host
    leaf.guard_host = False  # the operator's own host
