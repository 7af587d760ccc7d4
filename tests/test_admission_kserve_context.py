"""An InferenceService is judged with its namespace's InferenceServices in view, as in CI.

The serving-target policy counts the small GPU models of a namespace on both targets: past
twenty, it advises Seldon's shared MLServer over one KServe pod set each. CI sees every rendered
object; the webhook sees what the operator indexed. Without InferenceServices in the index the
webhook counted none and stayed silent where CI warned.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
from admission_support import Harness, Obj, make_certificates, review
from conftest import REPO_ROOT
from modelops.policy import PolicyLibrary, build_input, create_engine
from modelops.policy.inputs import ENVIRONMENT_CONFIGMAP, ENVIRONMENT_KEY
from test_admission_kserve import ALERTS, ENVIRONMENT, KNATIVE, NAMESPACE

GPU_RUNTIME = "kserve-tritonserver"
PEERS = 21  # more than the policy's packing threshold of 20


def _gpu_environment() -> Obj:
    environment = copy.deepcopy(ENVIRONMENT)
    environment["spec"]["kserve"]["runtimes"] = {
        GPU_RUNTIME: {"image": "nvcr.io/nvidia/tritonserver:24.10-py3", "formats": ["onnx"],
                      "cpu": "2", "gpu": 1}}
    return environment


def _gpu_model(name: str) -> Obj:
    model = copy.deepcopy(KNATIVE)
    model["metadata"]["name"] = name
    model["metadata"]["annotations"].pop("modelops.dev/rollout-strategy")
    predictor = model["spec"]["predictor"]
    predictor.pop("canaryTrafficPercent")
    predictor["minReplicas"] = 1
    predictor["model"].update(modelFormat={"name": "onnx"}, runtime=GPU_RUNTIME,
                              storageUri=f"gs://acme-models-kenv/{name}/2026-11-19-9e1f4c")
    return model


CONFIGMAP: Obj = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": ENVIRONMENT_CONFIGMAP, "namespace": NAMESPACE},
    "data": {ENVIRONMENT_KEY: json.dumps(_gpu_environment())},
}
PEER_MODELS = [_gpu_model(f"tagger-{i:02d}") for i in range(PEERS)]
REVIEWED = _gpu_model("tagger-new")


ENGINE = create_engine(PolicyLibrary.load(REPO_ROOT / "policies"), "regorus")


def _ci_warnings(objects: list[Obj]) -> list[str]:
    findings = ENGINE.evaluate(build_input([REVIEWED], objects))
    return [f.message for f in findings
            if f.severity == "warn" and f.policy == "serving-target"]


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    certs = make_certificates(tmp_path_factory.mktemp("certs"))
    with Harness([CONFIGMAP, ALERTS, *PEER_MODELS], certs) as harness:
        yield harness


def test_ci_warns_when_a_namespace_packs_many_small_gpu_models() -> None:
    assert any("gpu-packing" in w for w in _ci_warnings([CONFIGMAP, ALERTS, *PEER_MODELS]))
    assert not any("gpu-packing" in w for w in _ci_warnings([CONFIGMAP, ALERTS]))


def test_the_webhook_counts_the_indexed_inference_services_as_ci_does(plugin: Harness) -> None:
    response = plugin.answer(review(REVIEWED))
    assert response["allowed"] is True, response
    warnings = response.get("warnings") or []
    assert any("gpu-packing" in w for w in warnings), response
