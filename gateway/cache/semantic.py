"""Semantic caching: answer from the nearest cached prompt above a similarity threshold.

The prompt text of a request is embedded with the configured embedding provider (any
OpenAI-compatible ``/embeddings`` endpoint: ``cache.embedding`` in the config, or the
``GATEWAY_SEMANTIC_EMBEDDING`` setting) and compared by cosine similarity with the prompts
cached in the same scope (tenant, target, endpoint and model). Vectors are kept per worker in
numpy matrices; with Redis they are also appended to a Redis list per scope, and each worker
pulls the entries it has not seen yet before searching, so all workers share one index.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from gateway.core.errors import BadRequest, ProviderError
from gateway.transport.client import Timeout, UpstreamFailure
from gateway.transport.ssrf import check_custom_host

if TYPE_CHECKING:
    import numpy as np

    from gateway.transport.outbound import Outbound

from gateway.core.failopen import ThrottledWarning

log = logging.getLogger("gateway.cache.semantic")

MAX_PER_SCOPE = 2000


def embed(
    outbound: "Outbound", registry: Mapping[str, Any], config: Mapping[str, Any], text: str, *, untrusted: bool = True
) -> np.ndarray:
    """Embed ``text`` with the configured provider; return a unit vector.

    ``untrusted`` (a client's config rather than the operator's setting): a custom host must pass
    the SSRF rules, and the connected address is checked as for any custom host.
    """
    spec = registry.get(str(config.get("provider", "openai")))
    if spec is None:
        raise ProviderError("gateway", 400, "semantic cache: unknown embedding provider")
    custom = config.get("custom_host")
    guard = bool(custom) and untrusted
    if guard:
        try:
            base = check_custom_host(str(custom), outbound.trusted)
        except BadRequest:
            raise ProviderError("gateway", 400, "semantic cache: invalid embedding custom_host") from None
    else:
        base = str(custom or spec.base_url).rstrip("/")
    headers = {"content-type": "application/json"}
    key = config.get("api_key")
    if key:
        headers["authorization"] = f"Bearer {key}"
    body = orjson.dumps({"model": config.get("model", "text-embedding-3-small"), "input": text})
    timeout = Timeout(outbound.settings.connect_timeout, 30.0, 30.0)
    try:
        response = outbound.client.send(
            "POST", base + "/embeddings", headers=headers, body=body, timeout=timeout, guard=guard
        )
    except UpstreamFailure as failure:
        raise ProviderError(spec.id, 502, f"semantic cache embedding failed: {failure.detail}") from None
    if response.status_code >= 400:
        raise ProviderError(spec.id, 502, f"semantic cache embedding failed: HTTP {response.status_code}")
    import numpy as np  # loaded on first use, by semantic caching only

    vector = np.asarray(orjson.loads(response.content)["data"][0]["embedding"], dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class SemanticIndex:
    """Prompt vectors per scope, with the cache key of each prompt's answer."""

    def __init__(self, redis: Any = None, prefix: str = "gw:sem:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}
        self._keys: dict[str, list[str]] = {}
        self._synced: dict[str, int] = {}
        self._warn = ThrottledWarning(log, "semantic index unavailable in Redis")

    def _append(self, scope: str, vector: np.ndarray, key: str) -> None:
        import numpy as np

        matrix = self._vectors.get(scope)
        if matrix is None or matrix.shape[1] != vector.shape[0]:
            self._vectors[scope] = vector[np.newaxis, :]
            self._keys[scope] = [key]
        else:
            self._vectors[scope] = np.vstack([matrix, vector])[-MAX_PER_SCOPE:]
            self._keys[scope] = (self._keys[scope] + [key])[-MAX_PER_SCOPE:]

    def _sync(self, scope: str) -> None:
        if self._redis is None:
            return
        try:
            seen = self._synced.get(scope, 0)
            if self._redis.llen(self._prefix + scope) < seen:  # the list expired and started over
                self._vectors.pop(scope, None)
                self._keys.pop(scope, None)
                seen = 0
            items = self._redis.lrange(self._prefix + scope, seen, -1)
        except Exception as exc:  # noqa: BLE001 - Redis down: search what this worker has
            self._warn(exc)
            return
        import numpy as np

        for raw in items:
            record = orjson.loads(raw)
            self._append(scope, np.asarray(record["v"], dtype=np.float32), record["k"])
        self._synced[scope] = seen + len(items)

    def nearest(self, scope: str, vector: np.ndarray, threshold: float) -> tuple[str, float] | None:
        """Return ``(cache key, similarity)`` of the most similar prompt at or above ``threshold``."""
        with self._lock:
            self._sync(scope)
            matrix = self._vectors.get(scope)
            if matrix is None or matrix.shape[1] != vector.shape[0]:
                return None
            scores = matrix @ vector
            best = int(scores.argmax())
            score = float(scores[best])
            return (self._keys[scope][best], score) if score >= threshold else None

    def add(self, scope: str, vector: np.ndarray, key: str, ttl: float) -> None:
        """Remember a cached prompt (in Redis for ``ttl`` seconds after the scope's last addition)."""
        with self._lock:
            if self._redis is not None:
                try:
                    pipe = self._redis.pipeline()
                    pipe.rpush(self._prefix + scope, orjson.dumps({"k": key, "v": vector.tolist()}))
                    pipe.expire(self._prefix + scope, max(1, int(ttl)))
                    length = pipe.execute()[0]
                    if length > 2 * MAX_PER_SCOPE:  # keep the newest; workers see the shorter list and reload
                        self._redis.ltrim(self._prefix + scope, -MAX_PER_SCOPE, -1)
                    return  # picked up by the next search's sync, like every other worker's entries
                except Exception as exc:  # noqa: BLE001 - fall back to this worker's memory
                    self._warn(exc)
            self._append(scope, vector, key)
