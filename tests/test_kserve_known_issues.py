"""What KServe's users report in GitOps, one test each, through modelops' own parts.

Each test is named after the upstream report and shows the platform handles it: the real Argo
CD health script (Lua 5.1), the real policy library on regorus and OPA, the loader and the
renderer on a repository built here. Upstream numbers are kserve/kserve issues.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from modelops.errors import InputError
from modelops.policy import PolicyEngine, PolicyLibrary, build_input, create_engine
from modelops.repository import Repository
from repo_builder import (
    KSERVE_SKLEARN_RUNTIME,
    build_repo,
    environment,
    kserve_model,
    kserve_settings,
    rendered_objects,
    uri,
)
from test_argocd_health import run_check

HEALTH = REPO_ROOT / "platform/argocd/health/serving.kserve.io/InferenceService"
LIBRARY = PolicyLibrary.load(REPO_ROOT / "policies")
Obj = dict[str, Any]


def health(case: str) -> str:
    obj = yaml.safe_load((HEALTH / "testdata" / f"{case}.yaml").read_text(encoding="utf-8"))
    return str(run_check((HEALTH / "health.lua").read_text(encoding="utf-8"), obj)["status"])


def inference_service(objects: list[Obj], name: str) -> Obj:
    return next(o for o in objects
                if o["kind"] == "InferenceService" and o["metadata"]["name"] == name)


@cache
def engine(name: str) -> PolicyEngine:
    return create_engine(LIBRARY, name)


def denials(objects: list[Obj], policy: str) -> dict[str, list[str]]:
    """{engine: deny messages of `policy`} on both engines."""
    found = {}
    for name in ("regorus", "opa"):
        findings = engine(name).evaluate(build_input(objects))
        found[name] = sorted(f.message for f in findings
                               if f.severity == "deny" and f.policy == policy)
    assert found["regorus"] == found["opa"], found
    return found


def test_6079_a_model_scaled_to_zero_by_design_is_healthy() -> None:
    assert health("healthy_scaled_to_zero") == "Healthy"
    assert health("healthy_scaled_to_zero_standard") == "Healthy"


def test_crash_looping_predictor_is_degraded_not_progressing_forever() -> None:
    assert health("degraded_crash_loop") == "Degraded"
    assert health("degraded_crash_loop_knative") == "Degraded"


@pytest.mark.parametrize("case", ["healthy_standard", "healthy_generation_behind"])
def test_3973_4791_a_ready_standard_mode_model_is_not_stuck_progressing(case: str) -> None:
    assert health(case) == "Healthy"


def test_2196_a_runtime_that_does_not_exist_is_caught_before_and_at_the_cluster(
        tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "repo", environment(
        "qa", kserve_model("scorer", kserve={"runtime": "no-such-runtime"}),
        kserve=kserve_settings()), render=False, commit=False)
    with pytest.raises(InputError) as caught:
        Repository.discover(repo).load_environment("qa")
    assert [p.field for p in caught.value.problems] == ["spec.kserve.runtime"]
    # A hand-applied object naming a runtime the environment lacks is denied too.
    objects = rendered_objects(environment("qa", kserve_model("scorer"),
                                           kserve=kserve_settings()))
    inference_service(objects, "scorer")["spec"]["predictor"]["model"]["runtime"] = "gone"
    assert denials(objects, "kserve-deployment")["opa"]


@pytest.mark.parametrize(("autoscaler", "denied"), [("hpa", True), ("keda", False)])
def test_3514_min_replicas_zero_under_hpa_is_denied_not_silently_one(
        autoscaler: str, denied: bool) -> None:
    objects = rendered_objects(environment(
        "qa", kserve_model("scorer", replicas={"min": 0, "max": 2}),
        kserve=kserve_settings("Standard", autoscaler=autoscaler)))
    assert inference_service(objects, "scorer")["spec"]["predictor"]["minReplicas"] == 0
    assert bool(denials(objects, "kserve-scaling")["opa"]) is denied


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_4191_every_object_names_its_mode_so_a_cluster_default_cannot_change_it(
        mode: str) -> None:
    objects = rendered_objects(environment("qa", kserve_model("scorer"),
                                           kserve=kserve_settings(mode)))
    isvc = inference_service(objects, "scorer")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == mode
    without = [o for o in objects if o is not isvc]
    del isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
    assert denials([*without, isvc], "kserve-deployment")["opa"]


def test_4191_a_mode_change_against_what_runs_is_denied() -> None:
    before = inference_service(rendered_objects(environment(
        "qa", kserve_model("scorer"), kserve=kserve_settings("Knative"))), "scorer")
    after_objects = rendered_objects(environment("qa", kserve_model("scorer"),
                                                 kserve=kserve_settings("Standard")))
    after = inference_service(after_objects, "scorer")
    previous = {f"InferenceService/{before['metadata']['namespace']}/scorer": before}
    for name in ("regorus", "opa"):
        document = dict(build_input(after_objects), previous=previous)
        findings = engine(name).evaluate(document)
        assert any("deployment mode changes from Knative to Standard" in f.message
                   for f in findings if f.severity == "deny"), (name, findings)
    assert after["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_6_2130_canary_state_lives_in_git(mode: str) -> None:
    canary = {"strategy": "canary", "candidate": {"uri": uri("scorer", 2), "weight": 20}}
    objects = rendered_objects(environment("qa", kserve_model("scorer", rollout=canary),
                                           kserve=kserve_settings(mode)))
    isvc = inference_service(objects, "scorer")
    # Both revisions' artifacts are in the rendered object, not only in the cluster.
    assert isvc["metadata"]["annotations"]["modelops.dev/stable-storage-uri"] == uri("scorer")
    text = yaml.safe_dump(isvc)
    assert uri("scorer", 2) in text and uri("scorer") in text


def test_kserve_has_no_mirroring_so_a_mirror_rollout_is_denied() -> None:
    mirror = {"strategy": "mirror", "candidate": {"uri": uri("scorer", 2)}}
    objects = rendered_objects(environment("qa", kserve_model("scorer", rollout=mirror),
                                           kserve=kserve_settings()))
    assert any("mirror" in d for d in denials(objects, "kserve-deployment")["opa"])


def test_the_runtimes_named_are_the_ones_rendered() -> None:
    objects = rendered_objects(environment("qa", kserve_model("scorer"),
                                           kserve=kserve_settings()))
    model = inference_service(objects, "scorer")["spec"]["predictor"]["model"]
    assert model["runtime"] == KSERVE_SKLEARN_RUNTIME
    assert model["protocolVersion"] == "v2"
