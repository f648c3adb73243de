"""Find the translator of a registry entry's ``adapter``, importing its module on first use.

Each loader imports its translator module directly, so the import graph (and the linter) sees
every translator; loading on first use keeps a worker's memory to the providers it serves.
Adding a native provider means a translator folder, a loader here and a registry entry.
"""

from __future__ import annotations

from collections.abc import Callable

from translators.contract import Translator


def _anthropic() -> Translator:
    from translators.anthropic.translator import TRANSLATOR

    return TRANSLATOR


def _google() -> Translator:
    from translators.google.translator import TRANSLATOR

    return TRANSLATOR


def _vertex() -> Translator:
    from translators.google.vertex import TRANSLATOR

    return TRANSLATOR


def _bedrock() -> Translator:
    from translators.bedrock.translator import TRANSLATOR

    return TRANSLATOR


def _azure() -> Translator:
    from translators.azure.translator import TRANSLATOR

    return TRANSLATOR


def _cohere() -> Translator:
    from translators.cohere.translator import TRANSLATOR

    return TRANSLATOR


def _mistral() -> Translator:
    from translators.mistral.translator import TRANSLATOR

    return TRANSLATOR


def _stability() -> Translator:
    from translators.stability.translator import TRANSLATOR

    return TRANSLATOR


#: ``ProviderSpec.adapter`` -> the loader of its translator.
LOADERS: dict[str, Callable[[], Translator]] = {
    "anthropic": _anthropic,
    "google": _google,
    "vertex": _vertex,
    "bedrock": _bedrock,
    "azure": _azure,
    "cohere": _cohere,
    "mistral": _mistral,
    "stability": _stability,
}

_loaded: dict[str, Translator] = {}


def translator_for(adapter: str) -> Translator:
    """Return the translator of ``adapter`` (imported on first use; KeyError for an unknown adapter)."""
    translator = _loaded.get(adapter)
    if translator is None:
        translator = _loaded[adapter] = LOADERS[adapter]()
    return translator
