"""An InferenceService of any shape is judged, never an engine error, and OPA and regorus agree.

A hand-applied object reaches the webhook with whatever values its author wrote where the
policies expect objects, numbers or strings; an environment or an earlier object (`previous`)
may be just as odd. Each field the KServe rules read is set in turn to a value of every JSON
type, in a rendered-shaped InferenceService, and judged with and without an environment offering
KServe runtimes; both engines must give the same findings (test_policy_reference.py does the
same for removed fields).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from modelops.policy import PolicyEngine, PolicyLibrary, build_input, create_engine

SAMPLE = REPO_ROOT / "policies" / "kserve-deployment" / "samples" / "allowed" / \
    "knative-and-standard.yaml"
FIELDS: list[tuple[str, ...]] = [
    ("spec",), ("spec", "predictor"), ("spec", "predictor", "model"),
    ("spec", "predictor", "model", "resources"),
    ("spec", "predictor", "model", "resources", "requests"),
    ("spec", "predictor", "model", "resources", "limits"),
    ("spec", "predictor", "model", "modelFormat"),
    ("spec", "predictor", "model", "runtime"), ("spec", "predictor", "model", "storageUri"),
    ("spec", "predictor", "minReplicas"), ("spec", "predictor", "maxReplicas"),
    ("metadata", "annotations"), ("metadata", "labels"),
    ("metadata", "annotations", "serving.kserve.io/deploymentMode"),
    ("metadata", "annotations", "serving.kserve.io/autoscalerClass"),
    ("metadata", "annotations", "modelops.dev/artifact-size"),
    ("metadata", "annotations", "modelops.dev/rollout-strategy"),
]
VALUES: list[Any] = ["x", 3, 0, [], None, True, {"a": 1}]
ENVIRONMENTS: list[dict[str, Any]] = [
    {},
    {"metadata": {"name": "dev"}, "spec": {"kserve": {
        "runtimes": {"kserve-sklearnserver": {"formats": ["sklearn"]}},
        "storage": {"remoteMbPerSecond": 500}, "progressDeadlineSeconds": 600}}},
    {"metadata": {"name": "dev"}, "spec": {"kserve": {
        "runtimes": {"kserve-sklearnserver": {"formats": "sklearn"}},
        "storage": "x", "progressDeadlineSeconds": "x"}}},
    {"metadata": {"name": "dev"}, "spec": {"kserve": "x"}},
    {"metadata": {"name": "dev"}, "spec": {"kserve": {"runtimes": {"kserve-sklearnserver": "x"},
                                                     "storage": {"remoteMbPerSecond": 0}}}},
]
KEY = "InferenceService/models-dev/churn-scorer"
PREVIOUS: list[Any] = ["x", [], {KEY: "x"}, {KEY: {"metadata": "x"}},
                       {KEY: {"metadata": {"annotations": {
                           "serving.kserve.io/deploymentMode": 3}}}}]


@cache
def engines() -> tuple[PolicyEngine, PolicyEngine]:
    library = PolicyLibrary.load(REPO_ROOT / "policies")
    return create_engine(library, "opa"), create_engine(library, "regorus")


def inference_service() -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(SAMPLE.read_text()) if isinstance(d, dict)]
    found: dict[str, Any] = next(d for d in documents if d["kind"] == "InferenceService")
    assert "/".join(("InferenceService", found["metadata"]["namespace"],
                     found["metadata"]["name"])) == KEY
    return found


def with_value(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


def judged_alike(objects: list[dict[str, Any]], environment: dict[str, Any],
                 previous: Any, where: str) -> None:
    document: Any = build_input(objects, environment=environment)
    document["previous"] = previous
    opa, regorus = (engine.evaluate(document) for engine in engines())
    assert regorus == opa, f"{where}: opa {opa} regorus {regorus}"


@pytest.mark.parametrize("path", FIELDS, ids=".".join)
def test_a_field_of_any_type_is_judged_alike(path: tuple[str, ...]) -> None:
    base = inference_service()
    for value in VALUES:
        obj = with_value(base, path, value)
        for environment in ENVIRONMENTS[:2]:
            judged_alike([obj], environment, {KEY: base}, f"{'.'.join(path)} = {value!r}")


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda e: str(e.get("spec", "none")))
def test_an_odd_environment_or_previous_object_is_judged_alike(
        environment: dict[str, Any]) -> None:
    for previous in PREVIOUS:
        judged_alike([inference_service()], environment, previous, f"previous {previous!r}")


def test_the_unchanged_sample_is_allowed_so_the_mutations_start_from_a_pass() -> None:
    findings = engines()[1].evaluate(build_input(
        [inference_service(), *[d for d in yaml.safe_load_all(SAMPLE.read_text())
                                if d["kind"] == "PrometheusRule"]], environment=ENVIRONMENTS[1]))
    assert [f for f in findings if f.severity == "deny"] == []
