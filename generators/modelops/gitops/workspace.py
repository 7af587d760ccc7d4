"""The working tree a GitOps verb may change, and how it puts everything back on failure.

Rollback and promote commit on the branch Argo CD watches, usually in a hurry. They must never
mix their change with someone's unfinished edit, never commit in the middle of a merge or a
rebase, and never leave a half-done state behind: either one new commit exists, or the working
tree, the index and HEAD are exactly what they were. `Workspace` checks the first two before
anything is touched and `restore` guarantees the third, verifying it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelops.errors import UsageError
from modelops.gitops.git import Git, GitError
from modelops.repository import ENVIRONMENTS_DIR, Repository


class GitOpsError(Exception):
    """The operation was attempted and failed; the repository is as it was before."""


@dataclass(frozen=True)
class Snapshot:
    head: str
    status: tuple[str, ...]


@dataclass(frozen=True)
class Workspace:
    """A modelops repository inside a git working tree."""

    repo: Repository
    git: Git
    prefix: str  # the repository root relative to the git top level, "" or "sub/dir/"

    @classmethod
    def open(cls, repo: Repository) -> Workspace:
        git = Git(repo.root)
        top = git.toplevel()
        if top is None:
            raise UsageError(f"{repo.root} is not inside a git working tree; history, "
                             "rollback and promote work on the repository's git history")
        if git.call("rev-parse", "--verify", "--quiet", "HEAD^{commit}").returncode != 0:
            raise UsageError(f"the git repository at {top} has no commits yet; history, "
                             "rollback and promote work on committed history")
        relative = repo.root.resolve().relative_to(top.resolve()).as_posix()
        return cls(repo, git, "" if relative == "." else relative + "/")

    def env_dir(self, env: str) -> str:
        return f"{self.prefix}{ENVIRONMENTS_DIR}/{env}"

    def require_clean(self) -> Snapshot:
        """Refuse to start unless a commit made now would contain only our change."""
        what = self.git.in_progress()
        if what is not None:
            raise UsageError(f"{what} is in progress in {self.git.root}; finish or abort it "
                             "first (nothing was changed)")
        if self.git.branch() is None:
            raise UsageError("HEAD is detached; check out the branch Argo CD deploys from "
                             "first (nothing was changed)")
        status = self.git.status()
        env_prefix = f"{self.prefix}{ENVIRONMENTS_DIR}/"
        dirty = [line[3:] for line in status
                 if not line.startswith("??") or line[3:].startswith(env_prefix)]
        if dirty:
            shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5
                                            else "")
            raise UsageError(f"the working tree has uncommitted changes ({shown}); commit "
                             "or stash them first, so the new commit holds only this change "
                             "(nothing was changed)")
        return Snapshot(self.git.head(), tuple(status))

    def restore(self, before: Snapshot, paths: list[str]) -> None:
        """Undo a failed attempt: abort a revert, reset `paths` to HEAD, then verify."""
        if self.git.in_progress() is not None:
            self.git.call("revert", "--abort")
        if paths:
            # require_clean saw no change and no untracked file under these paths, so HEAD's
            # version of them is exactly what the user had.
            self.git.call("restore", "--source=HEAD", "--staged", "--worktree", "--", *paths)
            self.git.call("clean", "-f", "-d", "-q", "--", *paths)
        self.verify_unchanged(before)

    def verify_unchanged(self, before: Snapshot) -> None:
        problems = []
        try:
            if self.git.head() != before.head:
                problems.append("HEAD moved")
            if tuple(self.git.status()) != before.status:
                problems.append("the working tree or index differs")
            if self.git.index_tree() != self.git.head_tree():
                problems.append("the index differs from HEAD")
            if self.git.in_progress() is not None:
                problems.append("an operation is still in progress")
        except GitError as exc:
            problems.append(str(exc))
        if problems:
            raise GitOpsError("could not restore the repository after a failed attempt ("
                              + "; ".join(problems) + f"); it was at {before.head[:12]}: "
                              "inspect `git status` before doing anything else")

    def commit(self, message: str) -> str:
        """Commit what is staged; return the new commit id."""
        self.git.run("commit", "--quiet", "--cleanup=verbatim", "-F", "-", stdin=message)
        return self.git.head()
