"""The admission plugin judges KServe InferenceServices: real HTTPS AdmissionReview v1 POSTs to
the real kopf operator (tests/admission_support.py), on `/validate-inferenceservices`.

The emulated cluster holds one model namespace: its `modelops-environment` ConfigMap (an
environment offering one KServe runtime) and its PrometheusRule with the KServe alerts. An UPDATE
is judged against its `oldObject`: KServe fixes the deployment mode at creation, so a change of
mode is denied at admission as in `check --base`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from admission_support import Harness, Obj, make_certificates, path_for, review, with_changes
from modelops.policy.inputs import ENVIRONMENT_CONFIGMAP, ENVIRONMENT_KEY

NAMESPACE = "models-kenv"
RUNTIME = "kserve-sklearnserver"

ENVIRONMENT: Obj = {
    "apiVersion": "modelops.dev/v1alpha1", "kind": "Environment",
    "metadata": {"name": "kenv"},
    "spec": {
        "namespace": NAMESPACE,
        "defaultTarget": "kserve",
        "alerts": {"p99LatencyMs": 500, "errorRatePercent": 0.5},
        "kserve": {"deploymentMode": "Knative", "autoscaler": "kpa", "knativeVersion": "1.19",
                   "progressDeadlineSeconds": 600,
                   "runtimes": {RUNTIME: {"image": "kserve/sklearnserver:v0.20.0",
                                          "formats": ["sklearn"], "cpu": "1", "gpu": 0}},
                   "storage": {"remoteMbPerSecond": 500, "localMbPerSecond": 3000}},
    },
}
CONFIGMAP: Obj = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": ENVIRONMENT_CONFIGMAP, "namespace": NAMESPACE},
    "data": {ENVIRONMENT_KEY: json.dumps(ENVIRONMENT)},
}
ALERTS: Obj = {
    "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
    "metadata": {"name": "modelops-alerts", "namespace": NAMESPACE},
    "spec": {"groups": [{"name": "modelops.kenv.models", "rules": [
        {"alert": "KServeModelLatencyHigh", "for": "5m",
         "expr": "histogram_quantile(0.99, sum by (le) (rate("
                 "kn_serving_invocation_duration_seconds_bucket[5m]))) > 0.5"},
        {"alert": "KServeModelErrorRateHigh", "for": "5m",
         "expr": "sum(rate(kn_serving_invocation_duration_seconds_count{"
                 "response_code_class!=\"2xx\"}[5m])) / sum(rate("
                 "kn_serving_invocation_duration_seconds_count[5m])) > 0.005"},
    ]}]},
}
KNATIVE: Obj = {
    "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
    "metadata": {
        "name": "scorer", "namespace": NAMESPACE,
        "labels": {"app.kubernetes.io/component": "model"},
        "annotations": {"serving.kserve.io/deploymentMode": "Knative",
                        "modelops.dev/artifact-size": "180Mi",
                        "modelops.dev/rollout-strategy": "canary"},
    },
    "spec": {"predictor": {
        "minReplicas": 0, "maxReplicas": 3, "canaryTrafficPercent": 10,
        "model": {"modelFormat": {"name": "sklearn"}, "runtime": RUNTIME,
                  "protocolVersion": "v2",
                  "storageUri": "gs://acme-models-kenv/scorer/2026-11-19-9e1f4c",
                  "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                "limits": {"memory": "1Gi"}}}}},
}


def _annotated(obj: Obj, **annotations: str) -> Obj:
    return with_changes(obj, lambda o: o["metadata"]["annotations"].update(annotations))


def _standard_hpa(obj: Obj) -> Obj:
    return _annotated(obj, **{"serving.kserve.io/deploymentMode": "Standard",
                              "serving.kserve.io/autoscalerClass": "hpa"})


def _without_canary(obj: Obj) -> Obj:
    def change(o: Obj) -> None:
        del o["spec"]["predictor"]["canaryTrafficPercent"]
        del o["metadata"]["annotations"]["modelops.dev/rollout-strategy"]
    return with_changes(obj, change)


@pytest.fixture(scope="module", params=[0, 2], ids=["in-process", "policy-workers"])
def plugin(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Harness]:
    certs = make_certificates(tmp_path_factory.mktemp("certs"))
    with Harness([CONFIGMAP, ALERTS], certs, policy_workers=request.param) as harness:
        yield harness


def _denials(response: dict[str, Any]) -> str:
    assert response["allowed"] is False, response
    assert response["status"]["code"] == 403, response
    message: str = response["status"]["message"]
    return message


def test_inference_services_have_their_own_webhook_path() -> None:
    assert path_for(KNATIVE) == "/validate-inferenceservices"


def test_a_rendered_shaped_inference_service_is_allowed(plugin: Harness) -> None:
    for operation, old in (("CREATE", None), ("UPDATE", KNATIVE)):
        response = plugin.answer(review(KNATIVE, operation, old=old))
        assert response["allowed"] is True, response
        assert not response.get("warnings"), response


def test_mirror_rollout_is_denied(plugin: Harness) -> None:
    mirror = _annotated(KNATIVE, **{"modelops.dev/rollout-strategy": "mirror"})
    message = _denials(plugin.answer(review(mirror)))
    assert (f"policy kserve-deployment denies InferenceService/{NAMESPACE}/scorer: rollout "
            "strategy mirror: KServe has no traffic mirroring") in message


def test_mode_change_on_update_is_denied(plugin: Harness) -> None:
    standard = _annotated(_without_canary(KNATIVE),
                          **{"serving.kserve.io/deploymentMode": "Standard",
                             "serving.kserve.io/autoscalerClass": "keda"})
    assert plugin.answer(review(standard))["allowed"] is True, "the same object, created"
    message = _denials(plugin.answer(review(standard, "UPDATE", old=KNATIVE)))
    assert "deployment mode changes from Knative to Standard" in message
    # The same mode under its deprecated name is no change: allowed, with a warning.
    serverless = _annotated(KNATIVE, **{"serving.kserve.io/deploymentMode": "Serverless"})
    response = plugin.answer(review(serverless, "UPDATE", old=KNATIVE))
    assert response["allowed"] is True, response
    assert any("deprecated name Serverless" in w for w in response["warnings"]), response


def test_hpa_with_min_replicas_zero_is_denied(plugin: Harness) -> None:
    hpa = _standard_hpa(_without_canary(KNATIVE))
    message = _denials(plugin.answer(review(hpa)))
    assert (f"policy kserve-scaling denies InferenceService/{NAMESPACE}/scorer: minReplicas 0 "
            "in Standard mode with the hpa autoscaler") in message
    floor_one = with_changes(hpa, lambda o: o["spec"]["predictor"].update(minReplicas=1))
    assert plugin.answer(review(floor_one))["allowed"] is True


def test_a_runtime_the_environment_lacks_is_denied(plugin: Harness) -> None:
    other = copy.deepcopy(KNATIVE)
    other["spec"]["predictor"]["model"]["runtime"] = "kserve-xgbserver"
    message = _denials(plugin.answer(review(other)))
    assert f"runtime kserve-xgbserver is not one the environment offers ({RUNTIME})" in message
