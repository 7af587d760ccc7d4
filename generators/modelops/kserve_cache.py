"""LocalModelCaches: a KServe model's current, candidate and two previous artifacts on nodes.

With `spec.kserve.localModelCache` set, each artifact a rollback may go back to stays on the
nodes' local disks, so the rollback starts from local NVMe instead of remote storage. The
previous artifacts are the two latest distinct URIs in the spec file's git history other than
the current one and the candidate (`modelops history` reads the same history). The rule gives
the same answer before and after the change is committed, so `render --check` stays stable.

History must be whole for that: in a shallow clone the older URIs are missing, so rendering
stops and asks for the full history (`git fetch --unshallow`, or `fetch-depth: 0` in CI)
rather than rendering something that differs from a full clone. Outside git (an exported
tree, a copy) there is no history: only the current and candidate artifacts are cached. The
objects do not say which case they come from, on purpose: a spec whose history holds no other
URI (a new model) renders the same in and outside git, so a repository rendered before its
first commit stays current after it.

A LocalModelCache is cluster-scoped: its name joins the model name with a hash of the
namespace and URI, so two environments on one cluster never own the same object and an
artifact keeps its cache object across renders.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from modelops.errors import UsageError
from modelops.gitops.git import Git, GitError
from modelops.gitops.history import artifact_history, spec_path
from modelops.objects import ObjectPlan, object_annotations, object_labels
from modelops.provenance import Sourced, derived, from_env, from_spec
from modelops.repository import LoadedEnvironment, LoadedModel
from modelops.spec import serving_target

PREVIOUS_CACHED = 2
ROLE_ANNOTATION = "modelops.dev/cached-artifact"


def _git_root(folder: Path) -> Git | None:
    """Git for the repository at `folder` when it is a work tree's top level with a commit."""
    git = Git(folder)
    try:
        top = git.toplevel()
        if top is None or top.resolve() != folder.resolve():
            return None
        if git.run("rev-parse", "--is-shallow-repository").strip() == "true":
            raise UsageError(f"{folder}: a shallow clone; the node caches of KServe models "
                             "(spec.kserve.localModelCache) list each model's previous "
                             "artifacts from git history: fetch it whole (`git fetch "
                             "--unshallow`, or fetch-depth: 0 in CI)")
        git.head()
    except GitError:
        return None
    return git


def previous_uris(env: LoadedEnvironment, model: LoadedModel,
                  skip: set[str]) -> list[Sourced]:
    """The two latest artifact URIs in the spec's history not in `skip` (none outside git)."""
    git = _git_root(Path(model.doc.path).resolve().parents[3])
    if git is None:
        return []
    try:
        changes = artifact_history(git, spec_path("", env.name, model.name))
    except GitError:
        return []
    found: list[Sourced] = []
    for change in changes:
        if change.uri in skip or any(s.value == change.uri for s in found):
            continue
        found.append(derived(change.uri, f"spec.artifact.uri at commit {change.short} "
                             "(git history of the spec file)"))
        if len(found) == PREVIOUS_CACHED:
            break
    return found


def cache_name(namespace: str, model: str, uri: str) -> str:
    digest = hashlib.sha256(f"{namespace}\0{uri}".encode()).hexdigest()[:9]
    return f"{model}-{digest}"


def cache_plans(env: LoadedEnvironment, model: LoadedModel) -> list[ObjectPlan]:
    spec_env = env.spec.spec
    settings = spec_env.kserve
    spec = model.spec.spec
    if settings is None or settings.local_model_cache is None \
            or serving_target(spec, spec_env) != "kserve":
        return []
    wanted: list[tuple[Sourced, str]] = [(from_spec(spec.artifact.uri, "spec.artifact.uri"),
                                          "current")]
    if spec.rollout is not None and spec.rollout.candidate is not None:
        wanted.append((from_spec(spec.rollout.candidate.uri, "spec.rollout.candidate.uri"),
                       "candidate"))
    previous = previous_uris(env, model, {uri.value for uri, _ in wanted})
    wanted += [(uri, f"previous-{i}") for i, uri in enumerate(previous, 1)]
    plans: list[ObjectPlan] = []
    for uri, role in wanted:
        if any(p.values["uri"].value == uri.value for p in plans):
            continue  # a candidate equal to the current artifact
        name = cache_name(spec_env.namespace, model.name, uri.value)
        extra: dict[str, Any] = {ROLE_ANNOTATION: derived(role, "which artifact of the model "
                                                          "this is: current, candidate, or "
                                                          "previous-N from git history")}
        values = {
            "name": derived(name, "metadata.name + '-' + sha256(namespace, URI)[:9]: "
                            "cluster-scoped, one object per environment and artifact"),
            "labels": object_labels(env.name, model.name, "model-cache",
                                    model.spec.metadata.owner),
            "annotations": object_annotations("LocalModelCache", model.doc.display, **extra),
            "uri": uri,
            "size": from_spec(spec.artifact.size, "spec.artifact.size" + (
                "" if role == "current" else " (every cached artifact assumed the same size)")),
            "node_groups": from_env(list(settings.local_model_cache.node_groups),
                                    "spec.kserve.localModelCache.nodeGroups"),
        }
        plans.append(ObjectPlan("localmodelcache.yaml.j2", "LocalModelCache", name,
                                model.name, model.doc.display, values))
    return plans
