"""Compile a request's headers and config into a tree of routing nodes.

A ``Leaf`` is one provider to call with fully resolved options; a ``Branch`` is a strategy
(fallback, loadbalance, conditional, single) over child nodes. Inheritance follows the
reference: ``override_params`` merge shallowly (child wins); ``retry``, ``cache`` and
``circuit_breaker`` are replaced by a child's own; custom host, forwarded headers, timeout,
strict mode and hooks are inherited when the child has none. Header values for custom host,
forwarded headers and timeout win at every leaf. Beyond the reference, provider options sent
as headers are defaults for every leaf, and the header key is inherited by leaves of the
header's provider (or of the only provider the config uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.core.errors import BadRequest, config_error
from gateway.core.options import RequestOptions
from gateway.core.plan import Branch, Leaf, Node, Plan, RetryPolicy
from gateway.guardrails.hooks import compile_hooks
from gateway.routing.conditions import query_problem
from gateway.routing.config_schema import parse_config
from gateway.transport.ssrf import TrustedHosts, check_custom_host
from translators.registry import ProviderSpec

DEFAULT_RETRY_CODES = (429, 500, 502, 503, 504)

#: The guardrail keys of a config node (full hooks, and the shorthand lists).
HOOK_KEYS = (
    "before_request_hooks",
    "after_request_hooks",
    "input_guardrails",
    "output_guardrails",
    "input_mutators",
    "output_mutators",
)
#: Keys of a config node that are routing or policy settings, not provider options.
NODE_KEYS = frozenset(
    {
        "provider",
        "api_key",
        "name",
        "weight",
        "strategy",
        "targets",
        "retry",
        "cache",
        "circuit_breaker",
        "request_timeout",
        "custom_host",
        "forward_headers",
        "override_params",
        "strict_open_ai_compliance",
        "id",
        *HOOK_KEYS,
    }
)


def _retry(raw: Mapping[str, Any] | None, cap: int, path: tuple) -> RetryPolicy:
    if raw is None:
        return RetryPolicy()
    attempts = int(raw.get("attempts", 0))
    if attempts > cap:
        raise config_error(path + ("retry", "attempts"), f"Must be less than or equal to {cap}.")
    codes = raw.get("on_status_codes")
    if codes is None:
        codes = DEFAULT_RETRY_CODES if attempts > 0 else ()
    return RetryPolicy(attempts, tuple(codes), bool(raw.get("use_retry_after_header", False)), True)


class _Compiler:
    def __init__(
        self,
        opts: RequestOptions,
        registry: Mapping[str, ProviderSpec],
        trusted: TrustedHosts,
        retry_cap: int,
        semantic_embedding: Mapping[str, Any] | None = None,
    ) -> None:
        self.opts = opts
        self.registry = registry
        self.trusted = trusted
        self.retry_cap = retry_cap
        self.semantic_embedding = semantic_embedding
        self.header_host = check_custom_host(opts.custom_host, trusted) if opts.custom_host else None
        #: The provider whose leaves inherit the key from ``Authorization`` / ``x-api-key``.
        self.key_owner: str | None = opts.provider

    def spec(self, provider: str | None, path: tuple) -> ProviderSpec:
        if not provider:
            raise BadRequest(
                "Either x-portkey-provider needs to be passed. Or the x-portkey-config header should have a "
                "valid config with provider details in it.",
                param="x-portkey-provider",
            )
        spec = self.registry.get(provider)
        if spec is None:
            if path:
                raise config_error(path + ("provider",), f"Invalid provider: {provider}")
            raise BadRequest("Invalid provider passed", param="x-portkey-provider", code="invalid_provider")
        return spec

    def node(self, raw: Mapping[str, Any], parent: dict[str, Any], path: tuple, json_path: str) -> Node:
        inherited = self._inherit(raw, parent, path)
        weight = float(raw.get("weight", 1))
        name = raw.get("name")
        if "targets" in raw:
            strategy = raw["strategy"]
            children = [
                self.node(child, inherited, path + ("targets", i), f"{json_path}.targets[{i}]")
                for i, child in enumerate(raw["targets"])
            ]
            branch = Branch(
                json_path,
                strategy["mode"],
                children,
                tuple(strategy["on_status_codes"]) if "on_status_codes" in strategy else None,
                list(strategy.get("conditions", [])),
                strategy.get("default"),
                weight,
                name,
            )
            self._check_branch(branch, path)
            return branch
        return self._leaf(raw, inherited, path, json_path, weight, name)

    def _inherit(self, raw: Mapping[str, Any], parent: dict[str, Any], path: tuple) -> dict[str, Any]:
        out = dict(parent)
        out["override_params"] = {**parent.get("override_params", {}), **raw.get("override_params", {})}
        for key in (
            "retry",
            "cache",
            "circuit_breaker",
            "forward_headers",
            "request_timeout",
            "strict_open_ai_compliance",
        ):
            if key in raw:
                out[key] = raw[key]
        if "custom_host" in raw:
            out["custom_host"] = check_custom_host(raw["custom_host"], self.trusted)
        if any(key in raw for key in HOOK_KEYS):
            out["hooks"] = {key: list(raw[key]) for key in HOOK_KEYS if key in raw}
        options = dict(parent.get("options", {}))
        options.update({k: v for k, v in raw.items() if k not in NODE_KEYS})
        out["options"] = options
        return out

    def _leaf(
        self, raw: Mapping[str, Any], inh: dict[str, Any], path: tuple, json_path: str, weight: float, name: str | None
    ) -> Leaf:
        provider = raw.get("provider") or self.opts.provider
        spec = self.spec(provider, path if raw.get("provider") else ())
        api_key = raw.get("api_key")
        if api_key is None and provider == self.key_owner:
            api_key = self.opts.api_key
        options = {**self.opts.provider_options, **inh.get("options", {})}
        host = self.header_host or inh.get("custom_host")
        forward = self.opts.forward_headers if self.opts.forward_headers is not None else inh.get("forward_headers")
        timeout = self.opts.request_timeout if self.opts.request_timeout is not None else inh.get("request_timeout")
        strict = inh.get("strict_open_ai_compliance", True) is not False and self.opts.strict_compliance is not False
        hooks = inh.get("hooks", {})
        before: list[Any] = []
        after: list[Any] = []
        if hooks or self.opts.default_input_guardrails or self.opts.default_output_guardrails:
            before, after = compile_hooks(
                hooks, self.opts.default_input_guardrails, self.opts.default_output_guardrails, path
            )
        cache = inh.get("cache")
        if cache is not None:
            self._check_cache(cache, path)
        return Leaf(
            path=json_path,
            provider=provider,
            spec=spec,
            api_key=api_key,
            options=options,
            custom_host=host,
            # A host the request chose: a custom host, or one built from options (Azure's resource,
            # Vertex's region, Bedrock's region and buckets) for providers with no fixed base URL.
            guard_host=(not self._trusted_host(host)) if host else not spec.base_url,
            forward_headers=tuple(h.lower() for h in (forward or ())),
            request_timeout=float(timeout) if timeout is not None else None,
            override_params=inh.get("override_params", {}),
            retry=_retry(inh.get("retry"), self.retry_cap, path),
            cache=inh.get("cache"),
            circuit_breaker=inh.get("circuit_breaker"),
            strict=strict,
            weight=weight,
            name=name,
            before_hooks=before,
            after_hooks=after,
        )

    def _check_cache(self, cache: Any, path: tuple) -> None:
        mode = cache if isinstance(cache, str) else cache.get("mode")
        embedding = cache.get("embedding") if isinstance(cache, dict) else None
        if isinstance(embedding, dict) and embedding.get("custom_host"):
            try:
                check_custom_host(str(embedding["custom_host"]), self.trusted)
            except BadRequest as exc:
                raise config_error(path + ("cache", "embedding", "custom_host"), exc.message) from None
        if mode == "semantic":
            has_model = isinstance(cache, dict) and isinstance(cache.get("embedding"), dict)
            if not has_model and not self.semantic_embedding:
                raise config_error(
                    path + ("cache", "mode"),
                    "semantic caching needs an embedding model: set "
                    "cache.embedding or the GATEWAY_SEMANTIC_EMBEDDING setting",
                )

    def _trusted_host(self, url: str) -> bool:
        from urllib.parse import urlsplit

        return self.trusted.trusts_name((urlsplit(url).hostname or "").lower())

    def _check_branch(self, branch: Branch, path: tuple) -> None:
        if branch.mode == "loadbalance" and not any(t.weight > 0 for t in branch.targets):
            raise config_error(path + ("targets",), "At least one loadbalance target needs a weight above 0.")
        if branch.mode == "conditional":
            names = {t.name for t in branch.targets if t.name}
            if not branch.conditions:
                raise config_error(path + ("strategy", "conditions"), "A conditional strategy needs conditions.")
            for i, cond in enumerate(branch.conditions):
                if not isinstance(cond.get("query"), dict) or not isinstance(cond.get("then"), str):
                    raise config_error(
                        path + ("strategy", "conditions", i), "A condition needs a query object and a then target name."
                    )
                problem = query_problem(cond["query"])
                if problem is not None:
                    where, message = problem
                    raise config_error(path + ("strategy", "conditions", i, "query") + where, message)
                if cond["then"] not in names:
                    raise config_error(
                        path + ("strategy", "conditions", i, "then"), f"Unknown target name: {cond['then']}"
                    )
            if branch.default is not None and branch.default not in names:
                raise config_error(path + ("strategy", "default"), f"Unknown target name: {branch.default}")


def _providers_in(raw: Mapping[str, Any]) -> set[str]:
    if "targets" in raw:
        return set().union(*(_providers_in(t) for t in raw["targets"]))
    return {raw["provider"]} if raw.get("provider") else set()


def compile_plan(
    opts: RequestOptions,
    registry: Mapping[str, ProviderSpec],
    trusted: TrustedHosts,
    retry_cap: int,
    semantic_embedding: Mapping[str, Any] | None = None,
) -> Plan:
    """Compile the request's routing tree; raise ``BadRequest``/``InvalidConfig`` on bad input."""
    compiler = _Compiler(opts, registry, trusted, retry_cap, semantic_embedding)
    if opts.config_text is None:
        if not opts.provider:
            raise BadRequest(
                "Either x-portkey-config or x-portkey-provider header is required", param="x-portkey-provider"
            )
        return Plan(compiler.node({}, {}, (), "config"))
    config = parse_config(opts.config_text)
    if not opts.provider:
        used = _providers_in(config)
        compiler.key_owner = used.pop() if len(used) == 1 else None
    return Plan(compiler.node(config, {}, (), "config"))
