"""`modelops plan`: place an environment's Models on its Servers the way Seldon Core 2 would.

Seldon's scheduler (scheduler/pkg/scheduler, v2.10; research/seldon-core-2.md §2) takes one
model at a time and:

1. keeps the servers that can take it: the pinned `spec.server` if set, else every Server
   (all are shared), with replicas, whose capabilities include every `spec.requirements`
   entry and `spec.modelType`; a Server that declares no memory request on its inference
   container is left out here, as no capacity the platform reviewed limits it;
2. on a server, keeps the replicas whose free memory (capacity x (1 + overcommit%/100) minus
   what is already placed) is at least the model's `spec.memory`, and sorts them by most free
   memory, then lowest index;
3. places all `replicas` of the model on distinct replicas of that one server, or, when fewer
   fit but at least `minReplicas` do, as many as fit (partial scheduling, Seldon >= 2.9);
   otherwise the model is `ScheduleFailed`.

Seldon schedules in arrival order; the plan uses name order, which is how Argo CD applies the
Models of one sync wave. A model without `spec.memory` counts as 0 bytes, exactly as in Seldon.
The plan reads manifests (rendered or hand-made), not specs, so it judges what is applied.
KServe models have no Server to be placed on: `plan_kserve` plans their pods against the
environment's KServe capacity, and its report sits beside the pools'.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from modelops.plan_kserve import KServeModelReport, KServeReport, Resources, plan_kserve
from modelops.policy.inputs import environment_document
from modelops.quantity import parse_bytes
from modelops.runtimes import AGENT_CONTAINER, DEFAULT_CAPABILITIES, INFERENCE_CONTAINER

SELDON_DEFAULT_OVERCOMMIT_PERCENT = 10
Outcome = Literal["scheduled", "partial", "failed"]


@dataclass
class ServerReplica:
    index: int
    capacity: int     # bytes the replica advertises, overcommit included
    used: int = 0
    models: list[str] = field(default_factory=list)

    @property
    def free(self) -> int:
        return self.capacity - self.used


@dataclass
class Pool:
    name: str
    physical_per_replica: int
    overcommit_percent: float
    capabilities: frozenset[str]
    replicas: list[ServerReplica]

    @property
    def physical(self) -> int:
        return self.physical_per_replica * len(self.replicas)

    @property
    def ratio(self) -> float:
        """The configured overcommit ratio, 1 + overcommit%/100."""
        return 1 + self.overcommit_percent / 100

    @property
    def planned(self) -> int:
        return sum(r.used for r in self.replicas)


@dataclass(frozen=True)
class ModelDemand:
    name: str
    memory: int
    replicas: int
    min_replicas: int
    server: str | None
    requirements: frozenset[str]


@dataclass(frozen=True)
class Placement:
    model: str
    outcome: Outcome
    server: str | None
    replicas: tuple[int, ...]
    reason: str


class PoolReport(TypedDict):
    server: str
    replicas: int
    physical_bytes: int
    configured_ratio: float
    capacity_bytes: int
    planned_bytes: int
    planned_ratio: float
    headroom_bytes: int
    replica_used_bytes: list[int]
    models: list[str]
    unscheduled: list[str]


class PlacementReport(TypedDict):
    model: str
    outcome: Outcome
    server: str | None
    replicas: list[int]
    reason: str


class PlanReport(TypedDict):
    environment: str
    pools: list[PoolReport]
    placements: list[PlacementReport]
    kserve: KServeReport | None


def _kind(obj: Mapping[str, Any], kind: str) -> bool:
    return obj.get("kind") == kind and str(obj.get("apiVersion", "")).startswith(
        "mlops.seldon.io/")


def _bytes(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return parse_bytes(value)
    return 0


def pool_from_server(server: Mapping[str, Any]) -> Pool:
    spec = server.get("spec") or {}
    runtime = str(spec.get("serverConfig", ""))
    containers = (spec.get("podSpec") or {}).get("containers") or []
    inference: Mapping[str, Any] = next((c for c in containers
                      if c.get("name") in INFERENCE_CONTAINER.values()), {})
    memory = _bytes(((inference.get("resources") or {}).get("requests") or {}).get("memory"))
    percent: float = SELDON_DEFAULT_OVERCOMMIT_PERCENT
    for container in containers:
        if container.get("name") == AGENT_CONTAINER:
            for var in container.get("env") or []:
                if var.get("name") == "SELDON_OVERCOMMIT_PERCENTAGE":
                    percent = float(var.get("value", percent))   # the last duplicate wins
    if spec.get("capabilities"):
        capabilities = frozenset(spec["capabilities"])
    else:
        capabilities = frozenset(DEFAULT_CAPABILITIES.get(runtime, ())) | frozenset(
            spec.get("extraCapabilities") or ())
    capacity = int(memory * (1 + percent / 100))
    count = int(spec.get("replicas", 1))
    return Pool(str(server["metadata"]["name"]), memory, percent, capabilities,
                [ServerReplica(i, capacity) for i in range(count)])


def demand_from_model(model: Mapping[str, Any]) -> ModelDemand:
    spec = model.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    requirements = set(spec.get("requirements") or ())
    if isinstance(spec.get("modelType"), str):   # Seldon appends it to the requirements
        requirements.add(spec["modelType"])
    return ModelDemand(str(model["metadata"]["name"]), _bytes(spec.get("memory")), replicas,
                       int(spec.get("minReplicas") or 0), spec.get("server"),
                       frozenset(requirements))


def schedule(pools: list[Pool], models: list[ModelDemand]) -> list[Placement]:
    """Place every model, in name order, mutating the pools' replicas."""
    by_name = {p.name: p for p in pools}
    return [_place(model, by_name) for model in sorted(models, key=lambda m: m.name)]


