"""Our InferenceService health check against the one Argo CD bundles, case by case.

Argo CD ships a check for `serving.kserve.io/InferenceService`; ours replaces it in argocd-cm.
Both run here in the same Lua 5.1 sandbox (`run_check`), in both directions: ours on every
upstream testdata case, and upstream's on every one of ours. Where the two verdicts differ, the
case is in a table below with both verdicts and the reason, and the tables are asserted
exactly, so a change to either check (or new upstream cases) shows up as a failure to explain.
Messages are our own and are not compared; the statuses are.

The upstream files are read from `$MODELOPS_CRD_DIR/../argocd-health` (never copied into the
project); without them the tests skip and say how to provide them.
"""

from __future__ import annotations

import copy as copy_module
import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from conftest import REPO_ROOT
from test_argocd_health import run_check

CRD_DIR = Path(os.environ.get("MODELOPS_CRD_DIR", REPO_ROOT.parent / "shared" / "crds"))
UPSTREAM = CRD_DIR.parent / "argocd-health" / "serving.kserve.io" / "InferenceService"
OURS = REPO_ROOT / "platform" / "argocd" / "health" / "serving.kserve.io" / "InferenceService"


class Difference(NamedTuple):
    upstream: str
    ours: str
    why: str


# Upstream's own cases where our verdict differs from the one upstream expects.
ON_UPSTREAM_CASES: dict[str, Difference] = {}

# Our cases where upstream's check gives another verdict than ours.
ON_OUR_CASES: dict[str, Difference] = {
    "degraded_crash_loop": Difference(
        "Progressing", "Degraded",
        "upstream is Degraded only on transitionStatus BlockedByFailedLoad/InvalidSpec; an "
        "update whose new pods crash-loop reads InProgress (KServe takes the model state from an "
        "old, running pod), so the Deployment's ProgressDeadlineExceeded never counts"),
    "degraded_crash_loop_knative": Difference(
        "Progressing", "Degraded",
        "Knative failed the new revision (RevisionFailed) while the transition reads "
        "InProgress; upstream treats every False condition as still progressing until KServe "
        "marks the load BlockedByFailedLoad"),
    "healthy_scaled_to_zero": Difference(
        "Progressing", "Healthy",
        "KServe reports Pending/InProgress while no pod runs (kserve#6079); with "
        "minReplicas 0 and every condition True that is the state the spec asks for"),
    "healthy_scaled_to_zero_standard": Difference(
        "Progressing", "Healthy",
        "the same for Standard mode with KEDA at zero replicas"),
    "progressing_resuming": Difference(
        "Suspended", "Progressing",
        "the stop annotation is gone, so git asks for a running model; upstream reads only the "
        "Stopped condition, which KServe has not cleared yet"),
    "progressing_stopping": Difference(
        "Healthy", "Progressing",
        "the stop annotation is set and KServe has not acted on it; upstream reads only the "
        "Stopped condition and calls the model that is about to stop Healthy"),
}


def _need_upstream() -> None:
    if not (UPSTREAM / "health.lua").is_file():
        pytest.skip(f"no upstream Argo CD check at {UPSTREAM}: copy Argo CD's "
                    "resource_customizations/serving.kserve.io/InferenceService/ (v3.5.1) "
                    "there, beside $MODELOPS_CRD_DIR, to compare against it")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_sandbox_gives_upstreams_own_expected_verdicts() -> None:
    """Upstream's check passes its own cases here, messages included: the sandbox is faithful."""
    _need_upstream()
    script = (UPSTREAM / "health.lua").read_text(encoding="utf-8")
    cases = _load(UPSTREAM / "health_test.yaml")["tests"]
    assert cases
    for case in cases:
        assert run_check(script, _load(UPSTREAM / case["inputPath"])) == case["healthStatus"], \
            case["inputPath"]


def test_ours_on_upstream_cases_differs_exactly_as_tabled() -> None:
    _need_upstream()
    ours = (OURS / "health.lua").read_text(encoding="utf-8")
    found = {}
    for case in _load(UPSTREAM / "health_test.yaml")["tests"]:
        verdict = run_check(ours, _load(UPSTREAM / case["inputPath"]))["status"]
        if verdict != case["healthStatus"]["status"]:
            found[Path(case["inputPath"]).stem] = (case["healthStatus"]["status"], verdict)
    assert found == {name: (d.upstream, d.ours) for name, d in ON_UPSTREAM_CASES.items()}


def test_upstream_on_our_cases_differs_exactly_as_tabled() -> None:
    _need_upstream()
    upstream = (UPSTREAM / "health.lua").read_text(encoding="utf-8")
    ours = (OURS / "health.lua").read_text(encoding="utf-8")
    found = {}
    for path in sorted((OURS / "testdata").glob("*.yaml")):
        obj = _load(path)
        theirs, mine = run_check(upstream, obj)["status"], run_check(ours, obj)["status"]
        if theirs != mine:
            found[path.stem] = (theirs, mine)
    assert found == {name: (d.upstream, d.ours) for name, d in ON_OUR_CASES.items()}


def test_every_difference_has_a_reason_and_names_a_case_that_exists() -> None:
    ours = {p.stem for p in (OURS / "testdata").glob("*.yaml")}
    assert set(ON_OUR_CASES) <= ours
    for difference in [*ON_OUR_CASES.values(), *ON_UPSTREAM_CASES.values()]:
        assert difference.upstream != difference.ours and difference.why


def _set(obj: Any, path: str, value: Any) -> Any:
    """A deep copy of `obj` with the dotted `path` set to `value` (None removes it); a number
    in the path indexes a list."""
    changed = copy_module.deepcopy(obj)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is None:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return changed


@pytest.mark.parametrize(("path", "value"), [
    ("spec.predictor.minReplicas", 1),
    ("spec.predictor.minReplicas", None),
    ("status.modelStatus.states.targetModelState", "Loading"),
    ("status.conditions.3.status", "Unknown"),
    ("status.components.predictor.latestCreatedRevision", "churn-model-predictor-00002"),
], ids=["min-1", "min-unset", "loading", "predictor-unknown", "new-revision"])
def test_scaled_to_zero_is_healthy_only_by_design(path: str, value: Any) -> None:
    """Change any one thing that makes zero pods not the spec's own choice, and the verdict is
    upstream's Progressing again."""
    _need_upstream()
    by_design = _load(OURS / "testdata" / "healthy_scaled_to_zero.yaml")
    ours = (OURS / "health.lua").read_text(encoding="utf-8")
    assert run_check(ours, by_design)["status"] == "Healthy"
    variant = _set(by_design, path, value)
    assert run_check(ours, variant)["status"] == "Progressing"
    upstream = (UPSTREAM / "health.lua").read_text(encoding="utf-8")
    assert run_check(upstream, variant)["status"] == "Progressing"
