"""`modelops check`: render check, strict validation, policies and the placement plan, once.

Every stage runs even when an earlier one fails, so one CI run shows everything wrong. With a
base ref, each stage covers only the scope of the change (`gate.scope`); the plan still places
every model of a touched environment, because one model can push a whole pool over.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops import argocd, checks, platformvalues, render
from modelops.errors import InputError, Problem
from modelops.gate.manifests import (
    Manifest,
    files_at,
    git,
    is_context,
    kind_of,
    model_of,
    parse_one,
    read_rendered,
    resolve,
)
from modelops.gate.scope import FULL, EnvironmentScope, changed_paths, scope_of_changes
from modelops.placeholders import placeholder_warnings
from modelops.plan import PlanReport, failures, plan_objects
from modelops.policy import Finding, PolicyEngine, build_input, environment_document
from modelops.policy.inputs import previous_key
from modelops.repository import ENVIRONMENTS_DIR, RENDERED_DIR, Repository

MODEL_FIELDS = ("storageUri", "memory", "replicas", "minReplicas", "maxReplicas", "server")


@dataclass(frozen=True)
class ModelChange:
    environment: str
    model: str
    status: str                     # added | removed | modified
    before: Mapping[str, Any]       # MODEL_FIELDS of the Model object at the base
    after: Mapping[str, Any]


@dataclass
class EnvironmentResult:
    name: str
    scope: EnvironmentScope
    reviewed: int
    findings: list[Finding]
    plan: PlanReport
    base_plan: PlanReport | None = None
    base_findings: list[Finding] | None = None
    changes: list[ModelChange] = field(default_factory=list)

    @property
    def new_findings(self) -> list[Finding]:
        before = set(self.base_findings or ())
        return [f for f in self.findings if f not in before]


@dataclass
class CheckReport:
    base: str | None
    base_commit: str | None
    engine: str
    drifts: list[render.Drift]
    schema_problems: list[Problem]
    validated: int
    environments: list[EnvironmentResult]
    # models of environments the change deletes as a whole (they have no EnvironmentResult)
    vanished: list[ModelChange] = field(default_factory=list)
    # Shipped placeholder values still in use (modelops.placeholders): listed, never a failure.
    placeholders: list[Problem] = field(default_factory=list)
    # spec.promotion entries naming a removed environment: listed, never a failure.
    stale_promotions: list[Problem] = field(default_factory=list)

    @property
    def denies(self) -> list[Finding]:
        return [f for env in self.environments for f in env.findings if f.severity == "deny"]

    @property
    def unschedulable(self) -> list[tuple[str, str, str]]:
        return [(env.name, p["model"], p["reason"]) for env in self.environments
                for p in failures(env.plan)]

    @property
    def removals(self) -> list[ModelChange]:
        """Models the change takes out of an environment: allowed, but never a plain pass."""
        return [c for env in self.environments for c in env.changes
                if c.status == "removed"] + self.vanished

    @property
    def failed(self) -> bool:
        return bool(self.drifts or self.schema_problems or self.denies or self.unschedulable)


def run_check(repo: Repository, names: list[str], crd_dir: Path, engine: PolicyEngine,
              base: str | None = None) -> CheckReport:
    commit = None
    scopes = {name: FULL for name in names}
    changed: list[str] = []
    if base is not None:
        commit = resolve(repo, base)
        changed = changed_paths(repo, commit)
        scopes = scope_of_changes(changed, names)
    touched = [name for name in names if name in scopes]

    def in_scope(env: str, rel: str) -> bool:
        return scopes[env].accepts(rel)

    # A change of a few models: loading every spec of the environment (for its environment-
    # wide objects) is the longest stage, so it runs in a forked child on the other core. A
    # whole-environment scope renders in parallel workers itself (and a pool's worker may not
    # fork its own).
    background = base is not None and not any(scopes[n].everything for n in touched)
    if background:
        pending = _render_check_in_background(repo, touched, scopes)
    else:
        drifts = _render_check(repo, touched, scopes)
    validated = checks.validate_and_read(repo, touched, crd_dir, scope=in_scope)
    results = [_evaluate(repo, env, scopes[env], engine, commit, changed,
                         validated.documents[env]) for env in touched]
    if background:
        drifts = pending()
    vanished = _vanished_models(repo, commit) if commit is not None else []
    return CheckReport(base, commit, engine.name, drifts, validated.problems,
                       validated.validated, results, vanished,
                       placeholder_warnings(repo), repo.stale_promotion_sources())


def _vanished_models(repo: Repository, commit: str) -> list[ModelChange]:
    """The models of every environment that existed at `commit` and no longer exists."""
    listed = git(repo, "ls-tree", "-r", "-z", "--name-only", commit, "--", f"{ENVIRONMENTS_DIR}/")
    existing = set(repo.environment_names())
    rendered: dict[str, list[str]] = {}
    for path in filter(None, listed.split("\0")):
        parts = path.split("/", 3)
        if len(parts) == 4 and parts[2] == RENDERED_DIR and parts[1] not in existing \
                and kind_of(parts[3]) == "model":
            rendered.setdefault(parts[1], []).append(path)
    changes = []
    for env, paths in sorted(rendered.items()):
        prefix = f"{ENVIRONMENTS_DIR}/{env}/{RENDERED_DIR}/"
        objects = {path[len(prefix):]: obj for path, raw in files_at(repo, commit, paths).items()
                   if (obj := parse_one(raw)) is not None}
        changes += [ModelChange(env, name, "removed", before, {})
                    for name, before in sorted(_primary_models(objects).items())]
    return changes


def _render_check(repo: Repository, names: list[str],
                  scopes: Mapping[str, EnvironmentScope]) -> list[render.Drift]:
    envs = repo.load_environments(names)
    drifts = render.check_environments(repo, envs,
                                       scope=lambda env, rel: scopes[env].accepts(rel))
    return drifts + argocd.check_projects(repo) + platformvalues.check_files(repo)


def _render_check_outcome(repo: Repository, names: list[str],
                          scopes: Mapping[str, EnvironmentScope],
                          ) -> tuple[list[render.Drift], list[Problem]]:
    try:
        return _render_check(repo, names, scopes), []
    except InputError as exc:
        return [], list(exc.problems)


def _render_check_in_background(repo: Repository, names: list[str],
                                scopes: Mapping[str, EnvironmentScope],
                                ) -> Callable[[], list[render.Drift]]:
    """Start `_render_check` in a forked worker; the returned call waits for its result and
    raises the specs' InputError in this process, exactly as the direct call would."""
    pool = multiprocessing.get_context("fork").Pool(1)
    job = pool.apply_async(_render_check_outcome, (repo, names, dict(scopes)))

    def wait() -> list[render.Drift]:
        try:
            drifts, problems = job.get()
        finally:
            pool.close()
            pool.join()
        if problems:
            raise InputError(problems)
        return drifts

    return wait


