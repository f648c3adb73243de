"""Route one call through its compiled plan: single, fallback, loadbalance and conditional.

Every endpoint that calls a provider comes through ``route``. Leaves are called by
``LeafCaller`` (which retries them); this module decides which leaves to call, skips targets
whose circuit is open, and returns the answering leaf's ``Result`` with its JSON path
(``config.targets[1].targets[0]``) for ``x-portkey-last-used-option-index``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.core.call import Call
from gateway.core.plan import Branch, Leaf, Node, Plan
from gateway.core.result import Result, json_result
from gateway.routing.breaker import BreakerConfig, target_key
from gateway.routing.conditions import choose
from gateway.transport.bodies import Replayable

if TYPE_CHECKING:
    pass

#: Upload bodies above this size are spooled to disk when a retry or fallback may resend them.
SPOOL_MEMORY_BYTES = 1024 * 1024


def may_repeat(node: Node) -> bool:
    """Return whether routing ``node`` can send the request body more than once."""
    if isinstance(node, Leaf):
        return node.retry.attempts > 0
    if node.mode == "fallback" and len(node.targets) > 1:
        return True
    return any(may_repeat(child) for child in node.targets)


def leaves(node: Node):
    """Yield every leaf under ``node``."""
    if isinstance(node, Leaf):
        yield node
    else:
        for child in node.targets:
            yield from leaves(child)


def _breaker_key(leaf: Leaf) -> str:
    extra = {k: v for k, v in leaf.options.items() if isinstance(v, (str, int, float, bool))}
    if "model" in leaf.override_params:
        extra["model"] = leaf.override_params["model"]
    return target_key(leaf.provider, leaf.custom_host or leaf.spec.base_url, leaf.api_key, extra)


def _unavailable(node: Node) -> Result:
    return json_result(
        503,
        {"status": "failure", "message": "No target is available: every circuit on this route is open"},
        path=node.path,
        error_origin="gateway",
        provider=node.provider if isinstance(node, Leaf) else "",
    )


class Router:
    """Walk a plan for one call."""

    def __init__(
        self,
        call: Call,
        caller: Callable[[Leaf], Result],
        breakers: Any,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.call = call
        self.caller = caller
        self.breakers = breakers
        self.rng = rng
        self._context: dict[str, Any] | None = None

    @property
    def context(self) -> dict[str, Any]:
        """The values conditional queries see: ``metadata``, ``params`` and ``url``."""
        if self._context is None:
            self._context = {
                "metadata": self.call.options.metadata,
                "params": self.call.body if isinstance(self.call.body, dict) else {},
                "url": {"pathname": "/v1" + self.call.path},
            }
        return self._context

    def route(self, plan: Plan) -> Result:
        """Return the answer for the call."""
        call = self.call
        if call.stream_body is not None and may_repeat(plan.root):
            call.stream_body = Replayable(call.stream_body, SPOOL_MEMORY_BYTES)
        return self.node(plan.root)

    def available(self, node: Node) -> bool:
        """Return whether some leaf under ``node`` has a closed or half-open circuit."""
        store = self.breakers
        return any(leaf.circuit_breaker is None or not store.is_open(_breaker_key(leaf)) for leaf in leaves(node))

    def node(self, node: Node) -> Result:
        """Route ``node`` and return its result."""
        if isinstance(node, Leaf):
            return self.leaf(node)
        if node.mode == "single":
            return self.node(node.targets[0])
        if node.mode == "fallback":
            return self.fallback(node)
        if node.mode == "loadbalance":
            return self.loadbalance(node)
        name = choose(node.conditions, node.default, self.context)
        target = next(t for t in node.targets if t.name == name)
        return self.node(target)

    def leaf(self, leaf: Leaf) -> Result:
        """Call one leaf, honouring and feeding its circuit breaker."""
        if leaf.circuit_breaker is None:
            return self.caller(leaf)
        cfg = BreakerConfig.from_config(leaf.circuit_breaker)
        key = _breaker_key(leaf)
        store = self.breakers
        if not store.allow(key, cfg):
            return _unavailable(leaf)
        result = self.caller(leaf)
        store.record(key, cfg, cfg.counts(result.status, result.network_failure))
        return result

    def fallback(self, branch: Branch) -> Result:
        """Try targets in order until one answers acceptably."""
        last: Result | None = None
        for target in branch.targets:
            if not self.available(target):
                continue
            if last is not None:
                last.close()
            last = self.node(target)
            if last.gateway_exception:
                return last
            if branch.on_status_codes is not None:
                if last.status not in branch.on_status_codes:
                    return last
            elif last.ok:
                return last
        return last if last is not None else _unavailable(branch)

    def loadbalance(self, branch: Branch) -> Result:
        """Pick one target at random, in proportion to its weight."""
        candidates = [t for t in branch.targets if t.weight > 0 and self.available(t)]
        if not candidates:
            return _unavailable(branch)
        total = sum(t.weight for t in candidates)
        point = self.rng() * total
        for target in candidates:
            point -= target.weight
            if point < 0:
                return self.node(target)
        return self.node(candidates[-1])
