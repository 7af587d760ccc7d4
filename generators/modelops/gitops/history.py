"""`modelops history ENV MODEL`: which artifact a model ran, when, and who changed it.

The history is read from git, not from a separate ledger: `git log --follow` over the model's
spec file (so a renamed model keeps its past), then the spec at each of those commits, read in
one `git cat-file --batch` call. A commit counts when `spec.artifact.uri` differs from the
commit before it, so commits that only changed replicas or alerts are not listed, and a URI
that was changed and later changed back appears twice, as it should: both were deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import yaml

from modelops.gitops.git import Git
from modelops.repository import ENVIRONMENTS_DIR, MODELS_DIR

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RECORD, _FIELD = "\x1e", "\x1f"
_FORMAT = _RECORD + _FIELD.join(("%H", "%h", "%an", "%ae", "%aI", "%s"))


class HistoryEntry(TypedDict):
    """One row of `modelops history --json` (newest first)."""

    commit: str
    author: str
    email: str
    date: str  # author date, ISO 8601 with offset
    uri: str
    path: str  # the spec file at that commit (it may since have been renamed)
    subject: str
    current: bool


@dataclass(frozen=True)
class UriChange:
    """A commit that set the model's artifact URI to `uri`."""

    commit: str
    short: str
    author: str
    email: str
    date: str
    subject: str
    uri: str
    path: str

    def entry(self, current: bool) -> HistoryEntry:
        return HistoryEntry(commit=self.commit, author=self.author, email=self.email,
                            date=self.date, uri=self.uri, path=self.path,
                            subject=self.subject, current=current)


def spec_path(prefix: str, env: str, model: str) -> str:
    """The spec file's path as git names it (relative to the top level)."""
    return f"{prefix}{ENVIRONMENTS_DIR}/{env}/{MODELS_DIR}/{model}.yaml"


def artifact_uri(raw: bytes | None) -> str | None:
    """`spec.artifact.uri` of a spec file's bytes, or None if absent or unreadable."""
    if raw is None:
        return None
    try:
        data = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError:
        return None
    node: Any = data
    for key in ("spec", "artifact", "uri"):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


@dataclass(frozen=True)
class _Commit:
    commit: str
    short: str
    author: str
    email: str
    date: str
    subject: str
    path: str | None  # None: the commit deleted the file


def _log(git: Git, path: str) -> list[_Commit]:
    out = git.run("log", "--follow", "-M", "--name-status", f"--format={_FORMAT}", "--", path)
    commits: list[_Commit] = []
    for record in out.split(_RECORD)[1:]:
        head, _, changes = record.partition("\n")
        full, short, author, email, date, subject = head.split(_FIELD, 5)
        statuses = [line.split("\t") for line in changes.splitlines() if "\t" in line]
        if not statuses:
            continue  # a merge that brought no change of its own to the file
        status = statuses[-1]
        file_path = None if status[0].startswith("D") else status[-1]
        commits.append(_Commit(full, short, author, email, date, subject, file_path))
    return commits


def artifact_history(git: Git, path: str) -> list[UriChange]:
    """Every commit that changed the artifact URI of the spec at `path`, newest first."""
    commits = _log(git, path)
    blobs = git.read_blobs([f"{c.commit}:{c.path}" for c in commits if c.path is not None])
    by_commit = iter(blobs)
    uris = [artifact_uri(next(by_commit)) if c.path is not None else None for c in commits]
    changes: list[UriChange] = []
    previous: str | None = None
    for commit, uri in zip(reversed(commits), reversed(uris), strict=True):
        if commit.path is None:
            previous = None  # deleted; a later re-creation is a change even with the same URI
            continue
        if uri is None or uri == previous:
            continue  # unreadable at that commit, or the URI did not change
        changes.append(UriChange(commit.commit, commit.short, commit.author, commit.email,
                                 commit.date, commit.subject, uri, commit.path))
        previous = uri
    changes.reverse()
    return changes


def format_table(env: str, model: str, changes: list[UriChange], current: str | None) -> str:
    """The human-readable history, newest first; `*` marks what HEAD deploys."""
    rows = [(("* " if c.uri == current and i == 0 else "  ") + c.short,
             c.date[:16].replace("T", " ") + " " + c.date[19:],
             f"{c.author} <{c.email}>", c.uri) for i, c in enumerate(changes)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{env}/{model}: {len(changes)} artifact change(s), newest first "
             "(* = deployed at HEAD)"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
              + "  " + row[3] for row in rows]
    return "\n".join(lines)
