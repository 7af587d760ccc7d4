"""The objects a model served by KServe renders to: its InferenceService and node caches.

KServe keeps canary and revision state in the cluster (kserve#6, #2130): in Knative mode
`canaryTrafficPercent` splits traffic between the latest revision and the revision that last
rolled out fully, which git never names. Here the split is always written out: the
InferenceService carries the candidate's URI as its latest revision and names the stable URI
(`spec.artifact.uri`) in the annotation `modelops.dev/stable-storage-uri`, so a reviewer, the
health check and the policies see which revision the canary splits against. Promoting the
candidate is setting `artifact.uri` to it and removing the rollout. Standard mode has
`spec.canary` (v0.20): the stable predictor keeps `artifact.uri` and the candidate is a second
predictor named `candidate`, both in git.

The deployment mode is written on every object, never left to the cluster default (kserve#4191);
`replicas.min: 0` is rendered as written, whatever the autoscaler does with it (policies judge
that, kserve#3514). A `mirror` rollout is rendered with its strategy annotation only, so the
policy that denies it on KServe (which has no mirroring) names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelops import kserve_monitoring
from modelops.advice.annotations import advice_annotations
from modelops.kserve_cache import cache_plans
from modelops.kserve_settings import deployment_mode
from modelops.objects import (
    ObjectPlan,
    model_memory,
    model_replicas,
    object_annotations,
    object_labels,
)
from modelops.provenance import Sourced, derived, from_env, from_spec, platform
from modelops.repository import LoadedEnvironment, LoadedModel
from modelops.spec import KServeSettings, serving_target

API_VERSION = "serving.kserve.io/v1beta1"
PROTOCOL_VERSION = "v2"
CANARY_PREDICTOR = "candidate"
CANARY_CONTAINER = "kserve-container"
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"
PROGRESS_DEADLINE_ANNOTATION = "serving.knative.dev/progress-deadline"
STABLE_URI_ANNOTATION = "modelops.dev/stable-storage-uri"
CANDIDATE_URI_ANNOTATION = "modelops.dev/candidate-storage-uri"
ROLLOUT_STRATEGY_ANNOTATION = "modelops.dev/rollout-strategy"


def kserve_settings(env: LoadedEnvironment) -> KServeSettings:
    settings = env.spec.spec.kserve
    assert settings is not None, "the loader requires spec.kserve for KServe models"
    return settings


def mode_value(env: LoadedEnvironment) -> Sourced:
    """The deployment mode by its current name, with where it came from."""
    settings = kserve_settings(env)
    mode = deployment_mode(settings)
    if mode == settings.deployment_mode:
        return from_env(mode, "spec.kserve.deploymentMode")
    return derived(mode, f"environment.yaml spec.kserve.deploymentMode "
                   f"{settings.deployment_mode!r}, KServe's deprecated name of {mode!r}")


def runtime_for(env: LoadedEnvironment, model: LoadedModel) -> Sourced:
    """The ClusterServingRuntime a model names: its own, else the first offering its format."""
    spec = model.spec.spec
    if spec.kserve is not None and spec.kserve.runtime is not None:
        return from_spec(spec.kserve.runtime, "spec.kserve.runtime")
    settings = kserve_settings(env)
    name = next(n for n in sorted(settings.runtimes)
                if spec.framework in settings.runtimes[n].formats)
    return derived(name, f"the first runtime of environment.yaml spec.kserve.runtimes (by "
                   f"name) serving {spec.framework}; written so KServe never picks another")


def _predictor_model(env: LoadedEnvironment, model: LoadedModel, storage_uri: Sourced,
                     memory: Sourced, runtime: Sourced) -> dict[str, Any]:
    spec = model.spec.spec
    offered = kserve_settings(env).runtimes[runtime.value]
    where = f"spec.kserve.runtimes.{runtime.value}"
    limits: dict[str, Any] = {"memory": memory}
    if offered.gpu:
        limits["nvidia.com/gpu"] = from_env(offered.gpu, f"{where}.gpu")
    return {
        "format": from_spec(spec.framework, "spec.framework"),
        "runtime": runtime,
        "protocol": platform(PROTOCOL_VERSION, "every modelops model speaks the V2 inference "
                             "protocol (the smoke and batch Jobs call it)"),
        "storage_uri": storage_uri,
        "requests": {"cpu": from_env(offered.cpu, f"{where}.cpu"), "memory": memory},
        "limits": limits,
    }


def _mode_annotations(env: LoadedEnvironment) -> dict[str, Sourced]:
    """The deployment mode, and the autoscaler (Standard) or progress deadline (Knative)."""
    settings = kserve_settings(env)
    mode = mode_value(env)
    if mode.value == "Standard":
        return {DEPLOYMENT_MODE_ANNOTATION: mode, AUTOSCALER_CLASS_ANNOTATION: from_env(
            settings.autoscaler, "spec.kserve.autoscaler")}
    return {DEPLOYMENT_MODE_ANNOTATION: mode, PROGRESS_DEADLINE_ANNOTATION: from_env(
        f"{settings.progress_deadline_seconds}s", "spec.kserve.progressDeadlineSeconds")}


@dataclass(frozen=True)
class RolloutShape:
    """How a rollout shapes the InferenceService: the URI the predictor serves, Knative's
    canary percentage or a Standard-mode canary predictor, and the annotations naming both."""

    served_uri: Sourced
    canary_traffic_percent: Sourced | None = None
    canary: dict[str, Any] | None = None
    annotations: dict[str, Sourced] = field(default_factory=dict)


def _rollout_shape(env: LoadedEnvironment, model: LoadedModel, minimum: Sourced,
             memory: Sourced, runtime: Sourced) -> RolloutShape:
    spec = model.spec.spec
    stable_uri = from_spec(spec.artifact.uri, "spec.artifact.uri")
    rollout = spec.rollout
    if rollout is None:
        return RolloutShape(stable_uri)
    strategy = {ROLLOUT_STRATEGY_ANNOTATION: from_spec(rollout.strategy,
                                                       "spec.rollout.strategy")}
    candidate = rollout.candidate
    if candidate is None:
        return RolloutShape(stable_uri, annotations=strategy)
    if rollout.strategy != "canary":
        unserved = from_spec(candidate.uri, "spec.rollout.candidate.uri (not served: KServe "
                             "cannot mirror)")
        return RolloutShape(stable_uri,
                            annotations={**strategy, CANDIDATE_URI_ANNOTATION: unserved})
    candidate_uri = from_spec(candidate.uri, "spec.rollout.candidate.uri")
    weight = from_spec(candidate.weight, "spec.rollout.candidate.weight")
    annotations = {**strategy, STABLE_URI_ANNOTATION: derived(
        spec.artifact.uri, "spec.artifact.uri: the revision the canary splits against")}
    if mode_value(env).value == "Knative":
        return RolloutShape(candidate_uri, canary_traffic_percent=weight, annotations=annotations)
    canary = {
        "name": platform(CANARY_PREDICTOR, "the canary predictor's name: KServe runs it as "
                         f"<name>-{CANARY_PREDICTOR}-predictor"),
        "min_replicas": derived(min(minimum.value, 1), "a canary runs fixed replicas, at "
                                "most the stable predictor's minReplicas"),
        "model": {**_predictor_model(env, model, candidate_uri, memory, runtime),
                  "container": platform(CANARY_CONTAINER, "the canary's model container "
                                        "needs a name (the CRD requires it)")},
        "traffic_percent": weight,
    }
    return RolloutShape(stable_uri, canary=canary, annotations=annotations)


def _error_signal_annotation(env: LoadedEnvironment, runtime: str) -> dict[str, Sourced]:
    """Says so on the object when its exporter has no error counter, so policies/alerts asks
    only for the latency alert (an error-rate rule there could never fire)."""
    source = kserve_monitoring.exporter(kserve_settings(env), runtime)
    why = kserve_monitoring.NO_ERROR_COUNTER.get(source)
    if why is None:
        return {}
    return {"modelops.dev/error-rate-signal": derived(
        kserve_monitoring.NO_ERROR_SIGNAL, f"runtime {runtime} in Standard mode: {why}")}


def inference_service_plan(env: LoadedEnvironment, model: LoadedModel) -> ObjectPlan:
    spec = model.spec.spec
    memory = model_memory(env.spec.spec, model)
    minimum, maximum = model_replicas(env.spec.spec, model)
    runtime = runtime_for(env, model)
    shape = _rollout_shape(env, model, minimum, memory, runtime)
    annotations = object_annotations(
        "InferenceService", model.doc.display, **_mode_annotations(env),
        **{"modelops.dev/artifact-size": from_spec(spec.artifact.size, "spec.artifact.size")},
        **_error_signal_annotation(env, runtime.value),
        **advice_annotations(env.spec.spec, spec), **shape.annotations)
    values: dict[str, Any] = {
        "name": from_spec(model.name, "metadata.name"),
        "namespace": from_env(env.spec.spec.namespace, "spec.namespace"),
        "labels": object_labels(env.name, model.name, "inference-service",
                                model.spec.metadata.owner),
        "annotations": annotations,
        "min_replicas": minimum,
        "max_replicas": maximum,
        "canary_traffic_percent": shape.canary_traffic_percent,
        "canary": shape.canary,
        "model": _predictor_model(env, model, shape.served_uri, memory, runtime),
    }
    return ObjectPlan("inferenceservice.yaml.j2", "InferenceService", model.name, model.name,
                      model.doc.display, values)


def cold_start_timeout(env: LoadedEnvironment, model: LoadedModel) -> Sourced | None:
    """How long the smoke Job's calls may wait for a model scaled to zero to start, or None
    (the client's default) for a model that always runs."""
    if serving_target(model.spec.spec, env.spec.spec) != "kserve" \
            or model_replicas(env.spec.spec, model)[0].value != 0:
        return None
    seconds = env.spec.spec.smoke.timeout_seconds
    return from_env(seconds, "spec.smoke.timeoutSeconds: the model scales to zero, so the "
                    "first call starts a pod and loads the artifact; it may wait as long as "
                    "the Job may run")


def model_plans(env: LoadedEnvironment, model: LoadedModel) -> list[ObjectPlan]:
    """The KServe objects of one model (the smoke test is planned with every model's)."""
    return [*cache_plans(env, model), inference_service_plan(env, model)]


def kserve_models(env: LoadedEnvironment) -> list[LoadedModel]:
    return [m for m in env.models if serving_target(m.spec.spec, env.spec.spec) == "kserve"]


def alert_groups(env: LoadedEnvironment) -> list[dict[str, Any]]:
    """A group per KServe model of an environment (the group policies/alerts looks for a model's
    own rules in), with its latency and, where a signal exists, error-rate rule."""
    settings = kserve_settings(env)
    alerts = env.spec.spec.alerts
    groups: list[dict[str, Any]] = []
    for model in kserve_models(env):
        own = model.spec.spec.alerts
        latency = (own.p99_latency_ms if own is not None and own.p99_latency_ms is not None
                   else alerts.p99_latency_ms)
        errors = (own.error_rate_percent if own is not None
                  and own.error_rate_percent is not None else alerts.error_rate_percent)
        source = kserve_monitoring.exporter(settings, runtime_for(env, model).value)
        groups.append({"name": f"modelops.{env.name}.model.{model.name}",
                       "rules": kserve_monitoring.model_rules(env.spec.spec.namespace,
                                                              model.name, source, latency,
                                                              errors)})
    return groups


def environment_plans(env: LoadedEnvironment, mon_labels: dict[str, str]) -> list[ObjectPlan]:
    """The predictors' PodMonitor and alert rules, when the environment serves KServe models."""
    if not kserve_models(env):
        return []
    settings = kserve_settings(env)
    source = env.doc.display
    namespace = from_env(env.spec.spec.namespace, "spec.namespace")
    monitor = "kserve-predictors"
    rules = "modelops-kserve-alerts"
    return [
        ObjectPlan("kserve-podmonitor.yaml.j2", "PodMonitor", monitor, "environment", source, {
            "name": monitor, "namespace": namespace,
            "labels": {**object_labels(env.name, monitor, "monitoring"), **mon_labels},
            "annotations": object_annotations("PodMonitor", source),
            "endpoints": derived(kserve_monitoring.scrape_endpoints(settings),
                                 f"what exports request metrics in {mode_value(env).value} "
                                 "mode (Knative's queue-proxy, or the runtime itself)")}),
        ObjectPlan("prometheusrule.yaml.j2", "PrometheusRule", rules, "environment", source, {
            "name": rules, "namespace": namespace,
            "labels": {**object_labels(env.name, rules, "alerts"), **mon_labels},
            "annotations": object_annotations("PrometheusRule", source),
            "groups": alert_groups(env)}),
    ]
