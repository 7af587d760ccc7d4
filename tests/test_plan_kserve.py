"""`plan` for KServe: InferenceServices' pods against the environment's KServe capacity.

Hand-worked numbers on hand-made InferenceServices (one pod per replica, scale-to-zero at its
max, canaries counted beside the stable pods, the first model that does not fit fails), then
`modelops plan` on a built repository whose rendered tree holds InferenceServices beside its
Seldon pools, and the PR summary's capacity row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_cli
from modelops.gate.check import CheckReport, EnvironmentResult
from modelops.gate.scope import FULL
from modelops.gate.summary import format_markdown
from modelops.plan import failures, plan_objects
from modelops.policy.inputs import ENVIRONMENT_CONFIGMAP, ENVIRONMENT_KEY
from repo_builder import build_repo, environment, model

GI = 2**30


def isvc(name: str, low: int, high: int, memory: str, cpu: str, gpu: int = 0,
         **predictor: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory},
                                 "limits": {"memory": memory}}
    if gpu:
        resources["limits"]["nvidia.com/gpu"] = gpu
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "models-e",
                         "annotations": {"serving.kserve.io/deploymentMode": "Knative"}},
            "spec": {"predictor": {"minReplicas": low, "maxReplicas": high, **predictor,
                                   "model": {"modelFormat": {"name": "sklearn"},
                                             "runtime": "sklearn-server",
                                             "protocolVersion": "v2",
                                             "storageUri": f"gs://test-models/{name}/v1",
                                             "resources": resources}}}}


def settings(capacity: dict[str, Any] | None) -> dict[str, Any]:
    kserve: dict[str, Any] = {"deploymentMode": "Knative"}
    if capacity is not None:
        kserve["capacity"] = capacity
    document = {"apiVersion": "modelops.dev/v1alpha1", "kind": "Environment",
                "metadata": {"name": "e"}, "spec": {"kserve": kserve}}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ENVIRONMENT_CONFIGMAP, "namespace": "models-e"},
            "data": {ENVIRONMENT_KEY: json.dumps(document)}}


CAPACITY = {"nodePool": "inference", "memory": "16Gi", "cpu": "8", "gpu": 4}
STEADY = isvc("a-steady", 2, 4, "2Gi", "1")              # counted at min: 2 pods
ZERO = isvc("b-zero", 0, 3, "1Gi", "500m", gpu=1)         # scale-to-zero: counted at max, 3


def test_pods_are_counted_per_replica_and_scale_to_zero_at_max() -> None:
    report = plan_objects("e", [settings(CAPACITY), STEADY, ZERO])
    kserve = report["kserve"]
    assert kserve is not None
    assert kserve["capacity_source"] == "node pool inference"
    assert [(m["model"], m["pods"], m["outcome"]) for m in kserve["models"]] == [
        ("a-steady", 2, "scheduled"), ("b-zero", 3, "scheduled")]
    assert kserve["planned"] == {"memory_bytes": 4 * GI + 3 * GI, "cpu_millis": 2000 + 1500,
                                 "gpu": 3}
    assert kserve["at_max"] == {"memory_bytes": 8 * GI + 3 * GI, "cpu_millis": 4000 + 1500,
                                "gpu": 3}
    assert "scale-to-zero" in kserve["models"][1]["counted_at"]
    assert failures(report) == []


def test_the_first_model_that_does_not_fit_fails_naming_the_resource() -> None:
    tight = dict(CAPACITY, gpu=2)
    report = plan_objects("e", [settings(tight), STEADY, ZERO])
    (failed,) = failures(report)
    assert failed["model"] == "b-zero" and failed["server"] == "kserve"
    assert "more gpu than is left of the node pool inference" in failed["reason"]
    kserve = report["kserve"]
    assert kserve is not None and kserve["planned"]["gpu"] == 0   # only what fits is planned


def test_memory_and_cpu_run_out_the_same_way_on_a_namespace_quota() -> None:
    report = plan_objects("e", [settings({"memory": "5Gi", "cpu": "2"}), STEADY, ZERO])
    reasons = {f["model"]: f["reason"] for f in failures(report)}
    assert set(reasons) == {"b-zero"}
    assert "more memory, cpu and gpu than is left of the namespace quota" in reasons["b-zero"]


def test_no_capacity_is_a_warning_not_a_failure() -> None:
    report = plan_objects("e", [settings(None), STEADY])
    kserve = report["kserve"]
    assert kserve is not None and kserve["capacity"] is None
    assert "no spec.kserve.capacity" in kserve["warnings"][0]
    assert failures(report) == []


def test_an_environment_without_inference_services_has_no_kserve_report() -> None:
    assert plan_objects("e", [settings(CAPACITY)])["kserve"] is None


def test_canaries_count_beside_the_stable_pods() -> None:
    knative = isvc("knative", 1, 2, "1Gi", "1", canaryTrafficPercent=10)
    standard = isvc("standard", 2, 2, "1Gi", "1")
    standard["spec"]["canary"] = [{"trafficPercent": 10, "predictor": {
        "minReplicas": 1, "maxReplicas": 1,
        "model": {"resources": {"requests": {"cpu": "2", "memory": "3Gi"}}}}}]
    kserve = plan_objects("e", [settings(CAPACITY), knative, standard])["kserve"]
    assert kserve is not None
    totals = {m["model"]: (m["pods"], m["total"]) for m in kserve["models"]}
    assert totals["knative"] == (2, {"memory_bytes": 2 * GI, "cpu_millis": 2000, "gpu": 0})
    assert totals["standard"] == (3, {"memory_bytes": 2 * GI + 3 * GI, "cpu_millis": 4000,
                                      "gpu": 0})


def built(root: Path, capacity: dict[str, Any]) -> Path:
    """Seldon models rendered as usual, and two InferenceServices in the rendered tree (what
    the KServe renderer writes; plan reads manifests, not specs)."""
    build_repo(root, environment(
        "e", model("seldon-a"), model("seldon-b"),
        kserve={"deploymentMode": "Knative", "autoscaler": "kpa", "knativeVersion": "1.19",
                "runtimes": {"sklearn-server": {"image": "docker.io/kserve/sklearnserver:v0.20.0",
                                                "formats": ["sklearn"], "cpu": "1"}},
                "capacity": capacity}))
    models = root / "environments" / "e" / "rendered" / "models"
    for obj in (STEADY, ZERO):
        name = obj["metadata"]["name"]
        (models / f"{name}.inferenceservice-{name}.yaml").write_text(yaml.safe_dump(obj))
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return built(tmp_path / "repo", CAPACITY)


def test_plan_reports_kserve_beside_the_pools(repo: Path) -> None:
    result = run_cli("plan", repo=repo)
    assert result.rc == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "  2 of 2 models fully scheduled" in lines          # the Seldon models
    assert ("  kserve (node pool inference): 2 model(s), planned 7.00Gi, 3.5 cpu, 3 gpu of "
            "16.00Gi, 8 cpu, 4 gpu (memory load 0.44); at maxReplicas 11.00Gi, 5.5 cpu, 3 gpu"
            ) in lines
    (report,) = json.loads(run_cli("plan", "--format", "json", repo=repo).stdout)
    assert report["kserve"]["planned"]["memory_bytes"] == 7 * GI


def test_plan_fails_when_kserve_pods_do_not_fit(tmp_path: Path) -> None:
    repo = built(tmp_path / "repo", dict(CAPACITY, gpu=2))
    result = run_cli("plan", repo=repo)
    assert result.rc == 1
    assert "  FAILED b-zero: 3 pod(s) (maxReplicas (scale-to-zero: a burst starts them all)) " \
           "need 3.00Gi, 1.5 cpu, 3 gpu: more gpu than is left of the node pool inference" \
           in result.stdout.splitlines()


def test_pr_summary_has_a_kserve_row_in_the_capacity_table() -> None:
    plan = plan_objects("e", [settings(CAPACITY), STEADY, ZERO])
    report = CheckReport(None, None, "regorus", [], [], 0,
                         [EnvironmentResult("e", FULL, 0, [], plan)])
    rows = [line for line in format_markdown(report).splitlines() if "KServe" in line]
    assert rows == ["| e | KServe (node pool inference) | 16.00Gi, 8 cpu, 4 gpu × 1.00 | 7.00Gi "
                    "(7.00Gi, 3.5 cpu, 3 gpu) | 0.44 | 9.00Gi |  |"]
