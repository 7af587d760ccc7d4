"""Go (RE2) `pattern`s of Kubernetes schemas rewritten for Python's `re`.

CRDs are written for the API server, which runs RE2: inline flags anywhere, POSIX classes,
`\\z`, a `$` that never matches before a trailing newline. Each pattern is translated once to a
Python pattern with the same meaning; one that cannot be translated is recorded in
`SKIPPED_PATTERNS` and not enforced, and messages show the original pattern, not the translation.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class SkippedPattern:
    """A schema `pattern` that Python's `re` cannot run even after translation; not enforced."""

    schema: str
    location: str
    pattern: str
    reason: str


SKIPPED_PATTERNS: list[SkippedPattern] = []


_POSIX_CLASSES: Final = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_FLAG_GROUP: Final = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?\)")
_SUPPORTED_FLAGS: Final = frozenset("ims")
_ORIGINAL_PATTERN: dict[str, str] = {}


def _translate_class(pattern: str, start: int) -> tuple[str, int]:
    """Translate the character class opening at `start`; return it and the index after it."""
    out = ["["]
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if char == "\\" and i + 1 < len(pattern):
            if pattern[i + 1] in "pP":
                raise re.error("Unicode classes (\\p) are not supported by Python's re")
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end != -1 else ""
            if name not in _POSIX_CLASSES:
                raise re.error(f"unknown POSIX class [:{name}:]")
            out.append(_POSIX_CLASSES[name])
            i = end + 2
        elif char in "[$":
            out.append("\\" + char)
            i += 1
        else:
            out.append(char)
            i += 1
    raise re.error("unterminated character class")


def _translate_escape(pattern: str, i: int) -> tuple[str, int]:
    nxt = pattern[i + 1]
    if nxt in "pPC":
        raise re.error(f"\\{nxt} is not supported by Python's re")
    if nxt == "Q":
        end = pattern.find("\\E", i + 2)
        stop = len(pattern) if end == -1 else end
        return re.escape(pattern[i + 2 : stop]), len(pattern) if end == -1 else end + 2
    return ("\\Z" if nxt == "z" else pattern[i : i + 2]), i + 2


def _translate_pattern(pattern: str) -> str:
    """Rewrite a Go RE2 pattern as a Python pattern with the same meaning, or raise re.error.

    RE2 lets inline flags such as `(?i)` appear anywhere and apply to the rest of the enclosing
    group; Python only accepts global flags at the very start. A leading flag group (after
    anchors) moves to the front; any other becomes a scoped group `(?i:...)` closed where the
    enclosing group ends and reopened after each `|`. `$` and `\\z` become `\\Z`: RE2's `$`
    (without `m`) never matches before a trailing newline, Python's does.
    """
    multiline = any("m" in (m.group(1) or "") for m in _FLAG_GROUP.finditer(pattern))
    prefix_flags = ""
    out: list[str] = []
    scoped: list[list[str]] = [[]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        flags = _FLAG_GROUP.match(pattern, i) if char == "(" else None
        if char == "\\" and i + 1 < len(pattern):
            piece, i = _translate_escape(pattern, i)
            out.append(piece)
            continue
        if char == "[":
            piece, i = _translate_class(pattern, i)
            out.append(piece)
            continue
        i += 1
        if flags is not None:
            on, off = flags.group(1) or "", flags.group(2) or ""
            if not set(on + off) <= _SUPPORTED_FLAGS:
                raise re.error(f"inline flags {flags.group(0)} are not supported by Python's re")
            i = flags.end()
            if len(scoped) == 1 and all(part == "^" for part in out):
                prefix_flags += on
                continue
            opener = f"(?{on}-{off}:" if off else f"(?{on}:"
            scoped[-1].append(opener)
            out.append(opener)
        elif char == "(":
            scoped.append([])
            out.append("(")
        elif char == ")":
            out.append(")" * len(scoped[-1]) + ")")
            if len(scoped) > 1:
                scoped.pop()
        elif char == "|":
            out.append(")" * len(scoped[-1]) + "|" + "".join(scoped[-1]))
        else:
            out.append("\\Z" if char == "$" and not multiline else char)
    out.append(")" * len(scoped[-1]))
    translated = "".join(out)
    if prefix_flags:
        translated = f"(?{''.join(sorted(set(prefix_flags)))}){translated}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re.compile(translated)
    return translated


@functools.cache
def python_pattern(pattern: str) -> str | re.error:
    try:
        translated = _translate_pattern(pattern)
    except re.error as exc:
        return exc
    _ORIGINAL_PATTERN.setdefault(translated, pattern)
    return translated


def original_pattern(translated: str) -> str:
    """The schema's own spelling of a translated pattern (the translation if it has none)."""
    return _ORIGINAL_PATTERN.get(translated, translated)