def _split(objects: Mapping[str, Manifest],
           accepts: Callable[[str], bool]) -> tuple[list[Manifest], list[Manifest]]:
    reviewed = [obj for rel, obj in objects.items() if accepts(rel)]
    context = [obj for rel, obj in objects.items() if not accepts(rel)]
    return reviewed, context


def _evaluate(repo: Repository, env: str, scope: EnvironmentScope, engine: PolicyEngine,
              commit: str | None, changed: list[str],
              texts: Mapping[str, str]) -> EnvironmentResult:
    """Policies and plan for one environment.

    `texts` are the in-scope objects as JSON, straight from validation: they go to the engine
    without becoming Python objects; only Models, Servers and InferenceServices (for the
    plan) and the environment's settings are decoded. Context outside the scope is read from
    the tree. With a base, every in-scope object is decoded, and those the change modifies go
    to the policies as they were at the base too (the input's `previous`).
    """
    context = read_rendered(repo, env, lambda rel: is_context(rel) and not scope.accepts(rel))
    now: dict[str, Manifest] = dict(context)
    for rel, text in texts.items():
        if kind_of(rel) in ("model", "server", "configmap", "inferenceservice") \
                or commit is not None:
            now[rel] = json.loads(text)
    environment = environment_document(now.values()) or {}
    before = _rendered_at(repo, commit, env, now, changed) if commit is not None else {}
    previous = {previous_key(before[rel]): before[rel] for rel in sorted(texts)
                if rel in before and before[rel] != now[rel]}
    document = (f'{{"environment":{json.dumps(environment)},'
                f'"objects":[{",".join(texts[rel] for rel in sorted(texts))}],'
                f'"cluster":{json.dumps(list(context.values()))},'
                f'"previous":{json.dumps(previous)}}}')
    result = EnvironmentResult(env, scope, len(texts), engine.evaluate_json(document),
                               plan_objects(env, now.values()))
    if commit is not None:
        base_reviewed, base_context = _split(before, scope.accepts)
        result.base_findings = (engine.evaluate(build_input(base_reviewed, base_context))
                                if before else [])
        result.base_plan = plan_objects(env, before.values())
        result.changes = _model_changes(env, scope, before, now)
    return result


def _rendered_at(repo: Repository, commit: str, env: str, now: Mapping[str, Manifest],
                 changed: list[str]) -> dict[str, Manifest]:
    """The objects of `now` (in-scope files and context) as they were at `commit`.

    Files the change did not touch are the ones already parsed (`now`); only the changed ones
    are read from git, so a one-model change costs a handful of blobs, not the environment.
    """
    prefix = f"{repo.relative(repo.rendered_dir(env))}/"
    touched = {p[len(prefix):] for p in changed if p.startswith(prefix)}
    before = {rel: obj for rel, obj in now.items() if rel not in touched}
    paths = [prefix + rel for rel in sorted(touched)]
    for path, raw in files_at(repo, commit, paths).items():
        obj = parse_one(raw)
        if obj is not None:
            before[path[len(prefix):]] = obj
    return before


def _primary_models(objects: Mapping[str, Manifest]) -> dict[str, Mapping[str, Any]]:
    """Model name -> MODEL_FIELDS of the model's own Model object (not candidates, detectors)."""
    found: dict[str, Mapping[str, Any]] = {}
    for rel, obj in objects.items():
        model = model_of(rel)
        if model is not None and rel == f"models/{model}.model-{model}.yaml":
            spec = obj.get("spec") or {}
            found[model] = {key: spec.get(key) for key in MODEL_FIELDS}
    return found


def _model_changes(env: str, scope: EnvironmentScope, before: Mapping[str, Manifest],
                   after: Mapping[str, Manifest]) -> list[ModelChange]:
    old, new = _primary_models(before), _primary_models(after)
    names = sorted(set(old) | set(new)) if scope.everything else sorted(scope.models)
    changes = []
    for name in names:
        if name not in old and name not in new:
            continue
        status = "added" if name not in old else "removed" if name not in new else "modified"
        if status == "modified" and scope.everything and old[name] == new[name]:
            continue
        changes.append(ModelChange(env, name, status, old.get(name, {}), new.get(name, {})))
    return changes
