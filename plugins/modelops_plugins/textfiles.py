"""A user's input file read as text, with the one error message every plugin verb gives."""

from __future__ import annotations

from pathlib import Path

from modelops.errors import UsageError


def read_text(path: Path, what: str) -> str:
    """The file's UTF-8 text; UsageError (exit 2) naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the {what} is not UTF-8 text") from None
