"""Remember compiled plans: SDK clients send the same ``x-portkey-config`` (and headers) on every request.

Compiling parses the config JSON, snake-cases and validates it with marshmallow and compiles its
hooks; a bounded LRU keyed by everything that shapes the plan skips that work for repeated
requests. The key is a SHA-256 of those request options, so no credential is kept in a key; plans
are never mutated while routing, so one plan serves concurrent requests. Invalid configs raise
and are not remembered.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import orjson

from gateway.core.options import RequestOptions
from gateway.core.plan import Plan

DEFAULT_ENTRIES = 512


def plan_key(opts: RequestOptions) -> bytes:
    """A digest of every request option the plan compiler reads."""
    shape = (
        opts.provider,
        opts.api_key,
        opts.config_text,
        opts.custom_host,
        opts.forward_headers,
        opts.request_timeout,
        opts.strict_compliance,
        opts.provider_options,
        opts.default_input_guardrails,
        opts.default_output_guardrails,
    )
    return hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS, default=repr)).digest()


class PlanMemo:
    """A bounded LRU of compiled plans in front of ``compile``."""

    def __init__(self, compile: Callable[[RequestOptions], Plan], max_entries: int = DEFAULT_ENTRIES) -> None:
        self._compile = compile
        self._max = max_entries
        self._plans: OrderedDict[bytes, Plan] = OrderedDict()
        self._lock = threading.Lock()
        self.compiled = 0

    def plan(self, opts: RequestOptions) -> Plan:
        """Return the plan for ``opts``, compiling it on a miss (``BadRequest`` propagates)."""
        key = plan_key(opts)
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                return plan
        plan = self._compile(opts)
        with self._lock:
            self.compiled += 1
            self._plans[key] = plan
            if len(self._plans) > self._max:
                self._plans.popitem(last=False)
        return plan
