"""A thin, typed runner of the real `git` binary.

Why the binary and not a library: rollback must behave exactly like the `git revert` an
on-call engineer would type (same merge machinery, same rename detection, same hooks), and the
binary is already on every machine that has a clone. Every call runs with a fixed locale and
no pager or prompt, so output is parseable and a missing credential can never hang a verb.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Files git keeps in the git directory while a multi-step operation waits for the user.
IN_PROGRESS: Final = (
    ("MERGE_HEAD", "a merge"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase or `git am`"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("sequencer", "a cherry-pick or revert sequence"),
    ("BISECT_LOG", "a bisect"),
)


class GitError(Exception):
    """A git command failed; carries the command and what git printed."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        self.args_ = list(args)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"`git {' '.join(args)}` failed ({returncode}): {self.stderr}")


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Git:
    """Runs git in one working tree."""

    root: Path

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"LC_ALL": "C", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0",
                    "GIT_EDITOR": "false", "GIT_OPTIONAL_LOCKS": "0"})
        return env

    def call(self, *args: str, stdin: str | None = None) -> Completed:
        """Run `git args...`; never raises on a non-zero exit."""
        try:
            proc = subprocess.run(["git", "-C", str(self.root), *args], input=stdin,
                                  capture_output=True, text=True, env=self._env(), check=False)
        except FileNotFoundError:
            raise GitError(args, 127, "the `git` command is not installed") from None
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    def run(self, *args: str, stdin: str | None = None) -> str:
        """Run `git args...` and return its stdout; raise GitError on a non-zero exit."""
        done = self.call(*args, stdin=stdin)
        if done.returncode != 0:
            raise GitError(args, done.returncode, done.stderr or done.stdout)
        return done.stdout

    def run_bytes(self, *args: str, stdin: bytes) -> bytes:
        """Like `run`, for binary protocols such as `cat-file --batch`."""
        proc = subprocess.run(["git", "-C", str(self.root), *args], input=stdin,
                              capture_output=True, env=self._env(), check=False)
        if proc.returncode != 0:
            raise GitError(args, proc.returncode, proc.stderr.decode(errors="replace"))
        return proc.stdout

    # ------------------------------------------------------------------ state

    def toplevel(self) -> Path | None:
        done = self.call("rev-parse", "--show-toplevel")
        return Path(done.stdout.strip()) if done.returncode == 0 else None

    def head(self) -> str:
        return self.run("rev-parse", "--verify", "HEAD^{commit}").strip()

    def head_tree(self) -> str:
        return self.run("rev-parse", "--verify", "HEAD^{tree}").strip()

    def index_tree(self) -> str:
        """The tree the index would commit (raises while the index has conflicts)."""
        return self.run("write-tree").strip()

    def branch(self) -> str | None:
        done = self.call("symbolic-ref", "--quiet", "--short", "HEAD")
        return done.stdout.strip() if done.returncode == 0 else None

    def in_progress(self) -> str | None:
        """What multi-step operation is waiting for the user, if any."""
        for name, what in IN_PROGRESS:
            path = Path(self.run("rev-parse", "--git-path", name).strip())
            if not path.is_absolute():
                path = self.root / path
            if path.exists():
                return what
        return None

    def status(self) -> list[str]:
        """`git status --porcelain` lines, untracked files included (ignored ones not)."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all")
        entries = out.split("\0")
        lines: list[str] = []
        i = 0
        while i < len(entries):
            entry = entries[i]
            if entry:
                lines.append(entry)
                if entry[:1] in ("R", "C"):
                    i += 1  # the rename source follows as its own NUL-terminated field
            i += 1
        return lines

    def name_status(self, commit: str) -> list[tuple[str, tuple[str, ...]]]:
        """(status, paths) of each change a commit made against its first parent, with
        rename detection; a rename or copy (status R or C) has both paths, old first."""
        out = self.run("diff-tree", "-r", "-z", "--no-commit-id", "--name-status", "-M",
                       "--root", commit)
        fields = [f for f in out.split("\0") if f]
        changes: list[tuple[str, tuple[str, ...]]] = []
        i = 0
        while i < len(fields):
            status = fields[i]
            width = 2 if status[:1] in ("R", "C") else 1
            changes.append((status, tuple(fields[i + 1 : i + 1 + width])))
            i += 1 + width
        return changes

    def changed_paths(self, commit: str) -> list[str]:
        """Every path a commit changed, both sides of a rename included."""
        return [path for _, paths in self.name_status(commit) for path in paths]

    def parent(self, commit: str) -> str | None:
        done = self.call("rev-parse", "--verify", "--quiet", f"{commit}^1^{{commit}}")
        return done.stdout.strip() if done.returncode == 0 else None

    def read_blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """Contents of `<rev>:<path>` objects in one `cat-file --batch` call (None if absent)."""
        if not specs:
            return []
        # --buffer: without it git flushes after every object through the pipe.
        out = self.run_bytes("cat-file", "--batch", "--buffer",
                             stdin="".join(f"{s}\n" for s in specs).encode())
        blobs: list[bytes | None] = []
        pos = 0
        for _ in specs:
            end = out.index(b"\n", pos)
            header = out[pos:end].split(b" ")
            pos = end + 1
            if header[-1] == b"missing" or len(header) != 3:
                blobs.append(None)
                continue
            size = int(header[2])
            blobs.append(out[pos : pos + size] if header[1] == b"blob" else None)
            pos += size + 1
        return blobs
