"""One artifact-URI change as one commit: edit the spec, re-render, commit, or undo it all.

Both rollback (when a plain revert would also undo other models' changes) and promote end up
here. The spec is edited in place at the exact characters of `spec.artifact.uri`, so comments,
key order and quoting style survive and the diff a reviewer sees is one line. Rendering goes
through the same `render.write_environments` as `make render`, so the rendered files in the
commit are byte-identical to what CI's `render --check` expects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelops import render
from modelops.errors import UsageError
from modelops.gitops.git import GitError
from modelops.gitops.workspace import GitOpsError, Snapshot, Workspace

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOM = "\ufeff"


@dataclass(frozen=True)
class Outcome:
    """What a verb committed."""

    commit: str
    subject: str
    files: tuple[str, ...]


def _uri_node(root: yaml.Node) -> yaml.ScalarNode | None:
    node: yaml.Node | None = root
    for key in ("spec", "artifact", "uri"):
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value
                     if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    return node if isinstance(node, yaml.ScalarNode) else None


def _quoted(value: str, style: str | None) -> str:
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def replace_uri(text: str, shown: str, new_uri: str) -> str:
    """`text` of a spec with only the value of `spec.artifact.uri` replaced."""
    bom = text.startswith(_BOM)
    body = text[1:] if bom else text
    try:
        root = yaml.compose(body, Loader=_Loader)
        old = yaml.load(body, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise UsageError(f"{shown}: not valid YAML, fix it first: {exc}") from None
    node = _uri_node(root) if root is not None else None
    if node is None:
        raise UsageError(f"{shown}: has no spec.artifact.uri to change")
    start, end = node.start_mark.index, node.end_mark.index
    candidates = ([new_uri] if not node.style else []) + [_quoted(new_uri, node.style)]
    for candidate in candidates:
        edited = body[:start] + candidate + body[end:]
        try:
            data = yaml.load(edited, Loader=_Loader)
        except yaml.YAMLError:
            continue
        old["spec"]["artifact"]["uri"] = new_uri
        if data == old:
            return (_BOM if bom else "") + edited
    raise GitOpsError(f"{shown}: could not rewrite spec.artifact.uri without changing "
                      "anything else; edit it by hand")


def commit_uri(ws: Workspace, before: Snapshot, env: str, model_file: Path, new_uri: str,
               message: str) -> Outcome:
    """Set the URI in `model_file`, re-render `env`, and commit both as one commit.

    On any failure (the spec no longer validates, rendering fails, a hook rejects the commit)
    the environment folder is reset to HEAD and the repository verified unchanged.
    """
    env_dir = ws.env_dir(env)
    shown = ws.repo.relative(model_file)
    try:
        try:
            text = model_file.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{shown}: not UTF-8 text; fix the file first") from None
        edited = replace_uri(text, shown, new_uri)
        model_file.write_bytes(edited.encode("utf-8"))
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
