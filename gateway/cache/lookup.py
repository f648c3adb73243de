"""One request's cache lookup and store for one target, and the services the cache uses.

``ResponseCache`` holds the backend (memory or Redis), the semantic index and the embedder;
``CacheLookup`` computes the key and scope of one leaf's request, finds a stored answer (exact,
then nearest in semantic mode), replays it (as a stream when the client streams) and stores a
new one. Policy and keys: ``gateway.cache.policy``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.cache.policy import CachePolicy, cache_key, entry, read_entry, replay_chunks, scope_of
from gateway.core.call import Call
from gateway.core.errors import ProviderError
from gateway.core.outcomes import STREAM_HEADERS
from gateway.core.plan import Leaf
from gateway.core.result import Result
from translators.openai_shapes import include_usage

log = logging.getLogger("gateway.cache")


@dataclass(frozen=True)
class ResponseCache:
    """What caching needs: where entries live, the semantic index, and how to embed a prompt."""

    backend: Any
    semantic: Any
    #: ``embed(config, text, untrusted) -> unit vector`` (``gateway.cache.semantic.embed`` bound to the client).
    embed: Callable[[Mapping[str, Any], str, bool], Any]
    default_embedding: Mapping[str, Any]

    def lookup(self, call: Call, leaf: Leaf, policy: CachePolicy, encoder: Callable[[str], Any]) -> "CacheLookup":
        """The lookup of ``call`` at ``leaf``; ``encoder(provider)`` writes a replayed stream in the client's format."""
        return CacheLookup(self, call, leaf, policy, encoder)


class CacheLookup:
    """One request's cache lookup and store for one target."""

    def __init__(
        self, cache: ResponseCache, call: Call, leaf: Leaf, policy: CachePolicy, encoder: Callable[[str], Any]
    ) -> None:
        self.cache = cache
        self.encoder = encoder
        self.call = call
        self.leaf = leaf
        self.policy = policy
        body = dict(call.body or {})
        body.update(leaf.override_params)
        self.scope = scope_of(
            leaf.provider,
            leaf.custom_host or leaf.spec.base_url,
            leaf.api_key,
            leaf.options,
            call.options.cache_namespace,
        )
        self.key = cache_key(call.unified_fn, self.scope, body)
        self.semantic = policy.mode == "semantic"
        self.status = "REFRESH" if call.options.cache_force_refresh else ("SEMANTIC MISS" if self.semantic else "MISS")
        self.vector: Any = None
        self.semantic_scope = f"{self.scope}:{call.unified_fn}:{body.get('model', '')}"

    def find(self) -> Result | None:
        """Return a cached answer, or None (and remember what to store later)."""
        if self.call.options.cache_force_refresh:
            return None
        raw = self.cache.backend.get(self.key)
        status = "HIT"
        if raw is None and self.semantic:
            try:
                self.vector = self._embed()
            except ProviderError as error:
                log.warning("semantic cache lookup skipped: %s", error.message)
                return None
            nearest = self.cache.semantic.nearest(self.semantic_scope, self.vector, self.policy.threshold)
            if nearest is not None:
                raw = self.cache.backend.get(nearest[0])
                status = "SEMANTIC HIT"
        stored = read_entry(raw) if raw is not None else None
        if stored is None:
            return None
        provider, body = stored
        return self._replay(body, provider, status)

    def _replay(self, body: dict[str, Any], provider: str, status: str) -> Result:
        leaf, call = self.leaf, self.call
        if call.stream and body.get("object") in ("chat.completion", "text_completion"):
            encoder = self.encoder(provider)
            chunks = replay_chunks(body, include_usage(call.body or {}) or call.format is not None)
            stream = iter([encoder.chunks(chunks) + encoder.done()])
            return Result(
                200,
                list(STREAM_HEADERS),
                stream=stream,
                content_type="text/event-stream",
                provider=provider,
                path=leaf.path,
                cache_status=status,
            )
        return Result(200, [], body=orjson.dumps(body), provider=provider, path=leaf.path, cache_status=status)

    def store(self, body: dict[str, Any], provider: str) -> None:
        """Keep a successful answer (and its prompt vector in semantic mode)."""
        ttl = self.policy.max_age
        self.cache.backend.set(self.key, entry(body, provider), ttl)
        if self.semantic:
            try:
                vector = self.vector if self.vector is not None else self._embed()
                self.cache.semantic.add(self.semantic_scope, vector, self.key, ttl)
            except ProviderError as error:
                log.warning("semantic cache store skipped: %s", error.message)

    def _embed(self) -> Any:
        if self.policy.embedding:  # from the client's config: its custom host is SSRF-checked
            return self.cache.embed(self.policy.embedding, self._prompt(), True)
        return self.cache.embed(self.cache.default_embedding, self._prompt(), False)

    def _prompt(self) -> str:
        body = self.call.body or {}
        if self.call.unified_fn == "complete":
            return str(body.get("prompt", ""))
        if self.call.unified_fn == "embed":
            return str(body.get("input", ""))
        lines = []
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            lines.append(f"{message.get('role')}: {content or ''}")
        return "\n".join(lines)
