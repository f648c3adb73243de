"""Describe every provider the gateway knows, as data.

An OpenAI-compatible provider is one ``ProviderSpec`` entry: its base URL (including the
API version prefix, so ``/v1/<path>`` maps to ``base_url + /<path>``), how the key is sent,
static extra headers, and the unified endpoints it serves. Native providers have an entry
too; their ``adapter`` names the translator module that maps their wire format.
Operators add or override entries with the ``GATEWAY_PROVIDERS`` setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: Unified endpoint ids (the reference's ``fn`` names) and the path each has under ``/v1``.
ENDPOINT_PATHS: Mapping[str, str] = {
    "chatComplete": "/chat/completions",
    "complete": "/completions",
    "embed": "/embeddings",
    "models": "/models",
    "imageGenerate": "/images/generations",
    "imageEdit": "/images/edits",
    "imageVariation": "/images/variations",
    "createSpeech": "/audio/speech",
    "createTranscription": "/audio/transcriptions",
    "createTranslation": "/audio/translations",
    "moderate": "/moderations",
}

#: Endpoint ids that registry entries list by group (``files`` covers every file operation).
ENDPOINT_GROUPS: Mapping[str, str] = {
    "uploadFile": "files",
    "listFiles": "files",
    "retrieveFile": "files",
    "deleteFile": "files",
    "retrieveFileContent": "files",
    "createBatch": "batches",
    "listBatches": "batches",
    "retrieveBatch": "batches",
    "cancelBatch": "batches",
    "createFinetune": "finetune",
    "listFinetunes": "finetune",
    "retrieveFinetune": "finetune",
    "cancelFinetune": "finetune",
    "imageVariation": "imageEdit",
}

CHAT = frozenset({"chatComplete", "models"})
CHAT_COMPLETE = CHAT | {"complete"}
CHAT_EMBED = CHAT | {"embed"}
ALL_TEXT = CHAT | {"complete", "embed"}
AUDIO_IN = frozenset({"createTranscription", "createTranslation"})


@dataclass(frozen=True)
class ProviderSpec:
    """Hold the facts the gateway needs to reach one provider."""

    id: str
    base_url: str
    auth: str = "bearer"  # "bearer", "none", or "header:<name>" to send the raw key in <name>
    headers: Mapping[str, str] = field(default_factory=dict)
    endpoints: frozenset[str] = CHAT
    adapter: str = "openai"
    key_required: bool = True
    #: Rewrite ``developer`` messages to ``system`` (for upstreams that reject the role).
    developer_as_system: bool = True
    #: Client formats the provider speaks itself: unified endpoint id -> native-format exchange kind
    #: (``anthropic_messages``, ``claude_elsewhere``, ``openai_responses``, ``azure_responses``).
    native_formats: Mapping[str, str] = field(default_factory=dict)
    #: The batch exchange serving its files and batches when they are not OpenAI's endpoints.
    batch: str | None = None

    def native_format(self, fn: str) -> str | None:
        """The native-format exchange kind for ``fn``, if this provider speaks the client's format."""
        kind = self.native_formats.get(fn)
        if kind is None and fn == "responses" and self.adapter == "openai" and self.serves("responses"):
            kind = "openai_responses"  # every OpenAI-compatible entry that lists the Responses API
        return kind

    def serves(self, fn: str) -> bool:
        """Return whether this provider serves the unified endpoint ``fn`` (directly or by its group)."""
        return fn in self.endpoints or ENDPOINT_GROUPS.get(fn) in self.endpoints

    def with_overrides(self, overrides: Mapping[str, Any]) -> "ProviderSpec":
        """Return a copy with operator overrides applied (unknown keys are rejected)."""
        allowed = {"base_url", "auth", "headers", "endpoints", "key_required", "developer_as_system"}
        unknown = set(overrides) - allowed
        if unknown:
            raise ValueError(f"GATEWAY_PROVIDERS.{self.id}: unknown keys {sorted(unknown)}")
        changes = dict(overrides)
        if "endpoints" in changes:
            changes["endpoints"] = frozenset(changes["endpoints"])
        if "base_url" in changes:
            changes["base_url"] = str(changes["base_url"]).rstrip("/")
        return replace(self, **changes)


