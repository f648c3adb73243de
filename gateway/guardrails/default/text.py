"""Text checks of the default plugin: regexMatch, sentenceCount, wordCount, characterCount,
endsWith, alluppercase and alllowercase.

Facts from the reference (``plugins/default/*.ts``): the text under test is
``HookContext.text``; ``not`` inverts the verdict; bounds are not defaulted (a missing bound
is an error); empty text is an error except for sentenceCount. regexMatch is an unanchored
JavaScript regex search (``gateway.guardrails.default.jsregex``). Sentences are the ``.``, ``!`` and ``?``
characters; words are the whitespace-separated pieces of the trimmed text (integer bounds);
characters are ``text.length`` in UTF-16 code units (integer bounds). The case checks look at
ASCII letters only (text without letters passes). endsWith also accepts the suffix followed by
a period.
"""

from __future__ import annotations

from typing import Any

from gateway.guardrails.contract import CheckIO, CheckResult, HookContext
from gateway.guardrails.default.common import (
    JS_WHITESPACE,
    error,
    error_excerpt,
    excerpt,
    flag,
    is_integer,
    is_number,
    js_str,
    js_word_count,
    number,
    phrase,
    truthy,
    utf16_len,
)
from gateway.guardrails.default.jsregex import JSRegex, JSRegexError


