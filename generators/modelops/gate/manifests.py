"""Reading manifests: the committed rendered tree, files given on the command line, a git ref.

Rendered files are named `environment/<kind>-<name>.yaml` (environment-wide objects) or
`models/<model>.<kind>-<name>.yaml` (one model's objects), so a file's model and kind are known
from its path without parsing it. Policies and the plan need, besides the objects under review,
only the environment-wide objects, every Model and every InferenceService (`is_context`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from modelops.errors import InputError, Problem, UsageError
from modelops.gitops.git import Git, GitError
from modelops.parallel import map_slices
from modelops.render import list_tree
from modelops.repository import Repository
from modelops.yamlsource import MAX_MANIFEST_DEPTH, check_depth

Manifest = dict[str, Any]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENVIRONMENT_FILES = "environment/"
MODEL_FILES = "models/"


def model_of(rel: str) -> str | None:
    """The model a rendered file belongs to, or None for an environment-wide object."""
    if rel.startswith(MODEL_FILES):
        return rel[len(MODEL_FILES):].split(".", 1)[0]
    return None


def kind_of(rel: str) -> str:
    """The lower-case kind a rendered file holds, from its name (`<kind>-<name>.yaml`)."""
    name = rel.rsplit("/", 1)[-1]
    if rel.startswith(MODEL_FILES):
        name = name.split(".", 1)[1]
    return name.split("-", 1)[0]


# The per-model kinds rules and the plan look up across models: Seldon Models (placement,
# pools) and KServe InferenceServices (their capacity, GPU packing).
CONTEXT_KINDS = ("model", "inferenceservice")


def is_context(rel: str) -> bool:
    """Environment-wide objects, every Model and every InferenceService: what rules and the
    plan look things up in."""
    return rel.startswith(ENVIRONMENT_FILES) or kind_of(rel) in CONTEXT_KINDS


_paths: list[Path] = []


def _parse_slice(bounds: tuple[int, int]) -> list[Manifest | None]:
    out: list[Manifest | None] = []
    for path in _paths[bounds[0]:bounds[1]]:
        obj = yaml.load(path.read_bytes(), Loader=_Loader)
        out.append(obj if isinstance(obj, dict) else None)
    return out


def read_rendered(repo: Repository, env: str,
                  select: Callable[[str], bool] | None = None) -> dict[str, Manifest]:
    """Path under rendered/ -> object, for the committed files `select` accepts."""
    global _paths
    root = repo.rendered_dir(env)
    rels = [rel for rel in sorted(list_tree(root)) if select is None or select(rel)]
    _paths = [root / rel for rel in rels]
    try:
        parsed = [obj for part in map_slices(_parse_slice, len(_paths), threshold=4000)
                  for obj in part]
    finally:
        _paths = []
    return {rel: obj for rel, obj in zip(rels, parsed, strict=True) if obj is not None}


def read_files(paths: Iterable[Path]) -> list[Manifest]:
    """Every document of the given YAML files; a broken file is reported with its line."""
    objects: list[Manifest] = []
    problems: list[Problem] = []
    for path in paths:
        shown = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(shown, 1, 1, "", f"cannot read: {exc.strerror}"))
            continue
        try:
            check_depth(raw.decode("utf-8", errors="replace"), shown, MAX_MANIFEST_DEPTH)
        except InputError as exc:
            problems += exc.problems
            continue
        try:
            docs = list(yaml.load_all(raw, Loader=_Loader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problems.append(Problem(shown, line, col, "", f"not valid YAML: "
                                    f"{getattr(exc, 'problem', None) or exc}"))
            continue
        for index, doc in enumerate(docs):
            if doc is None:
                continue
            if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
                problems.append(Problem(shown, 1, 1, f"document {index + 1}",
                                        "expected a Kubernetes object with a kind"))
                continue
            objects.append(doc)
    if problems:
        raise InputError(problems)
    return objects


def git(repo: Repository, *args: str) -> str:
    """`git args...` in the repository (the gitops runner); a failure is a usage error."""
    try:
        return Git(repo.root).run(*args)
    except GitError as exc:
        last = exc.stderr.splitlines()
        raise UsageError(f"git {args[0]}: {last[-1] if last else 'failed'}") from None


def resolve(repo: Repository, ref: str) -> str:
    """The commit `ref` names; a ref that names none is a usage error that names it."""
    done = Git(repo.root).call("rev-parse", "--verify", "--quiet", "--end-of-options",
                               f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise UsageError(f"--base {ref!r}: `git rev-parse` finds no commit by that name in "
                         f"{repo.root} (give a branch, tag or commit id; in a shallow CI clone, "
                         "fetch it first, e.g. `git fetch origin main`)")
    return done.stdout.strip()


def files_at(repo: Repository, commit: str, paths: list[str]) -> dict[str, bytes]:
    """Contents of `paths` (relative to the repository) at `commit`, through one `git cat-file`.

    Paths missing at that commit are left out. `./` keeps them relative to the repository even
    when it is a folder inside a larger git checkout.
    """
    try:
        blobs = Git(repo.root).read_blobs([f"{commit}:./{p}" for p in paths])
    except GitError as exc:
        raise UsageError(f"git cat-file: {exc.stderr or 'failed'}") from None
    return {path: blob for path, blob in zip(paths, blobs, strict=True) if blob is not None}


def parse_one(raw: bytes) -> Manifest | None:
    obj = yaml.load(raw, Loader=_Loader)
    return obj if isinstance(obj, dict) else None