def _place(model: ModelDemand, pools: Mapping[str, Pool]) -> Placement:
    if model.server is not None and model.server not in pools:
        return Placement(model.name, "failed", model.server, (),
                         f"server {model.server} does not exist")
    candidates = [pools[model.server]] if model.server else [pools[n] for n in sorted(pools)]
    reasons = []
    for pool in candidates:
        missing = sorted(model.requirements - pool.capabilities)
        if not pool.replicas:
            reasons.append(f"{pool.name}: no replicas")
            continue
        if missing:
            reasons.append(f"{pool.name}: lacks capabilities {', '.join(missing)}")
            continue
        if pool.physical_per_replica == 0:
            # Seldon would register whatever the ServerConfig gives; nothing here vouches for it.
            reasons.append(f"{pool.name}: declares no memory request on its inference container")
            continue
        fitting = [r for r in pool.replicas if r.free >= model.memory]
        wanted = model.replicas
        if len(fitting) < wanted and (model.min_replicas == 0
                                      or len(fitting) < model.min_replicas):
            reasons.append(_short_reason(pool, model, len(fitting)))
            continue
        # Most free memory first, then lowest index: Seldon's replica sorters.
        chosen = heapq.nsmallest(wanted, fitting, key=lambda r: (-r.free, r.index))
        for replica in chosen:
            replica.used += model.memory
            replica.models.append(model.name)
        indexes = tuple(sorted(r.index for r in chosen))
        if len(chosen) < wanted:
            return Placement(model.name, "partial", pool.name, indexes,
                             f"{len(chosen)} of {wanted} replicas fit (>= minReplicas "
                             f"{model.min_replicas}); {_short_reason(pool, model, len(chosen))}")
        return Placement(model.name, "scheduled", pool.name, indexes, "")
    return Placement(model.name, "failed", model.server, (), "; ".join(reasons)
                     or "no server")


def _short_reason(pool: Pool, model: ModelDemand, fit: int) -> str:
    if model.replicas > len(pool.replicas):
        return (f"{pool.name}: {model.replicas} replicas need {model.replicas} distinct server "
                f"replicas, the server has {len(pool.replicas)}")
    best = max((r.free for r in pool.replicas), default=0)
    return (f"{pool.name}: needs {human_bytes(model.memory)} on {model.replicas} distinct "
            f"replicas, {fit} have room (most free: {human_bytes(max(best, 0))})")


def plan_objects(environment: str, objects: Iterable[Mapping[str, Any]]) -> PlanReport:
    """Simulate placement for the Servers and Models among `objects`, and plan the
    InferenceServices against the environment's KServe capacity."""
    pools: list[Pool] = []
    models: list[ModelDemand] = []
    manifests = list(objects)
    for obj in manifests:
        if _kind(obj, "Server"):
            pools.append(pool_from_server(obj))
        elif _kind(obj, "Model"):
            models.append(demand_from_model(obj))
    placements = schedule(pools, models)
    kserve = plan_kserve(manifests, environment_document(manifests) or {})
    return {"environment": environment,
            "pools": [_pool_report(pool, placements) for pool in sorted(pools,
                                                                        key=lambda p: p.name)],
            "placements": [{"model": p.model, "outcome": p.outcome, "server": p.server,
                            "replicas": list(p.replicas), "reason": p.reason}
                           for p in placements],
            "kserve": kserve}


