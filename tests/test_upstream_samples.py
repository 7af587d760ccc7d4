"""Every Seldon Core 2 sample under `$MODELOPS_CRD_DIR/seldon-core-v2/samples`, written in upstream
style (no modelops labels, no `spec.server`, often no `memory`), judged by the policies alone and
all together, each verdict written down with its reason. A sample the list does not name fails
the test, so a new upstream fixture gets a verdict before it is accepted.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from conftest import REPO_ROOT
from modelops.policy import PolicyEngine, PolicyLibrary, build_input, create_engine
from modelops.runtimes import DEFAULT_CAPABILITIES

SAMPLES = Path(os.environ.get("MODELOPS_CRD_DIR", REPO_ROOT.parent / "shared" / "crds")) \
    / "seldon-core-v2" / "samples"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Verdict(NamedTuple):
    findings: frozenset[tuple[str, str, str]]   # (severity, policy, object) of each finding
    reason: str


MEMORY = ("deny", "memory-and-replicas")
NO_SERVER = ("deny", "placement")
DETECTOR = [("deny", "drift"), ("deny", "drift"), ("warn", "drift")]


def _v(obj: str, pairs: list[tuple[str, str]], reason: str) -> Verdict:
    return Verdict(frozenset((severity, policy, obj) for severity, policy in pairs), reason)


# Judged alone: nothing else exists, so a Model has no Server to go to.
ALONE: dict[str, Verdict] = {
    "experiments/ab-default-model.yaml": Verdict(frozenset(), "an Experiment is not judged"),
    "experiments/addmul10-mirror.yaml": Verdict(frozenset(), "an Experiment is not judged"),
    "experiments/sklearn-mirror.yaml": Verdict(frozenset(), "an Experiment is not judged"),
    "models/income.yaml": _v("Model/income", [MEMORY, NO_SERVER],
                             "no memory (Seldon counts 0 bytes, so it never limits placement); "
                             "unpinned, and no Server offers sklearn"),
    "models/income-drift.yaml": _v("Model/income-drift", [*DETECTOR, MEMORY, NO_SERVER],
                                   "an alibi-detect Model is a drift detector: its p-value and "
                                   "reference window cannot be checked (no annotations), and it "
                                   "is in no Pipeline; no memory; no Server offers alibi-detect"),
    "models/iris-drift-detect.yaml": _v("Model/iris-drift-detect",
                                        [*DETECTOR, MEMORY, NO_SERVER],
                                        "as income-drift"),
    "models/tfsimple_scaling.yaml": _v("Model/tfsimple", [NO_SERVER],
                                       "unpinned, and no Server offers tensorflow"),
    "pipelines/income.yaml": Verdict(frozenset(),
                                     "the batched detector step is outside output.steps"),
    "pipelines/iris-async-drift.yaml": _v("Pipeline/iris-async-drift", [("deny", "drift")],
                                          "the batched detector step is in output.steps: it "
                                          "runs synchronously on the request path"),
    "pipelines/tfsimples-join.yaml": Verdict(frozenset(), "no detector"),
    "servers/custom-mlserver.yaml": _v("Server/mlserver-134", [("warn", "placement")],
                                       "no memory request on mlserver: nothing to check the "
                                       "models placed on it against"),
    "servers/triton-gpu.yaml": Verdict(frozenset(), "3Gi request, Seldon's default probes"),
}

# All together: mlserver-134 now hosts the unpinned mlserver models, and declares no memory.
TOGETHER = Verdict(frozenset({
    *(("deny", policy, f"Model/{m}") for m in ("income-drift", "iris-drift-detect")
      for policy in ("drift", "memory-and-replicas")),
    ("deny", "memory-and-replicas", "Model/income"),
    *(("deny", "placement", f"Model/{m}") for m in ("income", "income-drift",
                                                     "iris-drift-detect")),
    *(("warn", "placement", f"Model/{m}") for m in ("income", "income-drift",
                                                     "iris-drift-detect", "tfsimple")),
    ("warn", "placement", "Server/mlserver-134"),
    ("deny", "drift", "Pipeline/iris-async-drift"),
}), "unpinned mlserver models may land on mlserver-134, which declares no memory request; "
    "tfsimple goes to triton-gpu (warned: unpinned); the detectors are still uncheckable "
    "(both are steps of a Pipeline now, so neither is warned as unwired) and iris-async-drift "
    "still puts its detector on the request path")


def _files() -> list[Path]:
    return sorted(SAMPLES.rglob("*.yaml"))


def _documents(paths: list[Path]) -> list[dict[str, object]]:
    return [d for p in paths for d in yaml.load_all(p.read_text(encoding="utf-8"),
                                                    Loader=_LOADER) if isinstance(d, dict)]


@cache
def _engine(kind: str) -> PolicyEngine:
    return create_engine(PolicyLibrary.load(REPO_ROOT / "policies"), kind)


def _judged(paths: list[Path]) -> frozenset[tuple[str, str, str]]:
    document = build_input(_documents(paths), environment={})
    reference, other = (frozenset((f.severity, f.policy, f"{f.kind}/{f.name}")
                                  for f in _engine(kind).evaluate(document))
                        for kind in ("opa", "regorus"))
    assert other == reference, f"regorus differs from opa on {paths}"
    return reference


@pytest.fixture(autouse=True)
def _need_samples() -> None:
    if not _files():
        pytest.skip(f"no upstream Seldon samples under {SAMPLES} (set MODELOPS_CRD_DIR)")


def test_every_upstream_sample_has_a_verdict() -> None:
    named = {p.relative_to(SAMPLES).as_posix() for p in _files()}
    assert named == set(ALONE), "give each new upstream sample its verdict and reason"


@pytest.mark.parametrize("name", sorted(ALONE))
def test_upstream_sample_alone(name: str) -> None:
    judged = _judged([SAMPLES / name])
    assert judged == ALONE[name].findings, f"{name}: {ALONE[name].reason}\n{sorted(judged)}"


def test_upstream_samples_together() -> None:
    judged = _judged(_files())
    assert judged == TOGETHER.findings, f"{TOGETHER.reason}\n{json.dumps(sorted(judged))}"


def test_lib_knows_the_capabilities_the_generators_use() -> None:
    value = _engine("opa").value_of({"environment": {}, "objects": [], "cluster": []},
                            "data.modelops_lib.default_capabilities")
    assert value == {k: list(v) for k, v in DEFAULT_CAPABILITIES.items()}


def test_plan_places_the_upstream_samples_as_the_policies_judge_them() -> None:
    from modelops.plan import plan_objects

    placements = {p["model"]: p for p in plan_objects("upstream", _documents(_files()))[
        "placements"]}
    assert placements["tfsimple"]["outcome"] == "scheduled"
    assert placements["tfsimple"]["server"] == "triton-gpu"   # the one Server with tensorflow
    for model in ("income", "income-drift", "iris-drift-detect"):
        assert placements[model]["outcome"] == "failed"
        assert "mlserver-134: declares no memory request" in placements[model]["reason"]
