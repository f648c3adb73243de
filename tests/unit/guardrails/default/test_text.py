"""The text checks (``gateway.guardrails.default.text``): regexMatch, sentenceCount, wordCount,
characterCount, alluppercase / alllowercase and endsWith, table-driven after the reference's
``plugins/default/default.test.ts`` (same inputs, verdicts and explanations, plus the ``not``
inversions and the errors).
"""

from __future__ import annotations

import pytest

from tests.unit.guardrails.default.harness import after, before, check, run

FOX = "The quick brown fox jumps over the lazy dog."

# -- regexMatch -------------------------------------------------------------------------------------


def test_regex_match_simple():
    result = run("regexMatch", {"rule": "quick.*fox", "not": False}, after(FOX))
    check(result, True, textExcerpt=FOX)
    assert "successfully matched" in result.data["explanation"]
    assert result.data["matchDetails"]["matchedText"] == "quick brown fox"
    assert result.data["matchDetails"]["index"] == 4


@pytest.mark.parametrize(
    ("rule", "inverted", "verdict", "phrase"),
    [
        ("zebra", False, False, "did not match the text."),
        ("zebra", True, True, "did not match the text as expected."),
        ("quick", True, False, "matched the text when it should not have."),
    ],
)
def test_regex_match_verdicts(rule, inverted, verdict, phrase):
    result = run("regexMatch", {"rule": rule, "not": inverted}, after(FOX))
    check(result, verdict, **{"not": inverted})
    assert result.data["explanation"].endswith(phrase)
    if rule == "zebra":
        assert result.data["matchDetails"] is None


def test_regex_match_groups():
    plain = run("regexMatch", {"rule": "(quick) (brown) (fox)"}, after(FOX)).data["matchDetails"]
    assert plain["captures"] == ["quick", "brown", "fox"] and plain["groups"] == {}
    named = run("regexMatch", {"rule": "(?<adjective1>quick) (?<adjective2>brown) (?<animal>fox)"}, after(FOX))
    assert named.data["matchDetails"]["groups"] == {"adjective1": "quick", "adjective2": "brown", "animal": "fox"}


def test_regex_match_excerpt_and_errors():
    assert run("regexMatch", {"rule": "a"}, after("a" * 200)).data["textExcerpt"] == "a" * 100 + "..."
    bad = run("regexMatch", {"rule": "(", "not": False}, after(FOX))
    check(bad, False, error="Invalid regular expression")
    assert bad.data["explanation"].startswith("An error occurred")
    check(run("regexMatch", {"rule": ""}, after(FOX)), False, error="Missing regex pattern")
    empty = run("regexMatch", {"rule": "test"}, after(""))
    check(empty, False, error="Missing text to match", textExcerpt="No text available")
    assert "Missing text to match" in empty.data["explanation"]


def test_regex_match_request_text_is_last_message():
    context = before({"messages": [{"role": "user", "content": "secret"}, {"role": "user", "content": "fine"}]})
    check(run("regexMatch", {"rule": "secret"}, context), False)


# -- sentenceCount ----------------------------------------------------------------------------------

TWO_SENTENCES = "This is a sentence. This is another sentence."


@pytest.mark.parametrize(
    ("text", "low", "high", "inverted", "verdict", "count", "explanation"),
    [
        (TWO_SENTENCES, 1, 3, False, True, 2, "The sentence count (2) is within the specified range of 1 to 3."),
        (TWO_SENTENCES, 3, 4, False, False, 2, "The sentence count (2) is outside the specified range of 3 to 4."),
        ("", 1, 3, False, False, 0, "The sentence count (0) is outside the specified range of 1 to 3."),
        (
            TWO_SENTENCES,
            3,
            4,
            True,
            True,
            2,
            "The sentence count (2) is outside the specified range of 3 to 4 as expected.",
        ),
        (
            TWO_SENTENCES,
            1,
            3.0,
            True,
            False,
            2,
            "The sentence count (2) is within the specified range of 1 to 3 when it should not be.",
        ),
        ("Wait! Really? Yes.", 3, 3, False, True, 3, "The sentence count (3) is within the specified range of 3 to 3."),
    ],
)
def test_sentence_count(text, low, high, inverted, verdict, count, explanation):
    result = run("sentenceCount", {"minSentences": low, "maxSentences": high, "not": inverted}, after(text))
    check(
        result,
        verdict,
        data={
            "sentenceCount": count,
            "minCount": low,
            "maxCount": int(high),
            "not": inverted,
            "verdict": verdict,
            "explanation": explanation,
            "textExcerpt": text,
        },
    )


