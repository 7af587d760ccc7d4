"""`modelops plan` for KServe: an environment's InferenceServices against its KServe capacity.

KServe runs one pod per replica of each model, with no shared server process to pack into, so
planning is arithmetic: each InferenceService needs `pods × (its predictor's requests)` of the
capacity `environment.yaml` declares under `spec.kserve.capacity` (the namespace's quota, or the
node pool the predictors are pinned to). A model counts at `minReplicas`; a scale-to-zero model
(`minReplicas: 0`) counts at `maxReplicas`, because a burst brings all of them up at once. A
Knative canary (`canaryTrafficPercent`) runs the new revision beside the previous one, so its
pods count twice; each Standard-mode `spec.canary` predictor counts with its own replicas.
Requests are the predictor model container's (`nvidia.com/gpu` from its limits, where
Kubernetes requires GPUs); the Knative queue-proxy sidecar's are not counted.

Models are taken in name order, as Argo CD applies them: the first one whose pods no longer fit
is `failed`, like a Seldon model that cannot be scheduled. An environment with InferenceServices
and no capacity gets a warning, never a failure: nothing says how much room there is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from modelops.quantity import QuantityError, parse_bytes, parse_quantity

KSERVE_API = "serving.kserve.io/"
GPU_RESOURCE = "nvidia.com/gpu"


class Resources(TypedDict):
    memory_bytes: int
    cpu_millis: int
    gpu: int


class KServeModelReport(TypedDict):
    model: str
    pods: int
    counted_at: str
    total: Resources
    outcome: str
    short_of: list[str]     # the resources that ran out: memory, cpu, gpu


class KServeReport(TypedDict):
    capacity_source: str | None
    capacity: Resources | None
    planned: Resources
    at_max: Resources
    models: list[KServeModelReport]
    warnings: list[str]


@dataclass(frozen=True)
class PodDemand:
    model: str
    pods: int
    counted_at: str
    total: Resources
    at_max: Resources


def is_inference_service(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "InferenceService" and str(obj.get("apiVersion", "")).startswith(
        KSERVE_API)


def _zero() -> Resources:
    return {"memory_bytes": 0, "cpu_millis": 0, "gpu": 0}


def _memory(value: Any, warnings: list[str], where: str) -> int:
    if value is None:
        return 0
    try:
        return value if isinstance(value, int) else parse_bytes(str(value))
    except QuantityError:
        warnings.append(f"{where}: memory {value!r} is not a quantity; counted as 0")
        return 0


def _cpu(value: Any, warnings: list[str], where: str) -> int:
    if value is None:
        return 0
    try:
        return math.ceil(parse_quantity(str(value)) * 1000)
    except QuantityError:
        warnings.append(f"{where}: cpu {value!r} is not a quantity; counted as 0")
        return 0


def _gpu(resources: Mapping[str, Any]) -> int:
    for part in ("limits", "requests"):
        value = (resources.get(part) or {}).get(GPU_RESOURCE)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return 0


def _per_pod(predictor: Mapping[str, Any], fallback: Resources | None, warnings: list[str],
             where: str) -> Resources:
    resources = (predictor.get("model") or {}).get("resources")
    if not isinstance(resources, dict):
        return fallback or _zero()
    requests = resources.get("requests") or {}
    return {"memory_bytes": _memory(requests.get("memory"), warnings, where),
            "cpu_millis": _cpu(requests.get("cpu"), warnings, where),
            "gpu": _gpu(resources)}


def _replicas(predictor: Mapping[str, Any]) -> tuple[int, int, str]:
    """(pods counted, pods at max, why that count) of one predictor."""
    low = predictor.get("minReplicas")
    high = predictor.get("maxReplicas")
    low = low if isinstance(low, int) else 1      # KServe's default floor
    high = high if isinstance(high, int) and high >= max(low, 1) else max(low, 1)
    if low == 0:
        return high, high, "maxReplicas (scale-to-zero: a burst starts them all)"
    return low, high, "minReplicas"


def demand_of(isvc: Mapping[str, Any], warnings: list[str]) -> PodDemand:
    name = str((isvc.get("metadata") or {}).get("name", ""))
    spec = isvc.get("spec") or {}
    predictor = spec.get("predictor") or {}
    per_pod = _per_pod(predictor, None, warnings, f"InferenceService {name}")
    pods, max_pods, why = _replicas(predictor)
    if isinstance(predictor.get("canaryTrafficPercent"), int):
        pods, max_pods, why = 2 * pods, 2 * max_pods, f"{why}, twice during a Knative canary"
    total, at_max = _times(per_pod, pods), _times(per_pod, max_pods)
    # Standard-mode canaries: further predictors, each with its own replicas and requests.
    for entry in spec.get("canary") or []:
        canary = entry.get("predictor") if isinstance(entry, dict) else None
        if isinstance(canary, dict):
            extra = _per_pod(canary, per_pod, warnings, f"InferenceService {name} canary")
            count, most, _ = _replicas(canary)
            total, at_max = _add(total, _times(extra, count)), _add(at_max, _times(extra, most))
            pods, why = pods + count, f"{why}, plus {count} canary pod(s)"
    return PodDemand(name, pods, why, total, at_max)


def _times(r: Resources, count: int) -> Resources:
    return {"memory_bytes": r["memory_bytes"] * count, "cpu_millis": r["cpu_millis"] * count,
            "gpu": r["gpu"] * count}


def _add(a: Resources, b: Resources) -> Resources:
    return {"memory_bytes": a["memory_bytes"] + b["memory_bytes"],
            "cpu_millis": a["cpu_millis"] + b["cpu_millis"], "gpu": a["gpu"] + b["gpu"]}


def _capacity(environment: Mapping[str, Any], warnings: list[str]
              ) -> tuple[str | None, Resources | None]:
    kserve = (environment.get("spec") or {}).get("kserve") or {}
    capacity = kserve.get("capacity")
    if not isinstance(capacity, dict):
        return None, None
    pool = capacity.get("nodePool")
    source = f"node pool {pool}" if pool else "namespace quota"
    where = "environment.yaml spec.kserve.capacity"
    return source, {"memory_bytes": _memory(capacity.get("memory"), warnings, where),
                    "cpu_millis": _cpu(capacity.get("cpu"), warnings, where),
                    "gpu": int(capacity.get("gpu") or 0)}


def _exceeded(used: Resources, capacity: Resources) -> list[str]:
    names = {"memory": (used["memory_bytes"], capacity["memory_bytes"]),
             "cpu": (used["cpu_millis"], capacity["cpu_millis"]),
             "gpu": (used["gpu"], capacity["gpu"])}
    return [name for name, (need, have) in names.items() if need > have]


def plan_kserve(objects: Iterable[Mapping[str, Any]],
                environment: Mapping[str, Any]) -> KServeReport | None:
    """The KServe part of an environment's plan; None when it has no InferenceService."""
    warnings: list[str] = []
    demands = sorted((demand_of(obj, warnings) for obj in objects
                      if is_inference_service(obj)), key=lambda d: d.model)
    if not demands:
        return None
    source, capacity = _capacity(environment, warnings)
    if capacity is None:
        warnings.append(f"{len(demands)} KServe model(s) and no spec.kserve.capacity in "
                        "environment.yaml: their pods are not planned against any quota or "
                        "node pool")
    planned, at_max = _zero(), _zero()
    models: list[KServeModelReport] = []
    for demand in demands:
        after = _add(planned, demand.total)
        over = _exceeded(after, capacity) if capacity is not None else []
        if not over:
            planned = after
        at_max = _add(at_max, demand.at_max)
        models.append({"model": demand.model, "pods": demand.pods,
                       "counted_at": demand.counted_at, "total": demand.total,
                       "outcome": "failed" if over else "scheduled", "short_of": over})
    return {"capacity_source": source, "capacity": capacity, "planned": planned,
            "at_max": at_max, "models": models, "warnings": warnings}
