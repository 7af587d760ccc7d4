"""`modelops rollback ENV MODEL [--steps N | --to URI]`: deploy a model's earlier artifact.

With Argo CD auto-sync, the only rollback that sticks is a commit on the watched branch: Argo
CD's own rollback button is refused for auto-synced apps, and selfHeal would undo a manual
change. So a rollback is a `git revert` of the commit(s) that changed the artifact URI. The
spec and its rendered files were committed together, so the revert moves both back and
`render --check` stays green.

A plain revert is only right when the commit touched nothing but this model's files. When it
also changed another model (a batch bump, a shared rename), reverting it would roll that model
back too; then the rollback is one new commit that restores only this model's URI and
re-renders, and its message names the commit it undoes. A revert that conflicts with a later
change is aborted and reported; history is never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelops import render
from modelops.errors import InputError, UsageError
from modelops.gitops.change import Outcome, commit_uri
from modelops.gitops.git import GitError
from modelops.gitops.history import UriChange, artifact_history, artifact_uri, spec_path
from modelops.gitops.workspace import GitOpsError, Snapshot, Workspace
from modelops.kserve_settings import deployment_mode
from modelops.repository import ENVIRONMENTS_DIR, MODELS_DIR, RENDERED_DIR, Repository
from modelops.spec import serving_target


@dataclass(frozen=True)
class Plan:
    """What a rollback will do, decided before anything is touched."""

    env: str
    model: str
    model_file: Path
    current: str
    target: str
    undo: tuple[UriChange, ...]  # newest first
    foreign: tuple[str, ...]  # files those commits changed that are not this model's

    @property
    def label(self) -> str:
        return f"{self.env}/{self.model}"


def model_file(ws: Workspace, env: str, model: str) -> Path:
    """The spec of `model` in `env`; a usage error names what is missing."""
    if env not in ws.repo.environment_names():
        raise UsageError(f"unknown environment {env!r}; known: "
                         f"{', '.join(ws.repo.environment_names())}")
    if not model or model.startswith(".") or "/" in model or "\\" in model:
        raise UsageError(f"{model!r} is not a model name (the file name of a spec in "
                         f"{ENVIRONMENTS_DIR}/{env}/{MODELS_DIR}/, without .yaml)")
    path = ws.repo.root / ENVIRONMENTS_DIR / env / MODELS_DIR / f"{model}.yaml"
    if not path.is_file():
        raise UsageError(f"no model {model!r} in environment {env!r} "
                         f"({ws.repo.relative(path)} does not exist)")
    return path


def plan_rollback(ws: Workspace, env: str, model: str, *, steps: int | None = None,
                  to: str | None = None) -> Plan:
    path = model_file(ws, env, model)
    current = artifact_uri(path.read_bytes())
    if current is None:
        raise UsageError(f"{ws.repo.relative(path)}: no readable spec.artifact.uri")
    changes = artifact_history(ws.git, spec_path(ws.prefix, env, model))
    if not changes or changes[0].uri != current:
        raise UsageError(f"{env}/{model}: the deployed URI {current!r} is not committed; "
                         "commit the spec first")
    earlier = ", ".join(dict.fromkeys(c.uri for c in changes[1:])) or "none"
    if to is not None:
        index = next((i for i, c in enumerate(changes) if i > 0 and c.uri == to), None)
        if to == current:
            raise UsageError(f"{env}/{model} already deploys {to}")
        if index is None:
            raise UsageError(f"{to!r} is not in the artifact history of {env}/{model}; "
                             f"earlier artifacts: {earlier}")
    else:
        index = 1 if steps is None else steps
        if index < 1:
            raise UsageError("--steps must be 1 or more")
        if index >= len(changes):
            raise UsageError(f"{env}/{model} has {len(changes) - 1} earlier artifact(s) in "
                             f"its history, cannot go back {index}; earlier artifacts: "
                             f"{earlier}")
    target = changes[index].uri
    if target == current:
        raise UsageError(f"{index} step(s) back, {env}/{model} ran {target}, which is what "
                         "it deploys now; use --to URI to pick another artifact")
    undo = tuple(changes[:index])
    foreign = sorted({p for change in undo for p in _foreign_paths(ws, env, change)})
    return Plan(env, model, path, current, target, undo, tuple(foreign))


def _foreign_paths(ws: Workspace, env: str, change: UriChange) -> list[str]:
    """Files `change` touched that are neither the model's spec nor rendered from it."""
    paths = ws.git.changed_paths(change.commit)
    rendered = f"{ws.prefix}{ENVIRONMENTS_DIR}/{env}/{RENDERED_DIR}/"
    sources = {change.path[len(ws.prefix):]}
    headers = {render.HEADER.format(source=s).encode().split(b"\n", 1)[0] for s in sources}
    parent = ws.git.parent(change.commit)
    candidates = [p for p in paths if p.startswith(rendered)]
    revisions = [change.commit] + ([parent] if parent else [])
    blobs = ws.git.read_blobs([f"{rev}:{p}" for p in candidates for rev in revisions])
    owned = {change.path}
    for i, candidate in enumerate(candidates):
        versions = blobs[i * len(revisions) : (i + 1) * len(revisions)]
        if any(v is not None and v.split(b"\n", 1)[0] in headers for v in versions):
            owned.add(candidate)
    return [p for p in paths if p not in owned]


