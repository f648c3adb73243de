"""Call one target with its guardrails and cache around the provider call.

Order, per target: input hooks (a denial is a 446 before the provider is called; mutators
rewrite the request), cache lookup (``HIT`` / ``SEMANTIC HIT`` answers without calling the
provider; a streaming request gets the stored answer replayed as a stream), the provider call
with retries, output hooks (446 on denial, 246 when a non-denying hook failed, mutators
rewrite the answer), then the cache store (2xx answers only). For streams, output hooks and
the cache see the answer rebuilt from its chunks when the provider completes; a denial ends
the stream with an error event. With strict OpenAI compliance off, a stream whose input hooks
ran starts with a ``hook_results`` event (as the reference does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from gateway.cache.lookup import CacheLookup, ResponseCache
from gateway.cache.policy import CACHEABLE, CachePolicy
from gateway.core.call import Call
from gateway.core.plan import Leaf
from gateway.core.result import Result, json_result
from gateway.guardrails.contract import AFTER, BEFORE, CheckIO, HookContext
from gateway.guardrails.hooks import HOOK_FNS, denied_body, run_hooks
from gateway.pipeline.caller import LeafCaller
from gateway.pipeline.observed import ObservedEncoder

if TYPE_CHECKING:
    pass

log = logging.getLogger("gateway.pipeline.runner")


class LeafRunner:
    """Call leaves for one request, with guardrails and caching."""

    def __init__(
        self,
        call: Call,
        new_caller: Callable[[Call], LeafCaller],
        check_io: CheckIO,
        cache: ResponseCache,
    ) -> None:
        self.call = call
        self.new_caller = new_caller
        self.check_io = check_io
        self.cache = cache

    def __call__(self, leaf: Leaf) -> Result:
        call = self.call
        caller = self.new_caller(call)
        if not (leaf.before_hooks or leaf.after_hooks or leaf.cache):
            return caller(leaf)
        hook_results: dict[str, Any] = {}
        failed = False
        after = leaf.after_hooks if call.fn in HOOK_FNS and call.fn != "embed" else []
        # the body plus override_params, as every hook sees the request (built once per leaf call)
        request = self._request(leaf) if (after or (leaf.before_hooks and call.fn in HOOK_FNS)) else {}
        if leaf.before_hooks and call.fn in HOOK_FNS:
            context = HookContext(
                BEFORE, call.fn, request, None, call.options.metadata, leaf.provider, dict(call.headers)
            )
            run = run_hooks(leaf.before_hooks, context, self.check_io)
            hook_results["before_request_hooks"] = run.results
            if run.denied:
                return json_result(
                    446, denied_body(hook_results), provider=leaf.provider, path=leaf.path, error_origin="gateway"
                )
            failed = run.failed
            if run.request is not None:  # a mutator rewrote the request: send the rewritten chat body
                caller.call = replace(call, body=run.request, raw=None, client_raw=None)
                caller.native_formats = False
        policy = CachePolicy.parse(leaf.cache) if call.unified_fn in CACHEABLE or call.fn in CACHEABLE else None
        lookup = self.cache.lookup(caller.call, leaf, policy, caller.encoder) if policy is not None else None
        if lookup is not None:
            hit = lookup.find()
            if hit is not None:
                return self._with_hooks(hit, hook_results, failed, leaf.strict)
        if after or lookup is not None:  # hooks and the cache read and store answers in OpenAI chat terms
            caller.native_formats = False
        if caller.call.stream and (after or lookup is not None):
            store = lookup if not failed else None  # an answer to a request that failed a check is not cached
            done = self._on_stream_done(leaf, after, request, store)
            caller.observer = lambda encoder: ObservedEncoder(encoder, done)
        result = caller(leaf)
        if lookup is not None:
            result.cache_status = lookup.status
        if not result.ok:
            return result
        if result.stream is not None:  # 246 on a failed input check; hook results as a first event
            return self._with_hooks(result, hook_results, failed, leaf.strict)
        body = _json(result)
        if after and isinstance(body, dict):
            context = HookContext(
                AFTER, call.fn, request, body, call.options.metadata, leaf.provider, dict(call.headers)
            )
            run = run_hooks(after, context, self.check_io)
            hook_results["after_request_hooks"] = run.results
            if run.denied:
                return json_result(
                    446, denied_body(hook_results), provider=leaf.provider, path=leaf.path, error_origin="gateway"
                )
            failed = failed or run.failed
            if run.response is not None:
                body = run.response
                result.body = orjson.dumps(body)
        if lookup is not None and result.status == 200 and isinstance(body, dict) and not failed:
            lookup.store(body, leaf.provider)
        return self._with_hooks(result, hook_results, failed, leaf.strict)

    def _request(self, leaf: Leaf) -> dict[str, Any]:
        body = dict(self.call.body or {})
        body.update(leaf.override_params)
        return body

    def _with_hooks(self, result: Result, hook_results: dict[str, Any], failed: bool, strict: bool) -> Result:
        if failed and result.status == 200:
            result.status = 246
        hook_results = {event: results for event, results in hook_results.items() if results}
        if result.stream is not None:
            before = hook_results.get("before_request_hooks")
            if before and not strict:  # the reference's non-strict extra: the input verdicts lead the stream
                payload = orjson.dumps({"hook_results": {"before_request_hooks": before}})
                named = b"event: hook_results\n" if self.call.fn == "messages" else b""
                result.stream = _prefixed(named + b"data: " + payload + b"\n\n", result.stream)
            return result
        if hook_results and result.body is not None:
            body = _json(result)
            if isinstance(body, dict):
                body["hook_results"] = hook_results
                result.body = orjson.dumps(body)
        return result

    def _on_stream_done(self, leaf: Leaf, after: list[Any], request: dict[str, Any], lookup: "CacheLookup | None"):
        def done(completion: dict[str, Any]) -> str | None:
            if after:
                context = HookContext(
                    AFTER,
                    self.call.fn,
                    request,
                    completion,
                    self.call.options.metadata,
                    leaf.provider,
                    dict(self.call.headers),
                )
                run = run_hooks(after, context, self.check_io)
                if run.denied:
                    return "the answer was denied by an output guardrail"
                if run.failed:
                    return None
            if lookup is not None:
                lookup.store(completion, leaf.provider)
            return None

        return done


def _prefixed(first: bytes, stream: Iterator[bytes]) -> Iterator[bytes]:
    """Yield ``first``, then ``stream``; closing this closes ``stream`` (and so the upstream)."""
    try:
        yield first
        yield from stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _json(result: Result) -> Any:
    try:
        return orjson.loads(result.body) if result.body else None
    except orjson.JSONDecodeError:
        return None
