"""One artifact-URI change as one commit: edit the spec, re-render, commit, or undo it all.

Both rollback (when a plain revert would also undo other models' changes) and promote end up
here. A spec is edited in place at the exact characters of the values that change
(`modelops.yamledit`), so comments, key order and quoting style survive and the diff a
reviewer sees is those lines. Rendering goes
through the same `render.write_environments` as `make render`, so the rendered files in the
commit are byte-identical to what CI's `render --check` expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelops import render
from modelops.errors import UsageError
from modelops.gitops.git import GitError
from modelops.gitops.workspace import GitOpsError, Snapshot, Workspace
from modelops.yamledit import EditError, replace_scalars

URI_PATH = ("spec", "artifact", "uri")


@dataclass(frozen=True)
class Outcome:
    """What a verb committed."""

    commit: str
    subject: str
    files: tuple[str, ...]


def replace_uri(text: str, shown: str, new_uri: str) -> str:
    """`text` of a spec with only the value of `spec.artifact.uri` replaced."""
    try:
        return replace_scalars(text, shown, {URI_PATH: new_uri})
    except EditError as exc:
        raise GitOpsError(str(exc)) from None


def commit_uri(ws: Workspace, before: Snapshot, env: str, model_file: Path, new_uri: str,
               message: str) -> Outcome:
    """Set the URI in `model_file`, re-render `env`, and commit both as one commit."""
    shown = ws.repo.relative(model_file)
    try:
        text = model_file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{shown}: not UTF-8 text; fix the file first") from None
    edited = replace_uri(text, shown, new_uri)
    return commit_files(ws, before, env, {model_file: edited.encode("utf-8")}, message)


def commit_files(ws: Workspace, before: Snapshot, env: str, contents: dict[Path, bytes],
                 message: str) -> Outcome:
    """Write `contents` (spec files of `env`), re-render `env`, and commit it all as one commit.

    On any failure (a spec no longer validates, rendering fails, a hook rejects the commit)
    the environment folder is reset to HEAD and the repository verified unchanged.
    """
    env_dir = ws.env_dir(env)
    try:
        for path, content in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        envs = ws.repo.load_environments([env])
        render.write_environments(ws.repo, envs)
        ws.git.run("add", "--all", "--", env_dir)
        changed = tuple(ws.git.run("diff", "--cached", "--name-only").split())
        commit = ws.commit(message)
    except (GitError, OSError) as exc:
        ws.restore(before, [env_dir])
        raise GitOpsError(f"{exc}; nothing was changed") from None
    except BaseException:  # invalid spec, render failure, Ctrl-C: put everything back
        ws.restore(before, [env_dir])
        raise
    return Outcome(commit, message.splitlines()[0], changed)