def rollback(ws: Workspace, plan: Plan, before: Snapshot, *, revert: bool = True) -> Outcome:
    """Carry out `plan`: a revert when possible, else one restoring commit."""
    creators = [c for c in plan.undo if c.created]
    if revert and not plan.foreign and not creators:
        return _revert(ws, plan, before)
    these = "that commit" if len(plan.undo) == 1 else "those commits"
    if creators:
        why = (f"Not a plain git revert: {_commits(tuple(creators))} created the spec (the "
               "model had been removed or renamed before), so reverting would remove the "
               "model; only the URI is restored.\n")
    elif plan.foreign:
        why = (f"Not a plain git revert: {these} also changed other files, which keep "
               "their current state:\n" + "".join(f"  {p}\n" for p in plan.foreign))
    else:
        why = "Not a plain git revert (--no-revert): only the URI is restored.\n"
    message = (f"Roll back {plan.label} to {plan.target}\n\n"
               f"Undoes, for this model only, the artifact change in {_commits(plan.undo)}.\n"
               f"{why}\n"
               f"{plan.label}: {plan.current} -> {plan.target}\n"
               f"Re-rendered {ENVIRONMENTS_DIR}/{plan.env}/{RENDERED_DIR}/.\n"
               f"(modelops rollback {plan.env} {plan.model})\n")
    return commit_uri(ws, before, plan.env, plan.model_file, plan.target, message)


def knative_revision_note(repo: Repository, env: str, model: str) -> str | None:
    """What a rollback means for a model KServe serves in Knative mode, else None.

    Knative never returns to an old revision here: the reverted spec is a new revision of the
    Knative Service, which starts new pods and loads the artifact again (a cold start).
    """
    try:
        loaded = repo.load_environment(env)
    except InputError:
        return None
    found = loaded.model(model)
    settings = loaded.spec.spec.kserve
    if found is None or settings is None or deployment_mode(settings) != "Knative" \
            or serving_target(found.spec.spec, loaded.spec.spec) != "kserve":
        return None
    return (f"{env}/{model} is served by KServe in Knative mode: the rollback creates a new "
            "Knative revision, which starts new pods and loads the artifact again (a cold "
            "start), not a switch back to the old revision")


def _commits(changes: tuple[UriChange, ...]) -> str:
    return ", ".join(f'{c.short} ("{c.subject}")' for c in changes)


def _revert(ws: Workspace, plan: Plan, before: Snapshot) -> Outcome:
    env_dir = ws.env_dir(plan.env)
    done = ws.git.call("revert", "--no-commit", *(c.commit for c in plan.undo))
    if done.returncode != 0:
        conflicts = ws.git.call("diff", "--name-only", "--diff-filter=U").stdout.split()
        ws.restore(before, [])
        files = ", ".join(conflicts) or done.stderr.strip()
        raise GitOpsError(
            f"cannot revert {_commits(plan.undo)}: later commits changed the same lines "
            f"({files}). The repository is unchanged (git revert --abort). To restore only "
            f"the URI and re-render instead: modelops rollback {plan.env} {plan.model} "
            f"--to {plan.target} --no-revert")
    try:
        if not plan.model_file.is_file():
            raise GitOpsError(f"reverting {_commits(plan.undo)} removes "
                              f"{ws.repo.relative(plan.model_file)}; nothing was changed. "
                              f"Restore only the URI instead: modelops rollback {plan.env} "
                              f"{plan.model} --to {plan.target} --no-revert")
        reverted = artifact_uri(plan.model_file.read_bytes())
        if reverted != plan.target:
            raise GitOpsError(f"reverting {_commits(plan.undo)} gives {reverted!r}, not "
                              f"{plan.target!r}; nothing was changed")
        envs = ws.repo.load_environments([plan.env])
        rerendered = bool(render.check_environments(ws.repo, envs))
        if rerendered:  # the generators changed since: commit what they render now
            render.write_environments(ws.repo, envs)
            ws.git.run("add", "--all", "--", env_dir)
        changed = tuple(ws.git.run("diff", "--cached", "--name-only").split())
        if len(plan.undo) == 1:
            change = plan.undo[0]
            title = f'Revert "{change.subject}"'
            body = f"This reverts commit {change.commit}.\n"
        else:
            title = f"Revert {len(plan.undo)} artifact changes of {plan.label}"
            body = "This reverts commits " + ", ".join(c.commit for c in plan.undo) + ".\n"
        message = (f"{title}\n\n{body}\n{plan.label}: {plan.current} -> {plan.target}\n"
                   + (f"Re-rendered {ENVIRONMENTS_DIR}/{plan.env}/{RENDERED_DIR}/ with the "
                      "current generators.\n" if rerendered else "")
                   + f"(modelops rollback {plan.env} {plan.model})\n")
        commit = ws.commit(message)
    except (GitError, OSError) as exc:
        ws.restore(before, [env_dir])
        raise GitOpsError(f"{exc}; nothing was changed") from None
    except BaseException:
        ws.restore(before, [env_dir])
        raise
    return Outcome(commit, title, changed)
