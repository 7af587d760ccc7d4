"""`modelops promote MODEL... --from staging --to prod`: ship the artifacts that were tested.

The target says what it accepts from the source (`spec.promotion` of its environment.yaml, see
`modelops.promotion`): the source's artifact URIs are mapped by its rewrite rules and must then
be on the target's allowlist. Which fields travel:

- a model the target already runs: the artifact, that is `spec.artifact.uri` (mapped) and
  `spec.artifact.size`, edited in place; replicas, memory, pools, alerts and rollout are the
  target's decisions and stay;
- a model new to the target: its spec without `memory`, `replicas`, `alerts` and `rollout`, so
  the target's defaults and thresholds apply and a canary is started per environment; every
  URI (model, drift reference, explainer, batch input and output) mapped. Its pool must exist
  in the target.

Several models promote in one commit, with the target re-rendered; on any failure nothing
changes, and a URI the target does not accept is refused with the field to change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelops import schemas
from modelops.errors import UsageError
from modelops.gitops.change import URI_PATH, Outcome, commit_files
from modelops.gitops.workspace import Snapshot, Workspace
from modelops.promotion import ALLOWED, PROMOTION, accepts, bucket_of, promoted_uri, source_entry
from modelops.repository import MODELS_DIR, LoadedModel
from modelops.settings import EnvironmentSettings
from modelops.spec import PromotionSource, serving_target
from modelops.yamledit import EditError, replace_scalars

SIZE_PATH = ("spec", "artifact", "size")
STAYS_BEHIND = ("memory", "replicas", "alerts", "rollout")
# Artifact URIs of a spec besides spec.artifact.uri, mapped when a new model travels.
OTHER_URIS = (("spec", "drift", "reference"), ("spec", "explainer", "uri"),
              ("spec", "batch", "input"), ("spec", "batch", "output"))


@dataclass(frozen=True)
class Step:
    """One model's change in the target."""

    model: str
    path: Path
    content: bytes
    previous: str | None  # the target's URI before, None for a new model
    uri: str


def _no_entry(source: EnvironmentSettings, target: EnvironmentSettings) -> UsageError:
    spec = target.spec.spec
    line, _ = target.doc.locate(PROMOTION if spec.promotion else ("spec",))
    accepted = ", ".join(e.environment for e in spec.promotion) or "none"
    src = source.spec.spec.artifacts.allowed_prefixes[0]
    dst = spec.artifacts.allowed_prefixes[0]
    rule = "" if accepts(target.spec, src) else f", rewrite: [{{from: {src}, to: {dst}}}]"
    return UsageError(
        f"{target.name} accepts no models from {source.name}: {target.doc.display}:{line} "
        f"spec.promotion has no entry for it (accepts from: {accepted}). Add "
        f"`- {{from: {source.name}{rule}}}` to spec.promotion"
        + (f" (your release process copies what {source.name} tested from {src} to {dst})"
           if rule else ""))


def _refused(target: EnvironmentSettings, index: int, entry: PromotionSource, model: str,
             field: str, uri: str) -> UsageError:
    prefixes = target.spec.spec.artifacts.allowed_prefixes
    line, _ = target.doc.locate(ALLOWED)
    return UsageError(
        f"{model}: {entry.environment}'s {field} {uri!r} is not accepted by {target.name}: "
        f"{target.doc.display}:{line} spec.artifacts.allowedPrefixes is "
        f"[{', '.join(prefixes)}] and no rule of spec.promotion[{index}].rewrite (from: "
        f"{entry.environment}) matches it. Add `{{from: {bucket_of(uri)}, to: {prefixes[0]}}}` "
        f"to spec.promotion[{index}].rewrite (and copy the artifacts there), or add "
        f"{bucket_of(uri)} to spec.artifacts.allowedPrefixes")


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _mapped(target: EnvironmentSettings, index: int, entry: PromotionSource, model: str,
            path: tuple[str, ...], uri: str) -> str:
    mapped = promoted_uri(entry, uri)
    if not accepts(target.spec, mapped):
        raise _refused(target, index, entry, model, ".".join(path), uri)
    return mapped


