"""What every rendered object shares, whichever platform serves the model.

`derive` (Seldon Core 2 and the environment's objects), `kserve` (InferenceServices) and
`batch` (the CronJob of a scheduled batch) plan their objects with the same `ObjectPlan`, sync
waves, labels, annotations and the memory and replica values a spec resolves to, so no two of
them can label, order or size a model differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from modelops.provenance import Sourced, derived, from_env, from_spec, platform
from modelops.quantity import format_bytes, parse_bytes
from modelops.repository import LoadedModel
from modelops.spec import EnvironmentSpec

MIB = 2**20

# Argo CD applies waves in order; Seldon needs Servers before Models, Models before the
# Pipelines and Experiments that reference them, and topics before anything produces to them.
# An InferenceService follows its runtime (platform/kserve/runtimes/, synced by the platform
# Application before any environment's) and the LocalModelCache that warms its nodes.
WAVES = {"Namespace": -2, "ConfigMap": -2, "KafkaTopic": -1, "PodMonitor": -1,
         "ServiceMonitor": -1, "PrometheusRule": -1, "Server": 0, "LocalModelCache": 0,
         "Model": 1, "InferenceService": 1, "Pipeline": 2, "Experiment": 3, "CronJob": 4}
WAVE_REASONS = {
    "Namespace": "the namespace and settings exist before anything in them",
    "ConfigMap": "configuration exists before the workloads that read it",
    "KafkaTopic": "topics exist with the environment's replication before Seldon creates "
                  "them with its default of 1",
    "PodMonitor": "monitoring is in place before workloads start",
    "ServiceMonitor": "monitoring is in place before workloads start",
    "PrometheusRule": "alerts are in place before workloads start",
    "Server": "Servers come up before the Models scheduled onto them",
    "Model": "Models follow their Servers",
    "Pipeline": "Pipelines follow the Models they chain",
    "Experiment": "Experiments follow the Models they split traffic between",
    "LocalModelCache": "nodes start caching the artifacts before the InferenceService asks "
                       "for them",
    "InferenceService": "InferenceServices follow the node caches of their artifacts (their "
                        "ClusterServingRuntime is cluster-wide, synced before this "
                        "environment)",
    "CronJob": "a scheduled batch calls the model once it and the Pipeline or Experiment "
               "in front of it exist",
}


@dataclass(frozen=True)
class ObjectPlan:
    """One object to render: which template, with what values, into which file."""

    template: str
    kind: str
    name: str
    group: str  # "environment", or the model the object belongs to
    source: str  # the spec file this object comes from
    values: dict[str, Any] = field(repr=False)

    @property
    def path(self) -> str:
        """Where under rendered/ the object goes.

        Flat folders on purpose: a folder per model made writing 18,000 files six times
        slower. The model-name prefix keeps one model's objects together in any listing.
        """
        if self.group == "environment":
            return f"environment/{self.kind.lower()}-{self.name}.yaml"
        return f"models/{self.group}.{self.kind.lower()}-{self.name}.yaml"


def unwrap(value: Any) -> Any:
    """Plain values for rendering: every `Sourced` replaced by its value."""
    if type(value) is Sourced:
        return value.value
    if type(value) is dict:
        return {k: unwrap(v) for k, v in value.items()}
    if type(value) is list:
        return [unwrap(v) for v in value]
    return value


def wave(kind: str) -> Sourced:
    return platform(str(WAVES[kind]), f"sync wave: {WAVE_REASONS[kind]}")


def object_annotations(kind: str, source: str, **extra: Any) -> dict[str, Any]:
    annotations: dict[str, Any] = {"argocd.argoproj.io/sync-wave": wave(kind),
                                   "modelops.dev/source": derived(source, "the source file")}
    annotations.update(extra)
    return annotations


def object_labels(env: str, name: str, component: str, owner: str | None = None) -> dict[str, Any]:
    labels: dict[str, Any] = {
        "app.kubernetes.io/name": derived(name, "the model or object it belongs to"),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "modelops",
        "app.kubernetes.io/managed-by": "modelops",
        "modelops.dev/environment": derived(env, "the environment folder name"),
    }
    if owner is not None:
        labels["modelops.dev/owner"] = from_spec(owner, "metadata.owner")
    return labels


def model_memory(env: EnvironmentSpec, model: LoadedModel) -> Sourced:
    spec = model.spec.spec
    if spec.memory is not None:
        return from_spec(spec.memory, "spec.memory")
    factor = env.defaults.memory_factor
    size = parse_bytes(spec.artifact.size)
    memory = math.ceil(Fraction(size) * Fraction(str(factor)) / MIB) * MIB
    return derived(format_bytes(memory), f"spec.artifact.size {spec.artifact.size} × "
                   f"environment.yaml spec.defaults.memoryFactor {factor}, rounded up to Mi")


def model_replicas(env: EnvironmentSpec, model: LoadedModel) -> tuple[Sourced, Sourced]:
    replicas = model.spec.spec.replicas
    if replicas is not None:
        return (from_spec(replicas.min, "spec.replicas.min"),
                from_spec(replicas.max, "spec.replicas.max"))
    return (from_env(env.defaults.replicas.min, "spec.defaults.replicas.min"),
            from_env(env.defaults.replicas.max, "spec.defaults.replicas.max"))