def _pool_report(pool: Pool, placements: list[Placement]) -> PoolReport:
    capacity = sum(r.capacity for r in pool.replicas)
    return {
        "server": pool.name,
        "replicas": len(pool.replicas),
        "physical_bytes": pool.physical,
        "configured_ratio": round(pool.ratio, 4),
        "capacity_bytes": capacity,
        "planned_bytes": pool.planned,
        "planned_ratio": round(pool.planned / pool.physical, 4) if pool.physical else 0.0,
        "headroom_bytes": capacity - pool.planned,
        "replica_used_bytes": [r.used for r in pool.replicas],
        "models": sorted({m for r in pool.replicas for m in r.models}),
        "unscheduled": sorted(p.model for p in placements
                              if p.outcome != "scheduled" and p.server == pool.name),
    }


def human_bytes(count: int) -> str:
    """Bytes as GiB with two decimals (MiB below 1 GiB): what a capacity table needs."""
    if abs(count) < 1 << 30:
        return f"{count / (1 << 20):.0f}Mi"
    return f"{count / (1 << 30):.2f}Gi"


def failures(report: PlanReport) -> list[PlacementReport]:
    """Seldon models that cannot be scheduled, then KServe models whose pods do not fit."""
    failed = [p for p in report["placements"] if p["outcome"] == "failed"]
    kserve = report.get("kserve")
    if kserve is not None:
        failed += [{"model": m["model"], "outcome": "failed", "server": "kserve",
                    "replicas": [], "reason": kserve_shortfall(kserve, m)}
                   for m in kserve["models"] if m["outcome"] == "failed"]
    return failed


def kserve_shortfall(kserve: KServeReport, model: KServeModelReport) -> str:
    return (f"{model['pods']} pod(s) ({model['counted_at']}) need "
            f"{resources_text(model['total'])}: more {_and(model['short_of'])} than "
            f"is left of the {kserve['capacity_source']}")


def _and(names: list[str]) -> str:
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def resources_text(r: Resources) -> str:
    text = f"{human_bytes(r['memory_bytes'])}, {r['cpu_millis'] / 1000:g} cpu"
    return f"{text}, {r['gpu']} gpu" if r["gpu"] else text


def kserve_lines(report: PlanReport, indent: str = "  ") -> list[str]:
    """The KServe capacity, what is planned on it and what does not fit, as text lines."""
    kserve = report.get("kserve")
    if kserve is None:
        return []
    lines = []
    count = len(kserve["models"])
    if kserve["capacity"] is not None:
        capacity = kserve["capacity"]
        load = (kserve["planned"]["memory_bytes"] / capacity["memory_bytes"]
                if capacity["memory_bytes"] else 0.0)
        lines.append(f"{indent}kserve ({kserve['capacity_source']}): {count} model(s), "
                     f"planned {resources_text(kserve['planned'])} of "
                     f"{resources_text(capacity)} (memory load {load:.2f}); at maxReplicas "
                     f"{resources_text(kserve['at_max'])}")
    else:
        lines.append(f"{indent}kserve: {count} model(s), planned "
                     f"{resources_text(kserve['planned'])} against no declared capacity")
    lines += [f"{indent}WARNING {warning}" for warning in kserve["warnings"]]
    for model in kserve["models"]:
        if model["outcome"] == "failed":
            lines.append(f"{indent}FAILED {model['model']}: {kserve_shortfall(kserve, model)}")
    return lines


def format_text(reports: list[PlanReport]) -> str:
    lines = []
    for report in reports:
        lines.append(f"environment {report['environment']}")
        lines.append(f"  {'server':<18} {'replicas':>8} {'physical':>10} {'ratio':>6} "
                     f"{'capacity':>10} {'planned':>10} {'load':>6} {'headroom':>10}")
        for pool in report["pools"]:
            lines.append(
                f"  {pool['server']:<18} {pool['replicas']:>8} "
                f"{human_bytes(pool['physical_bytes']):>10} {pool['configured_ratio']:>6.2f} "
                f"{human_bytes(pool['capacity_bytes']):>10} "
                f"{human_bytes(pool['planned_bytes']):>10} {pool['planned_ratio']:>6.2f} "
                f"{human_bytes(pool['headroom_bytes']):>10}")
        scheduled = sum(p["outcome"] == "scheduled" for p in report["placements"])
        lines.append(f"  {scheduled} of {len(report['placements'])} models fully scheduled")
        for placement in report["placements"]:
            if placement["outcome"] != "scheduled":
                lines.append(f"  {placement['outcome'].upper()} {placement['model']}: "
                             f"{placement['reason']}")
        lines += kserve_lines(report)
    return "\n".join(lines) + "\n"
