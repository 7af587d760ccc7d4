"""Specs that make each serving-target rule fire, and the nearest specs that keep it quiet.

Shared by `test_advise.py` (the Python rules) and `test_advise_policy.py` (the Rego policy on
the same specs), so the two are judged on exactly the same cases. Every environment is built
from `repo_builder`'s defaults; `KSERVE` is a KServe section any environment can take.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from repo_builder import TRITON_POOL, EnvironmentDraft, environment, model, uri

KSERVE: dict[str, Any] = {
    "deploymentMode": "Knative", "autoscaler": "kpa", "knativeVersion": "1.19",
    "runtimes": {
        "sklearn-server": {"image": "docker.io/kserve/sklearnserver:v0.20.0",
                           "formats": ["sklearn", "xgboost", "lightgbm"], "cpu": "1"},
        "triton": {"image": "nvcr.io/nvidia/tritonserver:24.08-py3",
                   "formats": ["onnx", "pytorch", "tensorflow"], "cpu": "2", "gpu": 1},
    },
    "storage": {"remoteMbPerSecond": 500, "localMbPerSecond": 3500},
}
DRIFT = {"reference": uri("drifty-reference"), "referenceRows": 10000, "pValue": 0.01,
         "batchSize": 100}


def kserve_model(name: str, **spec: Any) -> dict[str, Any]:
    return model(name, target="kserve", server=None, **spec)


def small_gpu_models(count: int) -> list[dict[str, Any]]:
    """Small models on GPUs: the first few on KServe's Triton runtime, the rest on Seldon's
    Triton pool (the count spans both targets)."""
    return [kserve_model(f"gpu-{i:02d}", framework="onnx") if i < 3
            else model(f"gpu-{i:02d}", framework="onnx", server=TRITON_POOL)
            for i in range(count)]


# rule id -> (firing case, quiet case); a case is (environment, the model judged).
Case = tuple[EnvironmentDraft, str]
CASES: dict[str, tuple[Callable[[], Case], Callable[[], Case]]] = {
    "drift": (lambda: (environment("e", model("m", drift=DRIFT)), "m"),
              lambda: (environment("e", model("m")), "m")),
    "processing": (
        lambda: (environment("e", model("pre"), model("m", processing={"pre": ["pre"]})), "m"),
        lambda: (environment("e", model("pre"), model("m")), "m")),
    "pipeline-step": (
        lambda: (environment("e", model("m"), model("main", processing={"post": ["m"]})), "m"),
        lambda: (environment("e", model("m"), model("main")), "m")),
    "explainer": (
        lambda: (environment("e", model("m", explainer={"type": "anchor_tabular",
                                                        "uri": uri("m-explainer")})), "m"),
        lambda: (environment("e", model("m")), "m")),
    "kafka": (lambda: (environment("e", model("m", logger={"percent": 5})), "m"),
              lambda: (environment("e", model("m")), "m")),
    "mirror": (
        lambda: (environment("e", model("m", rollout={
            "strategy": "mirror", "candidate": {"uri": uri("m", 2), "weight": 20}})), "m"),
        lambda: (environment("e", model("m", rollout={
            "strategy": "canary", "candidate": {"uri": uri("m", 2), "weight": 20}})), "m")),
    "scale-to-zero": (
        lambda: (environment("e", kserve_model("m", replicas={"min": 0, "max": 2}),
                             kserve=KSERVE), "m"),
        lambda: (environment("e", kserve_model("m", replicas={"min": 1, "max": 2}),
                             kserve=KSERVE), "m")),
    "sparse-traffic": (
        lambda: (environment("e", model("m", traffic={"pattern": "idle",
                                                      "coldStartBudgetSeconds": 60})), "m"),
        # idle, but a 2Gi artifact takes ~4.3 s at 500 MB/s, over a 1 s budget
        lambda: (environment("e", model("m", artifact={"size": "2Gi"}, traffic={
            "pattern": "idle", "coldStartBudgetSeconds": 1})), "m")),
    "gpu-packing": (lambda: (environment("e", *small_gpu_models(21), kserve=KSERVE), "gpu-00"),
                    lambda: (environment("e", *small_gpu_models(20), kserve=KSERVE), "gpu-00")),
    "cold-start-over-budget": (
        lambda: (environment("e", kserve_model("m", artifact={"size": "2Gi"},
                                               replicas={"min": 0, "max": 2},
                                               traffic={"pattern": "idle",
                                                        "coldStartBudgetSeconds": 1}),
                             kserve=KSERVE), "m"),
        lambda: (environment("e", kserve_model("m", artifact={"size": "2Gi"},
                                               replicas={"min": 0, "max": 2},
                                               traffic={"pattern": "idle",
                                                        "coldStartBudgetSeconds": 5}),
                             kserve=KSERVE), "m")),
    "critical-shared-process": (
        lambda: (environment("e", model("m", critical=True), model("other")), "m"),
        lambda: (environment("e", model("m", critical=True)), "m")),
    "grpc": (lambda: (environment("e", model("m", traffic={"pattern": "steady",
                                                           "peakRps": 1000})), "m"),
             lambda: (environment("e", model("m", traffic={"pattern": "steady",
                                                           "peakRps": 999})), "m")),
}