def _new_spec(ws: Workspace, target: EnvironmentSettings, index: int, entry: PromotionSource,
              loaded: LoadedModel, path: Path) -> bytes:
    data = copy.deepcopy(loaded.doc.data)
    for key in STAYS_BEHIND:
        data["spec"].pop(key, None)
    for uri_path in (URI_PATH, *OTHER_URIS):
        uri = _get(data, uri_path)
        if isinstance(uri, str):
            _get(data, uri_path[:-1])[uri_path[-1]] = _mapped(target, index, entry,
                                                              loaded.name, uri_path, uri)
    pool = loaded.spec.spec.server
    if serving_target(loaded.spec.spec, target.spec.spec) == "kserve":
        if target.spec.spec.kserve is None:
            raise UsageError(f"{loaded.name} is new to {target.name} and served by KServe, but "
                             f"{target.doc.display} has no spec.kserve: add it, or write "
                             f"{ws.repo.relative(path)} by hand")
    elif pool not in target.spec.spec.servers:
        line, _ = target.doc.locate(("spec", "servers"))
        raise UsageError(f"{loaded.name} is new to {target.name} and runs on pool {pool!r}, "
                         f"which {target.doc.display}:{line} spec.servers does not have "
                         f"({', '.join(sorted(target.spec.spec.servers))}): add the pool, or "
                         f"write {ws.repo.relative(path)} by hand")
    header = schemas.schema_line(path, ws.repo.root, "modeldeployment.schema.json")
    body = yaml.dump(data, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True, width=100)
    return f"{header}\n{body}".encode()


class _SpecDumper(yaml.SafeDumper):
    """The layout of the hand-written specs: block mappings, indented block sequences, and
    lists of plain values on one line (`shape: [1, 4]`)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, dict | list) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_SpecDumper.add_representer(list, _list)


def plan_promotion(ws: Workspace, models: list[str], source: str, target: str) -> list[Step]:
    """Every change the promotion makes, decided before anything is written."""
    if source == target:
        raise UsageError("--from and --to name the same environment")
    ws.repo.select([source, target])  # refuses an unknown environment
    source_env = ws.repo.load_environment(source)
    source_settings = EnvironmentSettings(source, source_env.doc, source_env.spec)
    target_settings = ws.repo.load_settings(target)
    found = source_entry(target_settings.spec, source)
    if found is None:
        raise _no_entry(source_settings, target_settings)
    index, entry = found
    steps: list[Step] = []
    for model in dict.fromkeys(models):
        loaded = source_env.model(model)
        if loaded is None:
            raise UsageError(f"no model {model!r} in environment {source!r}; models: "
                             f"{', '.join(m.name for m in source_env.models) or 'none'}")
        path = ws.repo.environment_dir(target) / MODELS_DIR / f"{model}.yaml"
        source_uri = loaded.spec.spec.artifact.uri
        uri = _mapped(target_settings, index, entry, model, URI_PATH, source_uri)
        if not path.exists():
            content = _new_spec(ws, target_settings, index, entry, loaded, path)
            steps.append(Step(model, path, content, None, uri))
            continue
        raw = path.read_bytes()
        shown = ws.repo.relative(path)
        try:
            text = replace_scalars(raw.decode("utf-8"), shown, {
                URI_PATH: uri, SIZE_PATH: loaded.spec.spec.artifact.size})
        except (EditError, UnicodeDecodeError) as exc:
            raise UsageError(f"{shown}: {exc}") from None
        if text.encode("utf-8") != raw:
            previous = _get(yaml.safe_load(raw), URI_PATH)
            steps.append(Step(model, path, text.encode("utf-8"), str(previous), uri))
    return steps


def promote(ws: Workspace, before: Snapshot, models: list[str], source: str,
            target: str) -> tuple[Outcome | None, list[Step]]:
    """Commit the promotion of `models`; (None, []) if the target already runs them."""
    steps = plan_promotion(ws, models, source, target)
    if not steps:
        return None, []
    head = ws.git.head()
    if len(steps) == 1:
        title = f"Promote {steps[0].model} to {target}: {steps[0].uri}"
    else:
        title = f"Promote {len(steps)} models from {source} to {target}"
    lines = [f"{target}/{s.model}: {s.previous or '(new model)'} -> {s.uri}" for s in steps]
    message = (f"{title}\n\nFrom {ws.repo.relative(ws.repo.environment_dir(source))} at "
               f"{head[:12]}, as {target}'s spec.promotion maps it.\n" + "\n".join(lines)
               + f"\n(modelops promote {' '.join(s.model for s in steps)} --from {source} "
               f"--to {target})\n")
    outcome = commit_files(ws, before, target, {s.path: s.content for s in steps}, message)
    return outcome, steps
