"""`modelops history ENV MODEL`: which artifact a model ran, when, and who changed it.

The history is read from git, not from a separate ledger: `git log` over the model's spec
file, continued through real renames (`git mv`, so a renamed model keeps its past) but not
through copies (a spec copied from a sibling has its own past, not the sibling's), then the
spec at each of those commits, read in one `git cat-file --batch` call. A commit counts when
`spec.artifact.uri` differs from the commit before it, so commits that only changed replicas
or alerts are not listed, and a URI that was changed and later changed back appears twice, as
it should: both were deployed.
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
    created: bool = False  # the commit created the spec at `path` (reverting it removes it)

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
    created: bool  # the commit added the file at this path


def _log_of_path(git: Git, path: str, start: str | None) -> list[_Commit]:
    """Commits that changed exactly `path`, newest first, from `start` (default HEAD) back."""
    out = git.run("-c", "core.quotePath=false", "log", "--no-renames", "--name-status",
                  f"--format={_FORMAT}", *([start] if start else []), "--", path)
    commits: list[_Commit] = []
    for record in out.split(_RECORD)[1:]:
        head, _, changes = record.partition("\n")
        full, short, author, email, date, subject = head.split(_FIELD, 5)
        statuses = [line.split("\t") for line in changes.splitlines() if "\t" in line]
        if not statuses:
            continue  # a merge that brought no change of its own to the file
        status = statuses[-1][0]
        commits.append(_Commit(full, short, author, email, date, subject,
                               None if status.startswith("D") else path,
                               status.startswith("A")))
    return commits


def _rename_source(git: Git, commit: str, path: str) -> str | None:
    """The path `commit` renamed to `path` (git's rename detection), or None.

    A rename needs the old path gone in the same commit, so a spec made by copying a sibling
    (the sibling stays) is never taken for one: it starts its own history.
    """
    return next((paths[0] for status, paths in git.name_status(commit)
                 if status.startswith("R") and paths[1] == path), None)


def _log(git: Git, path: str) -> list[_Commit]:
    """The spec's own commits, newest first: back through real renames, never copies.

    Not `git log --follow`: it also follows copies, so a spec copied from a sibling would
    inherit the sibling's artifacts and rollback would propose them.
    """
    commits: list[_Commit] = []
    start: str | None = None
    while True:
        renamed_from: str | None = None
        for commit in _log_of_path(git, path, start):
            commits.append(commit)
            if commit.created:
                renamed_from = _rename_source(git, commit.commit, path)
                if renamed_from is not None:
                    start = f"{commit.commit}^"
                    break
        if renamed_from is None:
            return commits
        path = renamed_from


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
                                 commit.date, commit.subject, uri, commit.path,
                                 commit.created))
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
