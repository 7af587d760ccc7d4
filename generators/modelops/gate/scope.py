"""What a change touches: from `git diff --name-only BASE` to environments and models.

A change to a model's spec or to its rendered files scopes the check to that model (plus the
environment-wide objects, which depend on every model). A change to an environment.yaml scopes
the whole environment; a change to generators/, policies/, organization.yaml (its image is in
every smoke Job) or the pinned dependencies scopes everything, because any output or verdict
may move. Anything else (docs, tests) needs no
re-render, so its scope is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelops.gate.manifests import git, model_of
from modelops.organization import ORGANIZATION_FILE
from modelops.repository import (
    ENVIRONMENT_FILE,
    ENVIRONMENTS_DIR,
    MODELS_DIR,
    RENDERED_DIR,
    Repository,
)

GLOBAL_INPUTS = ("generators/", "policies/", ORGANIZATION_FILE, "pyproject.toml",
                 "requirements/")


@dataclass(frozen=True)
class EnvironmentScope:
    everything: bool
    models: frozenset[str]

    def accepts(self, rel: str) -> bool:
        """Is this file (path under rendered/) in scope? Environment-wide files always are."""
        model = model_of(rel)
        return self.everything or model is None or model in self.models


FULL = EnvironmentScope(True, frozenset())


def changed_paths(repo: Repository, base: str) -> list[str]:
    """Committed and uncommitted changes since `base`, plus untracked files."""
    # --relative: paths relative to the repository, also when it sits inside a larger checkout
    # (ls-files already answers relative to where it runs).
    diff = git(repo, "diff", "--name-only", "-z", "--no-renames", "--relative", base, "--")
    untracked = git(repo, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted({p for p in (diff + "\0" + untracked).split("\0") if p})


def scope_of_changes(paths: list[str], environments: list[str]) -> dict[str, EnvironmentScope]:
    """Environment -> scope, for the environments the changed paths touch."""
    if any(p.startswith(GLOBAL_INPUTS) for p in paths):
        return {env: FULL for env in environments}
    models: dict[str, set[str]] = {}
    full: set[str] = set()
    for path in paths:
        parts = path.split("/")
        if len(parts) < 3 or parts[0] != ENVIRONMENTS_DIR or parts[1] not in environments:
            continue
        env, rest = parts[1], parts[2:]
        if rest == [ENVIRONMENT_FILE]:
            full.add(env)
        elif len(rest) == 2 and rest[0] == MODELS_DIR and rest[1].endswith(".yaml"):
            models.setdefault(env, set()).add(rest[1].removesuffix(".yaml"))
        elif rest[0] == RENDERED_DIR and len(rest) >= 2:
            model = model_of("/".join(rest[1:]))
            if model is None:
                models.setdefault(env, set())    # environment-wide files: always in scope
            else:
                models.setdefault(env, set()).add(model)
    scopes = {env: EnvironmentScope(False, frozenset(names)) for env, names in models.items()}
    scopes.update({env: FULL for env in full})
    return dict(sorted(scopes.items()))