def _compat(pid: str, base_url: str, endpoints: frozenset[str] = CHAT, **kw: Any) -> ProviderSpec:
    return ProviderSpec(id=pid, base_url=base_url, endpoints=endpoints, **kw)


_OPENAI_ALL = ALL_TEXT | {
    "imageGenerate",
    "imageEdit",
    "createSpeech",
    "createTranscription",
    "createTranslation",
    "moderate",
    "files",
    "batches",
    "finetune",
    "responses",
    "realtime",
}

_ENTRIES: tuple[ProviderSpec, ...] = (
    _compat("openai", "https://api.openai.com/v1", _OPENAI_ALL, developer_as_system=False),
    _compat("groq", "https://api.groq.com/openai/v1", CHAT | AUDIO_IN | {"createSpeech"}),
    _compat("mistral-ai", "https://api.mistral.ai/v1", CHAT_EMBED, adapter="mistral"),
    _compat("together-ai", "https://api.together.xyz/v1", ALL_TEXT | {"imageGenerate"}),
    _compat("fireworks-ai", "https://api.fireworks.ai/inference/v1", ALL_TEXT | {"imageGenerate"}),
    _compat("deepseek", "https://api.deepseek.com/v1", CHAT_COMPLETE),
    _compat("perplexity-ai", "https://api.perplexity.ai", frozenset({"chatComplete"})),
    _compat(
        "openrouter", "https://openrouter.ai/api/v1", CHAT_COMPLETE, headers={"HTTP-Referer": "https://portkey.ai/"}
    ),
    _compat("x-ai", "https://api.x.ai/v1", CHAT_COMPLETE | {"imageGenerate"}),
    _compat("cerebras", "https://api.cerebras.ai/v1", CHAT_COMPLETE),
    _compat("deepinfra", "https://api.deepinfra.com/v1/openai", ALL_TEXT),
    _compat("sambanova", "https://api.sambanova.ai/v1", CHAT),
    _compat("nebius", "https://api.studio.nebius.ai/v1", ALL_TEXT),
    _compat("hyperbolic", "https://api.hyperbolic.xyz/v1", CHAT_COMPLETE),
    _compat("novita-ai", "https://api.novita.ai/v3/openai", ALL_TEXT),
    _compat("lambda", "https://api.lambdalabs.com/v1", CHAT_COMPLETE),
    _compat("nvidia-nim", "https://integrate.api.nvidia.com/v1", ALL_TEXT),
    _compat("huggingface", "https://router.huggingface.co/v1", CHAT),
    _compat("ollama", "http://localhost:11434/v1", ALL_TEXT, auth="none", key_required=False),
    _compat("lm-studio", "http://localhost:1234/v1", ALL_TEXT, auth="none", key_required=False),
    _compat("vllm", "http://localhost:8000/v1", ALL_TEXT, key_required=False),
    _compat("moonshot", "https://api.moonshot.cn/v1", CHAT),
    _compat("siliconflow", "https://api.siliconflow.cn/v1", CHAT_EMBED),
    _compat("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", CHAT_EMBED),
    _compat("upstage", "https://api.upstage.ai/v1/solar", CHAT_EMBED),
    _compat("inference-net", "https://api.inference.net/v1", CHAT),
    _compat("kluster-ai", "https://api.kluster.ai/v1", CHAT_EMBED),
    _compat("featherless-ai", "https://api.featherless.ai/v1", CHAT_COMPLETE),
    _compat("nscale", "https://inference.api.nscale.com/v1", CHAT | {"imageGenerate"}),
    _compat("ovhcloud", "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", CHAT_EMBED),
    _compat("z-ai", "https://api.z.ai/api/paas/v4", CHAT),
    _compat("zhipu", "https://open.bigmodel.cn/api/paas/v4", CHAT_EMBED),
    _compat("lingyi", "https://api.lingyiwanwu.com/v1", CHAT),
    _compat("voyage", "https://api.voyageai.com/v1", frozenset({"embed"})),
    _compat("jina", "https://api.jina.ai/v1", frozenset({"embed"})),
    _compat("302ai", "https://api.302.ai/v1", CHAT),
    _compat("cometapi", "https://api.cometapi.com/v1", CHAT_EMBED),
    _compat("deepbricks", "https://api.deepbricks.ai/v1", CHAT),
    _compat("krutrim", "https://cloud.olakrutrim.com/v1", CHAT),
    _compat("iointelligence", "https://api.intelligence.io.solutions/api/v1", CHAT_EMBED),
    _compat("lemonfox-ai", "https://api.lemonfox.ai/v1", CHAT | AUDIO_IN | {"createSpeech", "imageGenerate"}),
    _compat("github", "https://models.inference.ai.azure.com", CHAT_EMBED),
    # Native providers: reachable through the generic /v1/* proxy from day one; their unified
    # endpoints come from the translator module named by ``adapter``.
    ProviderSpec(
        "anthropic",
        "https://api.anthropic.com/v1",
        auth="header:x-api-key",
        headers={"anthropic-version": "2023-06-01"},
        endpoints=frozenset({"chatComplete", "messages", "messagesCountTokens"}),
        adapter="anthropic",
        native_formats={"messages": "anthropic_messages", "messagesCountTokens": "anthropic_messages"},
    ),
    ProviderSpec(
        "google",
        "https://generativelanguage.googleapis.com/v1beta",
        auth="header:x-goog-api-key",
        endpoints=frozenset({"chatComplete", "embed", "imageGenerate"}),
        adapter="google",
    ),
    # Vertex AI, Bedrock and Azure compute their hosts from options (region, project, resource).
    # Claude models on Vertex AI and Bedrock speak the Messages format natively.
    ProviderSpec(
        "vertex-ai",
        "",
        endpoints=frozenset({"chatComplete", "embed", "messages"}),
        adapter="vertex",
        native_formats={"messages": "claude_elsewhere"},
    ),
    ProviderSpec(
        "bedrock",
        "",
        endpoints=frozenset({"chatComplete", "embed", "messages", "files", "batches"}),
        adapter="bedrock",
        native_formats={"messages": "claude_elsewhere"},
        batch="bedrock",
    ),
    ProviderSpec(
        "azure-openai",
        "",
        auth="header:api-key",
        endpoints=_OPENAI_ALL,
        adapter="azure",
        native_formats={"responses": "azure_responses"},
    ),
    ProviderSpec(
        "cohere", "https://api.cohere.com/v1", endpoints=frozenset({"chatComplete", "embed"}), adapter="cohere"
    ),
    ProviderSpec(
        "stability-ai", "https://api.stability.ai", endpoints=frozenset({"imageGenerate"}), adapter="stability"
    ),
)

#: The built-in registry, keyed by the reference's provider ids.
BUILTIN: Mapping[str, ProviderSpec] = {spec.id: spec for spec in _ENTRIES}


def build_registry(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, ProviderSpec]:
    """Return the registry with operator overrides applied; new ids become OpenAI-compatible entries."""
    registry = dict(BUILTIN)
    for pid, spec_overrides in (overrides or {}).items():
        if pid in registry:
            registry[pid] = registry[pid].with_overrides(spec_overrides)
        else:
            if "base_url" not in spec_overrides:
                raise ValueError(f"GATEWAY_PROVIDERS.{pid}: a new provider needs a base_url")
            base = ProviderSpec(id=pid, base_url="", endpoints=ALL_TEXT)
            registry[pid] = base.with_overrides(spec_overrides)
    return registry
