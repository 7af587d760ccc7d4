"""Which files an input URI names, and in which format, through fsspec.

The input of a batch run is a file or a prefix of files on any filesystem fsspec knows
(local paths; `gs://` and `s3://` with the `[gcs]`/`[s3]` extra installed). Files are read in
sorted order, so a rerun sees the same records in the same order, which is what resuming by
shard number relies on. Under a prefix, names starting with `_` or `.` are markers and
hidden files (`_SUCCESS`, `.crc`) and are left out; any other file must be in the run's
format, or the run refuses to start instead of skipping it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from modelops.errors import UsageError

FORMATS = ("jsonl", "csv", "npy")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".npy": "npy"}
EXTRAS = {"gs": "gcs", "gcs": "gcs", "s3": "s3", "s3a": "s3"}


@dataclass(frozen=True)
class InputFile:
    fs: Any           # fsspec.AbstractFileSystem
    path: str         # the filesystem's own path
    display: str      # what messages and the manifest call it
    format: str
    size: int


def filesystem(uri: str, role: str) -> tuple[Any, str]:
    """(fsspec filesystem, path) for a URI; UsageError when its scheme cannot be served."""
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(uri)
        return fs, str(path)
    except ImportError as exc:
        scheme = uri.split("://", 1)[0]
        extra = EXTRAS.get(scheme)
        hint = (f"install the [{extra}] extra (pip install 'modelops[{extra}]')" if extra
                else "install the fsspec implementation for it")
        raise UsageError(f"{role} {uri!r}: {scheme}:// is not available here ({exc}); "
                         f"{hint}") from None
    except (ValueError, OSError) as exc:
        raise UsageError(f"{role} {uri!r}: {exc}") from None


def format_of(name: str) -> str | None:
    return EXTENSIONS.get(posixpath.splitext(name)[1].lower())


def resolve(uri: str, input_format: str | None) -> list[InputFile]:
    """The files of an input URI, sorted, each with its format; UsageError when there are
    none, one is in an unknown or another format, or the URI cannot be read."""
    fs, root = filesystem(uri, "--input")
    try:
        if fs.isfile(root):
            paths = [root]
            shown = {root: uri}
        elif fs.isdir(root):
            paths = sorted(p for p in fs.find(root) if not _hidden(posixpath.relpath(p, root)))
            shown = {p: _join(uri, posixpath.relpath(p, root)) for p in paths}
        else:
            raise UsageError(f"--input {uri!r}: no such file or prefix")
        sizes = {p: int(fs.size(p) or 0) for p in paths}
    except OSError as exc:
        raise UsageError(f"--input {uri!r}: cannot list: {exc.strerror or exc}") from None
    if not paths:
        raise UsageError(f"--input {uri!r}: no files under this prefix")
    formats = {p: input_format or format_of(p) for p in paths}
    unknown = [shown[p] for p, f in formats.items() if f is None]
    if unknown:
        raise UsageError(f"{unknown[0]}: unknown input format (extensions: "
                         f"{', '.join(EXTENSIONS)}); give --input-format "
                         f"{'|'.join(FORMATS)}" + (f" ({len(unknown)} such files)"
                                                   if len(unknown) > 1 else ""))
    found = sorted({f for f in formats.values() if f})
    if len(found) > 1:
        raise UsageError(f"--input {uri!r} mixes formats ({', '.join(found)}); one run reads "
                         "one format: split the prefix or give --input-format")
    return [InputFile(fs, p, shown[p], str(formats[p]), sizes[p]) for p in paths]


def _hidden(relative: str) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.split("/") if part != ".")


def _join(uri: str, relative: str) -> str:
    return uri.rstrip("/") + "/" + relative if relative != "." else uri
