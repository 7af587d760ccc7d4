"""`advise` and the serving-target policy agree: every case of every rule (`advise_cases.py`)
and every committed environment is rendered, judged by the policy on OPA and on regorus, and
the policy's warnings must say exactly what `advise` says of the same specs: which models
belong on the other target (and by which rules), and which draw the two warnings the objects
can show."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from advise_cases import CASES
from conftest import ENVIRONMENTS, REPO_ROOT
from modelops.advice.advise import Advice, advise_environment
from modelops.advice.annotations import advice_annotations
from modelops.advice.facts import kserve_runtime
from modelops.derive import unwrap
from modelops.gate.manifests import read_rendered
from modelops.policy import PolicyEngine, PolicyLibrary, build_input, create_engine
from modelops.repository import LoadedEnvironment, LoadedModel, Repository
from modelops.spec import serving_target
from repo_builder import EnvironmentDraft, build_repo, merge

POLICY = "serving-target"
OBJECT_WARNINGS = {"cold-start-over-budget", "critical-shared-process"}
MISMATCH = re.compile(r"served by (\w+), but the serving-target rules recommend (\w+) \(([^)]*)\)")
# The policy sees pre/post steps as Pipeline steps, whether of the model's own chain or another's.
POLICY_ID = {"processing": "pipeline-step"}


@cache
def engine(name: str) -> PolicyEngine:
    return create_engine(PolicyLibrary.load(REPO_ROOT / "policies"), name)


def stand_in(env: LoadedEnvironment, model: LoadedModel) -> dict[str, Any]:
    """The InferenceService the KServe renderer writes for a model, with the annotations the
    policy reads (used where this tree renders none)."""
    spec_env, spec = env.spec.spec, model.spec.spec
    replicas = spec.replicas or spec_env.defaults.replicas
    annotations = {"serving.kserve.io/deploymentMode": "Knative",
                   "modelops.dev/artifact-size": spec.artifact.size,
                   **unwrap(advice_annotations(spec_env, spec))}
    if spec.rollout is not None:
        annotations["modelops.dev/rollout-strategy"] = spec.rollout.strategy
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": model.name, "namespace": spec_env.namespace,
                         "annotations": annotations},
            "spec": {"predictor": {"minReplicas": replicas.min, "maxReplicas": replicas.max,
                                   "model": {"modelFormat": {"name": spec.framework},
                                             "runtime": kserve_runtime(spec_env, spec),
                                             "protocolVersion": "v2",
                                             "storageUri": spec.artifact.uri}}}}


def objects_of(root: Path, env: LoadedEnvironment) -> list[dict[str, Any]]:
    rendered = list(read_rendered(Repository(root), env.name).values())
    kserve = {m.name: m for m in env.models if serving_target(m.spec.spec, env.spec.spec)
              == "kserve"}
    has_isvc = {o["metadata"]["name"] for o in rendered if o.get("kind") == "InferenceService"}
    # A tree without a KServe renderer draws a KServe model as a Seldon Model: leave it out.
    objects = [o for o in rendered if not (o.get("kind") == "Model" and o.get(
        "metadata", {}).get("labels", {}).get("app.kubernetes.io/name") in kserve)]
    return objects + [stand_in(env, m) for name, m in sorted(kserve.items())
                      if name not in has_isvc]


def expected(advice: list[Advice]) -> set[tuple[str, ...]]:
    """What the policy must warn, per `advise`."""
    out: set[tuple[str, ...]] = set()
    for item in advice:
        if item.differs:
            votes = [f.rule for f in item.fired if f.rule.verdict == item.recommended]
            strength = "requires" if any(r.strength == "requires" for r in votes) else "prefers"
            ids = sorted({POLICY_ID.get(r.id, r.id) for r in votes if r.strength == strength})
            out.add((item.facts.name, "mismatch", item.facts.target, item.recommended,
                     ", ".join(ids)))
        out |= {(item.facts.name, f.rule.id) for f in item.fired
                if f.rule.id in OBJECT_WARNINGS}
    return out


def judged(root: Path, env: LoadedEnvironment, engine_name: str) -> set[tuple[str, ...]]:
    findings = engine(engine_name).evaluate(build_input(objects_of(root, env)))
    out: set[tuple[str, ...]] = set()
    for finding in findings:
        if finding.policy != POLICY:
            continue
        assert finding.severity == "warn", finding
        name = finding.object.rsplit("/", 1)[-1]
        if (match := MISMATCH.search(finding.message)) is not None:
            out.add((name, "mismatch", *match.groups()))
        else:
            out.add((name, finding.message[1:finding.message.index("]")]))
    return out


def _judge_both(root: Path, env: LoadedEnvironment) -> None:
    want = expected(advise_environment(env))
    for name in ("opa", "regorus"):
        assert judged(root, env, name) == want, name


IDLE = {"pattern": "idle", "coldStartBudgetSeconds": 60}


def with_idle_traffic(draft: EnvironmentDraft) -> EnvironmentDraft:
    """Every model rarely called and quick to load: each now votes for KServe, so a Seldon-only
    feature the policy failed to see would show as a warning `advise` does not give."""
    models = tuple(m if "traffic" in m["spec"] else merge(m, {"spec": {"traffic": IDLE}})
                   for m in draft.models)
    return EnvironmentDraft(draft.name, draft.document, models)


CASE_PARAMS = [pytest.param(rule, which, idle, id=f"{rule}-{which}{'-idle' if idle else ''}")
               for rule in sorted(CASES) for which in ("fires", "quiet")
               for idle in (False, True)]


@pytest.mark.parametrize(("rule", "which", "idle"), CASE_PARAMS)
def test_policy_says_what_advise_says(tmp_path: Path, rule: str, which: str,
                                      idle: bool) -> None:
    draft: EnvironmentDraft = CASES[rule][0 if which == "fires" else 1]()[0]
    if idle:
        draft = with_idle_traffic(draft)
    root = build_repo(tmp_path / "repo", draft, commit=False)
    _judge_both(root, Repository(root).load_environment(draft.name))


def test_the_comparison_can_fail(tmp_path: Path) -> None:
    draft = CASES["sparse-traffic"][0]()[0]
    root = build_repo(tmp_path / "repo", draft, commit=False)
    env = Repository(root).load_environment(draft.name)
    found = judged(root, env, "regorus")
    assert ("m", "mismatch", "seldon", "kserve", "sparse-traffic") in found
    assert found == expected(advise_environment(env))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_committed_environments_agree(env: str) -> None:
    _judge_both(REPO_ROOT, Repository(REPO_ROOT).load_environment(env))