def regex_match(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the rule (a JavaScript regex, unanchored) matches the text."""
    rule = parameters.get("rule")
    inverted = flag(parameters, "not")
    text = context.text
    try:
        if not truthy(rule):
            raise ValueError("Missing regex pattern")
        if not text:
            raise ValueError("Missing text to match")
        found = JSRegex(js_str(rule)).first(text)
    except (ValueError, JSRegexError) as exc:
        return error(
            str(exc),
            {
                "explanation": f"An error occurred while processing the regex: {exc}",
                "regexPattern": rule,
                "not": inverted,
                "textExcerpt": error_excerpt(text),
            },
        )
    verdict = (found is None) if inverted else (found is not None)
    details = None
    if found is not None:
        details = {
            "matchedText": found.group(0),
            "index": found.start(),
            "groups": found.groupdict(),
            "captures": list(found.groups()),
        }
    return CheckResult(
        verdict=verdict,
        data={
            "regexPattern": rule,
            "not": inverted,
            "verdict": verdict,
            "explanation": phrase(
                verdict,
                inverted,
                f"The regex pattern '{rule}' did not match the text as expected.",
                f"The regex pattern '{rule}' successfully matched the text.",
                f"The regex pattern '{rule}' matched the text when it should not have.",
                f"The regex pattern '{rule}' did not match the text.",
            ),
            "matchDetails": details,
            "textExcerpt": excerpt(text),
        },
    )


def sentence_count(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the number of sentence terminators is within [minSentences, maxSentences]."""
    low, high = parameters.get("minSentences"), parameters.get("maxSentences")
    inverted = flag(parameters, "not")
    text = context.text or ""
    if not is_number(low) or not is_number(high):
        return error(
            "Missing sentence count range",
            {
                "explanation": "An error occurred: Missing sentence count range",
                "minCount": low,
                "maxCount": high,
                "not": inverted,
                "textExcerpt": excerpt(text or "No text available"),
            },
        )
    low, high = number(low), number(high)
    count = sum(text.count(c) for c in ".!?")
    verdict = (low <= count <= high) != inverted
    span = f"range of {low} to {high}"
    return CheckResult(
        verdict=verdict,
        data={
            "sentenceCount": count,
            "minCount": low,
            "maxCount": high,
            "not": inverted,
            "verdict": verdict,
            "explanation": phrase(
                verdict,
                inverted,
                f"The sentence count ({count}) is outside the specified {span} as expected.",
                f"The sentence count ({count}) is within the specified {span}.",
                f"The sentence count ({count}) is within the specified {span} when it should not be.",
                f"The sentence count ({count}) is outside the specified {span}.",
            ),
            "textExcerpt": excerpt(text),
        },
    )


def _count_check(
    context: HookContext, parameters: dict[str, Any], unit: str, names: tuple[str, str, str], trim: bool
) -> CheckResult:
    """wordCount and characterCount: ``unit`` is ``words`` or ``characters``."""
    low_key, high_key, count_key = names
    low, high = parameters.get(low_key), parameters.get(high_key)
    inverted = flag(parameters, "not")
    raw = context.text
    text = raw.strip(JS_WHITESPACE) if trim else raw
    failure = None
    if not text:
        failure = "Missing text to analyze"
    elif not is_integer(low) or not is_integer(high):
        failure = f"Invalid or missing {unit.rstrip('s')} count range"
    if failure:
        doing = "processing word count" if unit == "words" else "counting characters"
        return error(
            failure,
            {
                "explanation": f"An error occurred while {doing}: {failure}",
                low_key: low,
                high_key: high,
                "not": inverted,
                "textExcerpt": error_excerpt(raw),
            },
        )
    low, high = number(low), number(high)
    count = js_word_count(text) if unit == "words" else utf16_len(text)
    verdict = (low <= count <= high) != inverted
    head = f"The text contains {count} {unit}, which is"
    span = f"the specified range of {low}-{high} {unit}"
    return CheckResult(
        verdict=verdict,
        data={
            count_key: count,
            low_key: low,
            high_key: high,
            "not": inverted,
            "verdict": verdict,
            "explanation": phrase(
                verdict,
                inverted,
                f"{head} outside {span} as expected.",
                f"{head} within {span}.",
                f"{head} within {span} when it should not be.",
                f"{head} outside {span}.",
            ),
            "textExcerpt": excerpt(text),
        },
    )


def word_count(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the number of words is within [minWords, maxWords]."""
    return _count_check(context, parameters, "words", ("minWords", "maxWords", "wordCount"), trim=True)


def character_count(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the number of characters is within [minCharacters, maxCharacters]."""
    names = ("minCharacters", "maxCharacters", "characterCount")
    return _count_check(context, parameters, "characters", names, trim=False)


def ends_with(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when the text ends with the suffix (or the suffix and a period)."""
    suffix = parameters.get("suffix")
    inverted = flag(parameters, "not")
    text = context.text
    failure = "Missing text to analyze" if not text else None if truthy(suffix) else "Missing or empty suffix"
    if failure:
        return error(
            failure,
            {
                "explanation": f"An error occurred while checking suffix: {failure}",
                "suffix": suffix,
                "not": inverted,
                "textExcerpt": error_excerpt(text),
            },
        )
    word = js_str(suffix)
    with_period = text.endswith(f"{word}.")
    ends = text.endswith(word) or with_period
    verdict = ends != inverted
    return CheckResult(
        verdict=verdict,
        data={
            "suffix": suffix,
            "not": inverted,
            "verdict": verdict,
            "explanation": phrase(
                verdict,
                inverted,
                f'The text does not end with "{word}" as expected.',
                f'The text ends with "{word}"{" (including trailing period)" if with_period else ""}.',
                f'The text ends with "{word}" when it should not.',
                f'The text does not end with "{word}".',
            ),
            "textExcerpt": excerpt(text),
        },
    )


def _case_check(context: HookContext, parameters: dict[str, Any], upper: bool) -> CheckResult:
    inverted = flag(parameters, "not")
    text = context.text
    name, other = ("uppercase", "lowercase") if upper else ("lowercase", "uppercase")
    if not text:
        return error(
            "Missing text to analyze",
            {
                "explanation": f"An error occurred while checking {name}: Missing text to analyze",
                "not": inverted,
                "textExcerpt": error_excerpt(text),
            },
        )
    wrong = "abcdefghijklmnopqrstuvwxyz" if upper else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    matches = not any(c in wrong for c in text)
    verdict = matches != inverted
    return CheckResult(
        verdict=verdict,
        data={
            "verdict": verdict,
            "not": inverted,
            "explanation": phrase(
                verdict,
                inverted,
                f"The text contains {other} characters as expected.",
                f"All alphabetic characters in the text are {name}.",
                f"All alphabetic characters in the text are {name} when they should not be.",
                f"The text contains {other} characters.",
            ),
            "textExcerpt": excerpt(text),
        },
    )


def all_uppercase(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when no ASCII letter of the text is lowercase."""
    return _case_check(context, parameters, upper=True)


def all_lowercase(context: HookContext, parameters: dict[str, Any], io: CheckIO) -> CheckResult:
    """Pass when no ASCII letter of the text is uppercase."""
    return _case_check(context, parameters, upper=False)
