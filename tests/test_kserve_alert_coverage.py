"""The alerts policy holds every rendered InferenceService to its alerts, as it does Models.

The generators give each KServe model a group of its own (`modelops.<env>.model.<name>`) with
KServeModelLatencyHigh and, where its exporter counts errors, KServeModelErrorRateHigh. A
Standard-mode model on KServe's Python server has no error counter: the object says so
(`modelops.dev/error-rate-signal: none`) and only the latency alert is asked for.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import REPO_ROOT
from modelops.policy import PolicyLibrary, build_input, create_engine
from repo_builder import (
    KSERVE_TRITON_RUNTIME,
    environment,
    kserve_model,
    kserve_settings,
    rendered_objects,
)

ENGINE = create_engine(PolicyLibrary.load(REPO_ROOT / "policies"), "regorus")
MODELS = (kserve_model("scorer"),
          kserve_model("tagger", framework="onnx", kserve={"runtime": KSERVE_TRITON_RUNTIME}))


def _objects(mode: str) -> list[dict[str, Any]]:
    return rendered_objects(environment("qa", *MODELS, kserve=kserve_settings(mode)))


def _alert_denials(objects: list[dict[str, Any]]) -> list[str]:
    findings = ENGINE.evaluate(build_input(objects))
    return sorted(f.message for f in findings if f.severity == "deny" and f.policy == "alerts")


def _without_group(objects: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    def drop(obj: dict[str, Any]) -> dict[str, Any]:
        if obj["kind"] != "PrometheusRule":
            return obj
        return {**obj, "spec": {"groups": [g for g in obj["spec"]["groups"]
                                           if g["name"] != group]}}
    return [drop(obj) for obj in objects]


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_rendered_inference_services_are_covered(mode: str) -> None:
    assert _alert_denials(_objects(mode)) == []


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_a_model_without_its_group_is_denied(mode: str) -> None:
    denials = _alert_denials(_without_group(_objects(mode), "modelops.qa.model.tagger"))
    assert denials and all("tagger" in d for d in denials), denials
    assert any("KServeModelLatencyHigh" in d for d in denials), denials


def test_only_the_latency_alert_is_asked_where_no_error_counter_exists() -> None:
    objects = _objects("Standard")
    scorer = next(o for o in objects
                  if o["kind"] == "InferenceService" and o["metadata"]["name"] == "scorer")
    assert scorer["metadata"]["annotations"]["modelops.dev/error-rate-signal"] == "none"
    tagger = next(o for o in objects
                  if o["kind"] == "InferenceService" and o["metadata"]["name"] == "tagger")
    assert "modelops.dev/error-rate-signal" not in tagger["metadata"]["annotations"]
    denials = _alert_denials(_without_group(objects, "modelops.qa.model.scorer"))
    assert [d for d in denials if "KServeModelErrorRateHigh" in d] == []
    assert any("KServeModelLatencyHigh" in d for d in denials), denials