def test_sentence_count_long_text_and_missing_range():
    result = run("sentenceCount", {"minSentences": 1, "maxSentences": 30}, after("This is a sentence. " * 20))
    check(result, True)
    assert len(result.data["textExcerpt"]) == 103 and result.data["textExcerpt"].endswith("...")
    check(
        run("sentenceCount", {}, after("This is a sentence.")),
        False,
        error="Missing sentence count range",
        data={
            "explanation": "An error occurred: Missing sentence count range",
            "minCount": None,
            "maxCount": None,
            "not": False,
            "textExcerpt": "This is a sentence.",
        },
    )


# -- wordCount / characterCount ---------------------------------------------------------------------

SEVEN = "This is a sentence with 7 words."


@pytest.mark.parametrize(
    ("low", "high", "inverted", "verdict", "phrase"),
    [
        (5, 8, False, True, "within the specified range of 5-8 words."),
        (10, 15, False, False, "outside the specified range of 10-15 words."),
        (10, 15, True, True, "outside the specified range of 10-15 words as expected."),
        (5.0, 8, True, False, "within the specified range of 5-8 words when it should not be."),
    ],
)
def test_word_count(low, high, inverted, verdict, phrase):
    result = run("wordCount", {"minWords": low, "maxWords": high, "not": inverted}, after(SEVEN))
    check(
        result,
        verdict,
        data={
            "wordCount": 7,
            "minWords": int(low),
            "maxWords": high,
            "not": inverted,
            "verdict": verdict,
            "explanation": f"The text contains 7 words, which is {phrase}",
            "textExcerpt": SEVEN,
        },
    )


@pytest.mark.parametrize(("text", "count"), [("a\ufeffb", 2), ("a\x85b", 1), ("  one\u3000two \n three\t", 3)])
def test_word_count_uses_javascript_whitespace(text, count):
    check(run("wordCount", {"minWords": 0, "maxWords": 9}, after(text)), True, wordCount=count)


def test_word_count_errors_and_long_text():
    result = run("wordCount", {"minWords": 40, "maxWords": 60}, after("word " * 50))
    check(result, True, wordCount=50)
    assert result.data["textExcerpt"].endswith("...")
    msg = "An error occurred while processing word count: "
    check(
        run("wordCount", {"minWords": 1, "maxWords": 5, "not": False}, after("")),
        False,
        error="Missing text to analyze",
        data={
            "explanation": msg + "Missing text to analyze",
            "minWords": 1,
            "maxWords": 5,
            "not": False,
            "textExcerpt": "No text available",
        },
    )
    check(
        run("wordCount", {"minWords": "invalid", "maxWords": 5}, after("This is a test.")),
        False,
        error="Invalid or missing word count range",
        data={
            "explanation": msg + "Invalid or missing word count range",
            "minWords": "invalid",
            "maxWords": 5,
            "not": False,
            "textExcerpt": "This is a test.",
        },
    )
    check(
        run("wordCount", {}, after("This is a test.")),
        False,
        error="Invalid or missing word count range",
        minWords=None,
        maxWords=None,
    )
    check(run("wordCount", {"minWords": 1.5, "maxWords": 5}, after("a b")), False, error="Invalid or missing")
    check(
        run("wordCount", {"minWords": 1, "maxWords": 10}, after("   \n\t   ")),
        False,
        error="Missing text to analyze",
        textExcerpt="   \n\t   ",
    )


@pytest.mark.parametrize(
    ("text", "low", "high", "inverted", "verdict", "count", "phrase"),
    [
        ("This is a test.", 10, 20, False, True, 15, "within the specified range of 10-20 characters."),
        (
            "This is a very long test that exceeds the limit.",
            10,
            20,
            False,
            False,
            48,
            "outside the specified range of 10-20 characters.",
        ),
        ("   \n\t   ", 1, 10, False, True, 8, "within the specified range of 1-10 characters."),
        (
            "This is a test.",
            10,
            20,
            True,
            False,
            15,
            "within the specified range of 10-20 characters when it should not be.",
        ),
        ("tiny", 10, 20, True, True, 4, "outside the specified range of 10-20 characters as expected."),
        ("😀😀", 4, 4, False, True, 4, "within the specified range of 4-4 characters."),
    ],
)
def test_character_count(text, low, high, inverted, verdict, count, phrase):
    result = run("characterCount", {"minCharacters": low, "maxCharacters": high, "not": inverted}, after(text))
    check(
        result,
        verdict,
        data={
            "characterCount": count,
            "minCharacters": low,
            "maxCharacters": high,
            "not": inverted,
            "verdict": verdict,
            "explanation": f"The text contains {count} characters, which is {phrase}",
            "textExcerpt": text,
        },
    )


