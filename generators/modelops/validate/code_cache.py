"""The disk cache of generated validator code, so a schema is compiled once per machine.

Entries are marshalled code objects keyed by everything that determines them: the prepared
schema, the fastjsonschema version, the Python implementation and the compile options. A cache
that cannot be read or written is simply not used.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from pathlib import Path
from typing import Any, Final

import fastjsonschema

# Part of every code-cache key: bump it when the code generation (not the schema) changes.
_CACHE_FORMAT: Final = "modelops-validate-1"
_COMPILE_OPTIONS: Final = "use_default=False,use_formats=False,detailed_exceptions=False"


def default_cache_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "modelops"
    try:
        return Path.home() / ".cache" / "modelops"
    except RuntimeError:
        return None


class CodeCache:
    """Generated validator code (marshalled), keyed by everything that determines it."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory

    @staticmethod
    def key(canonical_schema: str) -> str:
        digest = hashlib.sha256()
        for part in (
            _CACHE_FORMAT,
            fastjsonschema.VERSION,
            sys.implementation.cache_tag or sys.version,
            _COMPILE_OPTIONS,
        ):
            digest.update(part.encode() + b"\0")
        digest.update(canonical_schema.encode())
        return digest.hexdigest()

    def _file(self, key: str) -> Path | None:
        return None if self._directory is None else self._directory / f"fjs-{key}.marshal"

    def load(self, key: str) -> Any:
        path = self._file(key)
        if path is None:
            return None
        try:
            return marshal.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return None

    def store(self, key: str, code: Any) -> None:
        path = self._file(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps(code))
            os.replace(partial, path)
        except OSError:
            return
