"""Run JavaScript regular expressions (the reference's ``new RegExp``) on the ``regex`` engine.

Guardrail rules are written for JavaScript. ``translate`` rewrites the syntax whose meaning
differs in Python: named groups ``(?<n>…)`` and ``\\k<n>``; ``\\d``, ``\\w`` and ``\\b`` are
ASCII-only in JavaScript; ``\\s`` is JavaScript's whitespace set; ``.`` excludes ``\\r``,
U+2028 and U+2029 unless the ``s`` flag is set; ``$`` is the end of the input (not "before a
final newline"), and with the ``m`` flag ``^`` / ``$`` also match at ``\\r``, U+2028, U+2029;
``[^]`` matches anything and ``[]`` nothing; identity escapes of letters (``\\e`` is ``e``);
``\\cX`` controls; ``\\u{…}`` (``u`` flag) and UTF-16 surrogate pairs written as two ``\\uXXXX``;
a ``{`` that does not start a quantifier is a literal. Flags: ``i``, ``m``, ``s``, ``u``
(``\\p{…}`` property escapes), ``g`` (every match), ``y`` (sticky), ``d`` (ignored).

What remains different: indexes are code points, not UTF-16 units; a lone surrogate escape
never matches; case-insensitive matching uses Python's case folding; inside a character class
``\\D``, ``\\W`` and ``\\S`` keep their Unicode meaning; Python-only syntax (possessive
quantifiers, atomic groups, ``(?P…)``) is accepted instead of being an error. Every search runs
with ``TIMEOUT`` seconds so a backtracking rule cannot stall a worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

TIMEOUT = 0.5

_WORD = "A-Za-z0-9_"
_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_LINE_END = "\\n\\r\\u2028\\u2029"
_OUTSIDE = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}
_INSIDE = {"d": "0-9", "w": _WORD, "s": _SPACE, "b": "\\x08", "D": "\\D", "W": "\\W", "S": "\\S"}
_SIMPLE = {"n": "\\n", "r": "\\r", "t": "\\t", "f": "\\f", "v": "\\v"}
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_FLAGS = frozenset("dgimsuy")


class JSRegexError(ValueError):
    """A rule that is not a valid regular expression."""


class JSRegex:
    """A compiled JavaScript regular expression and its ``g`` / ``y`` flags."""

    def __init__(self, source: str, flags: str = "") -> None:
        if set(flags) - _FLAGS or len(set(flags)) != len(flags):
            raise JSRegexError(f"Invalid regex flags: {flags}")
        self.source = source
        self.flags = flags
        self.is_global = "g" in flags
        self.sticky = "y" in flags
        self.pattern = _compile(source, flags)

    def first(self, text: str) -> regex.Match | None:
        """Return the first match (at position 0 only when sticky)."""
        try:
            if self.sticky:
                return self.pattern.match(text, 0, timeout=TIMEOUT)
            return self.pattern.search(text, 0, timeout=TIMEOUT)
        except TimeoutError:
            raise JSRegexError("The regex took too long to run") from None

    def matches(self, text: str) -> Iterator[regex.Match]:
        """Yield the matches ``String.prototype.replace`` would replace."""
        if not self.sticky:
            try:
                found_all = list(self.pattern.finditer(text, timeout=TIMEOUT)) if self.is_global else [self.first(text)]
            except TimeoutError:
                raise JSRegexError("The regex took too long to run") from None
            yield from (m for m in found_all if m is not None)
            return
        pos = 0
        while pos <= len(text):
            try:
                found = self.pattern.match(text, pos, timeout=TIMEOUT)
            except TimeoutError:
                raise JSRegexError("The regex took too long to run") from None
            if found is None:
                return
            yield found
            if not self.is_global:
                return
            pos = found.end() if found.end() > found.start() else found.end() + 1

    def replace(self, text: str, replacement: str) -> tuple[str, int]:
        """Replace like ``text.replace(re, replacement)``; return the text and the number of matches."""
        out: list[str] = []
        last = 0
        count = 0
        for found in self.matches(text):
            out.append(text[last : found.start()])
            out.append(_expand(replacement, found, text))
            last = found.end()
            count += 1
        out.append(text[last:])
        return "".join(out), count


def parse_literal(rule: str) -> JSRegex:
    """Compile ``/pattern/flags`` with its flags, anything else as a bare pattern (regexReplace)."""
    literal = re.match(r"/([^\n\r\u2028\u2029]+?)/([gimsuyd]*)\Z", rule)
    if literal:
        return JSRegex(literal.group(1), literal.group(2))
    return JSRegex(rule)


@lru_cache(maxsize=256)
def _compile(source: str, flags: str) -> regex.Pattern:
    import regex  # loaded on first use (about 2 MB per worker): only guardrail rules need it

    try:
        return regex.compile(translate(source, flags), regex.IGNORECASE if "i" in flags else 0)
    except (regex.error, OverflowError, ValueError) as exc:
        raise JSRegexError(f"Invalid regular expression: /{source}/: {exc}") from None


def _escape_char(code: int) -> str:
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _unicode_escape(src: str, i: int, unicode: bool) -> tuple[str, int]:
    """Read the escape after ``\\u`` at ``i``; return its translation and the next index."""
    if unicode and src.startswith("{", i):
        end = src.find("}", i)
        digits = src[i + 1 : end] if end > 0 else ""
        if digits and all(c in "0123456789abcdefABCDEF" for c in digits) and int(digits, 16) <= 0x10FFFF:
            return _escape_char(int(digits, 16)), end + 1
        raise JSRegexError("Invalid Unicode escape")
    if not _HEX4.fullmatch(src, i, i + 4):
        return "u", i
    code = int(src[i : i + 4], 16)
    if 0xD800 <= code < 0xDC00 and src.startswith("\\u", i + 4) and _HEX4.fullmatch(src, i + 6, i + 10):
        low = int(src[i + 6 : i + 10], 16)
        if 0xDC00 <= low < 0xE000:
            return _escape_char(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), i + 10
    return _escape_char(code), i + 4


def _escape(src: str, i: int, in_class: bool, unicode: bool) -> tuple[str, int]:
    """Translate the escape whose letter is at ``i``; return it and the next index."""
    if i >= len(src):
        raise JSRegexError("\\ at end of pattern")
    c = src[i]
    table = _INSIDE if in_class else _OUTSIDE
    if c in table:
        return table[c], i + 1
    if c in _SIMPLE:
        return _SIMPLE[c], i + 1
    if c == "u":
        return _unicode_escape(src, i + 1, unicode)
    if c == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", src[i + 1 : i + 3]):
        return "\\x" + src[i + 1 : i + 3], i + 3
    if c == "c" and i + 1 < len(src) and src[i + 1].isascii() and src[i + 1].isalpha():
        return _escape_char(ord(src[i + 1]) % 32), i + 2
    if c == "k" and not in_class and src.startswith("<", i + 1) and ">" in src[i + 1 :]:
        end = src.index(">", i)
        return f"(?P={src[i + 2 : end]})", end + 1
    if c in "pP" and unicode and src.startswith("{", i + 1):
        end = src.find("}", i)
        if end < 0:
            raise JSRegexError("Invalid property name")
        return "\\" + src[i : end + 1], end + 1
    if c == "0" and not (i + 1 < len(src) and src[i + 1].isdigit()):
        return "\\x00", i + 1
    if c.isdigit() and not in_class:
        j = i
        while j < len(src) and src[j].isdigit():
            j += 1
        return "\\" + src[i:j], j
    if c in "01234567":  # a legacy octal escape inside a class
        j = i
        while j < len(src) and j < i + 3 and src[j] in "01234567":
            j += 1
        return _escape_char(int(src[i:j], 8) & 0xFF), j
    # An identity escape: the character itself.
    import regex

    return regex.escape(c), i + 1


def translate(src: str, flags: str = "") -> str:
    """Rewrite a JavaScript pattern as an equivalent pattern for the ``regex`` module."""
    unicode = "u" in flags or "v" in flags
    dot_all = "s" in flags
    multiline = "m" in flags
    out: list[str] = []
    i = 0
    in_class = False
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            piece, i = _escape(src, i + 1, in_class, unicode)
            out.append(piece)
            continue
        if in_class:
            if c == "]":
                in_class = False
                out.append("]")
            elif c == "[":
                out.append("\\[")
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            if src.startswith("[^]", i):
                out.append("[\\s\\S]")
                i += 3
            elif src.startswith("[]", i):
                out.append("(?!)")
                i += 2
            else:
                in_class = True
                if src.startswith("[^", i):
                    out.append("[^")
                    i += 2
                else:
                    out.append("[")
                    i += 1
            continue
        if c == "(" and src.startswith("(?<", i) and not src.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if c == ".":
            out.append("." if dot_all else f"[^{_LINE_END}]")
        elif c == "$":
            out.append(f"(?=[{_LINE_END}]|\\Z)" if multiline else "\\Z")
        elif c == "^":
            out.append(f"(?:\\A|(?<=[{_LINE_END}]))" if multiline else "^")
        elif c == "{":
            quantifier = _QUANTIFIER.match(src, i)
            if quantifier:
                out.append(quantifier.group(0))
                i = quantifier.end()
                continue
            out.append("\\{")
        elif c == "}":
            out.append("\\}")
        else:
            out.append(c)
        i += 1
    if in_class:
        raise JSRegexError("Unterminated character class")
    return "".join(out)


def _expand(template: str, found: regex.Match, text: str) -> str:
    """Expand ``$$``, ``$&``, ``$```, ``$'``, ``$n`` and ``$<name>`` in a replacement."""
    if "$" not in template:
        return template
    out: list[str] = []
    i = 0
    groups = found.re.groups
    named = found.re.groupindex
    while i < len(template):
        c = template[i]
        nxt = template[i + 1] if i + 1 < len(template) else ""
        if c != "$" or not nxt:
            out.append(c)
            i += 1
        elif nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "&":
            out.append(found.group(0))
            i += 2
        elif nxt == "`":
            out.append(text[: found.start()])
            i += 2
        elif nxt == "'":
            out.append(text[found.end() :])
            i += 2
        elif nxt.isdigit():
            two = template[i + 1 : i + 3]
            if len(two) == 2 and two.isdigit() and 1 <= int(two) <= groups:
                out.append(found.group(int(two)) or "")
                i += 3
            elif 1 <= int(nxt) <= groups:
                out.append(found.group(int(nxt)) or "")
                i += 2
            else:
                out.append("$")
                i += 1
        elif nxt == "<" and named and ">" in template[i + 2 :]:
            end = template.index(">", i + 2)
            name = template[i + 2 : end]
            out.append((found.group(name) or "") if name in named else "")
            i = end + 1
        else:
            out.append("$")
            i += 1
    return "".join(out)