def test_character_count_errors_and_long_text():
    result = run("characterCount", {"minCharacters": 100, "maxCharacters": 200}, after("a" * 150))
    check(result, True, characterCount=150)
    assert result.data["textExcerpt"] == "a" * 100 + "..."
    msg = "An error occurred while counting characters: "
    check(
        run("characterCount", {"minCharacters": 1, "maxCharacters": 10}, after("")),
        False,
        error="Missing text to analyze",
        data={
            "explanation": msg + "Missing text to analyze",
            "minCharacters": 1,
            "maxCharacters": 10,
            "not": False,
            "textExcerpt": "No text available",
        },
    )
    check(
        run("characterCount", {}, after("This is a test.")),
        False,
        error="Invalid or missing character count range",
        data={
            "explanation": msg + "Invalid or missing character count range",
            "minCharacters": None,
            "maxCharacters": None,
            "not": False,
            "textExcerpt": "This is a test.",
        },
    )


# -- alluppercase / alllowercase ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "inverted", "verdict", "explanation"),
    [
        (
            "alluppercase",
            "THIS IS ALL UPPERCASE TEXT!",
            False,
            True,
            "All alphabetic characters in the text are uppercase.",
        ),
        ("alluppercase", "This Has Mixed Case.", False, False, "The text contains lowercase characters."),
        ("alluppercase", "123 !@#$%", False, True, "All alphabetic characters in the text are uppercase."),
        ("alluppercase", "This Has Mixed Case.", True, True, "The text contains lowercase characters as expected."),
        (
            "alluppercase",
            "LOUD",
            True,
            False,
            "All alphabetic characters in the text are uppercase when they should not be.",
        ),
        ("alluppercase", "ÉCOLE é", False, True, "All alphabetic characters in the text are uppercase."),
        (
            "alllowercase",
            "this is all lowercase text!",
            False,
            True,
            "All alphabetic characters in the text are lowercase.",
        ),
        ("alllowercase", "This Has Mixed Case.", False, False, "The text contains uppercase characters."),
        ("alllowercase", "123 !@#$%", False, True, "All alphabetic characters in the text are lowercase."),
        ("alllowercase", "Mixed", True, True, "The text contains uppercase characters as expected."),
        (
            "alllowercase",
            "quiet",
            True,
            False,
            "All alphabetic characters in the text are lowercase when they should not be.",
        ),
    ],
)
def test_case_checks(name, text, inverted, verdict, explanation):
    result = run(name, {"not": inverted}, after(text))
    check(result, verdict, data={"verdict": verdict, "not": inverted, "explanation": explanation, "textExcerpt": text})


@pytest.mark.parametrize(("name", "word"), [("alluppercase", "uppercase"), ("alllowercase", "lowercase")])
def test_case_checks_errors_and_long_text(name, word):
    letter = "A" if name == "alluppercase" else "a"
    assert run(name, {"not": False}, after(letter * 150)).data["textExcerpt"] == letter * 100 + "..."
    check(
        run(name, {"not": False}, after("")),
        False,
        error="Missing text to analyze",
        data={
            "explanation": f"An error occurred while checking {word}: Missing text to analyze",
            "not": False,
            "textExcerpt": "No text available",
        },
    )


# -- endsWith ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "inverted", "verdict", "explanation"),
    [
        ("This is a test ending with HarryPortkey", False, True, 'The text ends with "HarryPortkey".'),
        (
            "This is a test ending with HarryPortkey.",
            False,
            True,
            'The text ends with "HarryPortkey" (including trailing period).',
        ),
        ("This is a test ending with something else", False, False, 'The text does not end with "HarryPortkey".'),
        (
            "This is a test ending with something else",
            True,
            True,
            'The text does not end with "HarryPortkey" as expected.',
        ),
        ("Signed, HarryPortkey", True, False, 'The text ends with "HarryPortkey" when it should not.'),
    ],
)
def test_ends_with(text, inverted, verdict, explanation):
    result = run("endsWith", {"suffix": "HarryPortkey", "not": inverted}, after(text))
    check(
        result,
        verdict,
        data={
            "suffix": "HarryPortkey",
            "not": inverted,
            "verdict": verdict,
            "explanation": explanation,
            "textExcerpt": text,
        },
    )


@pytest.mark.parametrize(
    ("text", "params", "message", "excerpt"),
    [
        ("", {"suffix": "test", "not": False}, "Missing text to analyze", "No text available"),
        ("This is a test.", {}, "Missing or empty suffix", "This is a test."),
        ("This is a test.", {"suffix": "", "not": False}, "Missing or empty suffix", "This is a test."),
    ],
)
def test_ends_with_errors(text, params, message, excerpt):
    check(
        run("endsWith", params, after(text)),
        False,
        error=message,
        data={
            "explanation": f"An error occurred while checking suffix: {message}",
            "suffix": params.get("suffix"),
            "not": False,
            "textExcerpt": excerpt,
        },
    )
