"""An object to render, and the metadata every rendered object carries.

`derive` plans the Seldon objects and the environment's, `batch` the CronJob of a scheduled
batch; both build `ObjectPlan`s with the same labels, provenance annotations and Argo CD sync
waves from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelops.provenance import Sourced, derived, from_spec, platform

# Argo CD applies waves in order; Seldon needs Servers before Models, Models before the
# Pipelines and Experiments that reference them, and topics before anything produces to them.
WAVES = {"Namespace": -2, "ConfigMap": -2, "KafkaTopic": -1, "PodMonitor": -1,
         "ServiceMonitor": -1, "PrometheusRule": -1, "Server": 0, "Model": 1,
         "Pipeline": 2, "Experiment": 3, "CronJob": 4}
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
    found: dict[str, Any] = {"argocd.argoproj.io/sync-wave": wave(kind),
                                   "modelops.dev/source": derived(source, "the source file")}
    found.update(extra)
    return found


def object_labels(env: str, name: str, component: str, owner: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "app.kubernetes.io/name": derived(name, "the model or object it belongs to"),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "modelops",
        "app.kubernetes.io/managed-by": "modelops",
        "modelops.dev/environment": derived(env, "the environment folder name"),
    }
    if owner is not None:
        found["modelops.dev/owner"] = from_spec(owner, "metadata.owner")
    return found
