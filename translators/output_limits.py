"""The largest completion (output tokens) a provider's model accepts, where it is known.

Clients written for one provider ask for what that provider allows: Claude Code sends
``max_tokens`` of 32k-64k, which an OpenAI-compatible model with a 16k output limit refuses with a
400. ``max_output_tokens(provider, model)`` returns the documented limit (longest model-name prefix
wins) or None, and the chat body translated from another client format is clamped to it.

Facts (the providers' model pages): OpenAI ``gpt-4o`` and ``gpt-4o-mini`` 16,384; ``gpt-4.1``
(``-mini``, ``-nano``) 32,768; ``gpt-4-turbo`` 4,096; ``gpt-4`` 8,192; ``gpt-3.5-turbo`` 4,096.
DeepSeek ``deepseek-chat`` 8,192. Groq ``llama-3.3-70b-versatile`` 32,768, ``llama-3.1-8b-instant`` 131,072.
"""

from __future__ import annotations

_LIMITS: dict[str, dict[str, int]] = {
    "openai": {
        "gpt-4o": 16_384,
        "gpt-4.1": 32_768,
        "gpt-4-turbo": 4_096,
        "gpt-4": 8_192,
        "gpt-3.5-turbo": 4_096,
    },
    "deepseek": {"deepseek-chat": 8_192},
    "groq": {"llama-3.3-70b-versatile": 32_768, "llama-3.1-8b-instant": 131_072},
}
_LIMITS["azure-openai"] = _LIMITS["openai"]


def max_output_tokens(provider: str, model: str | None) -> int | None:
    """The output-token limit of ``model`` at ``provider``, or None when it is not known."""
    table = _LIMITS.get(provider)
    if not table or not model:
        return None
    best = max((prefix for prefix in table if model.startswith(prefix)), key=len, default=None)
    return table[best] if best is not None else None


def clamp_max_tokens(provider: str, body: dict) -> dict:
    """Lower ``max_tokens`` / ``max_completion_tokens`` in ``body`` (in place) to the known limit."""
    limit = max_output_tokens(provider, body.get("model") if isinstance(body.get("model"), str) else None)
    if limit is None:
        return body
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if isinstance(value, int) and value > limit:
            body[key] = limit
    return body
