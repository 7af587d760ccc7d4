"""Errors that reach the user: located, one line each, never a traceback.

Every failure a user can cause is an `InputError` carrying `Problem`s. Each problem prints as
`path:line:col: field: message`, the shape editors and CI annotators already understand.
Exit codes are shared by every verb: 0 ok, 1 a check failed, 2 bad input or usage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One located complaint about an input file."""

    path: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        field = _printable(self.field) or "(document)"
        return f"{_printable(self.path)}:{self.line}:{self.col}: {field}: " \
               f"{_printable(self.message)}"


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def _printable(text: str) -> str:
    """Escape line breaks and control characters: one problem is always exactly one line."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


class InputError(Exception):
    """Bad input: the command exits 2 after printing every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, path: Path | str, message: str, *, line: int = 1, col: int = 1,
           field: str = "") -> InputError:
        return cls([Problem(str(path), line, col, field, message)])


class UsageError(Exception):
    """The command line itself is wrong (unknown environment, missing option...)."""
