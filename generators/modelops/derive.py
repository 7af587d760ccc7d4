"""From specs to the values templates place: every decision in one module, with provenance.

Templates stay free of logic; this module decides what objects an environment gets and every
value in them. Each value that comes from somewhere a user might ask about is wrapped in
`Sourced` (spec, environment default, derived-from-what, or platform rule). `render` unwraps
them for speed; `explain` replaces them with tokens, renders, and reads the tokens back out of
the rendered YAML to say where each field came from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from modelops import batch, batchspec, dashboards, kserve, monitoring, runtimes
from modelops.advice.annotations import advice_annotations
from modelops.endpoints import PIPELINE_NAME_REASON, model_endpoint, pipeline_name
from modelops.jobimage import smoke_image

# Re-exported (the PEP 484 `as` form): callers import ObjectPlan and unwrap from here.
from modelops.objects import ObjectPlan as ObjectPlan  # noqa: PLC0414
from modelops.objects import model_memory, model_replicas
from modelops.objects import object_annotations as _annotations
from modelops.objects import object_labels as _labels
from modelops.objects import unwrap as unwrap  # noqa: PLC0414
from modelops.provenance import (
    Sourced,
    derived,
    from_env,
    from_spec,
    platform,
)
from modelops.quantity import GIB, format_bytes, parse_bytes
from modelops.repository import LoadedEnvironment, LoadedModel
from modelops.spec import EnvironmentSpec, ServerPool, serving_target

LARGE_ARTIFACT = 2 * GIB
SMOKE_REQUEST_PATH = "/etc/modelops/smoke"


# ---------------------------------------------------------------- servers


def pool_largest_artifact(env: LoadedEnvironment, pool_name: str) -> Sourced:
    """The largest artifact a pool may host: declared, else the largest model placed on it."""
    pool = env.spec.spec.servers[pool_name]
    if pool.max_artifact_size is not None:
        return from_env(parse_bytes(pool.max_artifact_size),
                        f"spec.servers.{pool_name}.maxArtifactSize {pool.max_artifact_size}")
    sizes = [(parse_bytes(m.spec.spec.artifact.size), m.name) for m in env.models
             if m.spec.spec.server == pool_name]
    if not sizes:
        return derived(0, f"no model is placed on pool {pool_name!r} and it declares no "
                       "maxArtifactSize")
    size, name = max(sizes)
    return derived(size, f"largest artifact on pool {pool_name!r}: {name} "
                   f"({format_bytes(size)}); set maxArtifactSize to keep model PRs from "
                   "changing the Server")


def startup_window_seconds(largest: int) -> int:
    """60 s per started GiB, at least 60 s, at most 300 s, and at least 180 s above 2 GiB."""
    window = min(300, max(60, 60 * math.ceil(largest / GIB)))
    return max(window, 180) if largest > LARGE_ARTIFACT else window


def server_plan(env: LoadedEnvironment, pool_name: str) -> ObjectPlan:
    pool: ServerPool = env.spec.spec.servers[pool_name]
    where = f"spec.servers.{pool_name}"
    largest = pool_largest_artifact(env, pool_name)
    window = startup_window_seconds(largest.value)
    period = 10
    size = format_bytes(largest.value) if largest.value else "none"
    how = (f"{window} s window for the largest artifact ({size}; {largest.origin}): "
           "60 s per GiB, 60-300 s, >= 180 s above 2 GiB")
    caps = runtimes.capabilities(pool.runtime, pool.extra_capabilities)
    limits: dict[str, Any] = {"memory": from_env(pool.memory, f"{where}.memory")}
    if pool.gpu:
        limits["nvidia.com/gpu"] = from_env(pool.gpu, f"{where}.gpu")
    values = {
        "name": pool_name,
        "namespace": from_env(env.spec.spec.namespace, "spec.namespace"),
        "labels": _labels(env.name, pool_name, "server"),
        "annotations": _annotations(
            "Server", env.doc.display,
            **{"modelops.dev/max-artifact-size": derived(
                format_bytes(largest.value) if largest.value else "0", largest.origin),
               "modelops.dev/capabilities": ",".join(caps)}),
        "server_config": from_env(pool.runtime, f"{where}.runtime"),
        "replicas": from_env(pool.replicas, f"{where}.replicas"),
        "extra_capabilities": (from_env(sorted(pool.extra_capabilities),
                                        f"{where}.extraCapabilities")
                               if pool.extra_capabilities else None),
        "container": runtimes.INFERENCE_CONTAINER[pool.runtime],
        "requests": {"cpu": from_env(pool.cpu, f"{where}.cpu"),
                     "memory": from_env(pool.memory, f"{where}.memory")},
        "limits": limits,
        "startup_period": platform(period, "startup probe period"),
        "startup_failure_threshold": derived(window // period, how),
        "overcommit": from_env(str(pool.overcommit_percent), f"{where}.overcommitPercent"),
        "agent_container": runtimes.AGENT_CONTAINER,
    }
    return ObjectPlan("server.yaml.j2", "Server", pool_name, "environment",
                      env.doc.display, values)


# ---------------------------------------------------------------- models


def topic_name(env: EnvironmentSpec, kind: str, name: str, direction: str) -> str:
    return f"{env.kafka.topic_prefix}.{env.namespace}.{kind}.{name}.{direction}"


def _topic_plans(env: LoadedEnvironment, kind: str, name: str, group: str,
                 source: str) -> Iterator[ObjectPlan]:
    spec = env.spec.spec
    kafka = spec.kafka
    for direction in ("inputs", "outputs"):
        topic = topic_name(spec, kind, name, direction)
        yield ObjectPlan("kafkatopic.yaml.j2", "KafkaTopic", topic, group, source, {
            "name": derived(topic, f"Seldon's topic for {kind} {name} {direction}: "
                            "<topicPrefix>.<namespace>.<kind>.<name>.<direction>"),
            "namespace": from_env(kafka.namespace, "spec.kafka.namespace"),
            "labels": {**_labels(env.name, name, "kafka-topic"),
                       "strimzi.io/cluster": from_env(kafka.cluster, "spec.kafka.cluster")},
            "annotations": _annotations("KafkaTopic", source),
            "partitions": from_env(kafka.partitions, "spec.kafka.partitions"),
            "replicas": from_env(kafka.replication_factor, "spec.kafka.replicationFactor"),
            "min_isr": from_env(kafka.min_in_sync_replicas, "spec.kafka.minInSyncReplicas"),
            "retention_ms": derived(kafka.retention_hours * 3_600_000,
                                    f"environment.yaml spec.kafka.retentionHours "
                                    f"{kafka.retention_hours} in milliseconds"),
        })


def _model_object(env: LoadedEnvironment, owner: LoadedModel, name: Any, component: str,
                  storage_uri: Sourced, memory: Sourced, requirements: Sourced,
                  replicas: tuple[Sourced, Sourced], extra: dict[str, Any]) -> ObjectPlan:
    spec = env.spec.spec
    secret = spec.artifacts.storage_secret
    plain_name = name.value if isinstance(name, Sourced) else name
    annotations = _annotations("Model", owner.doc.display, **extra.pop("annotations", {}))
    values: dict[str, Any] = {
        "name": name,
        "namespace": from_env(spec.namespace, "spec.namespace"),
        "labels": _labels(env.name, plain_name, component, owner.spec.metadata.owner),
        "annotations": annotations,
        "storage_uri": storage_uri,
        "secret_name": (from_env(secret, "spec.artifacts.storageSecret")
                        if secret else None),
        "requirements": requirements,
        "memory": memory,
        "server": from_spec(owner.spec.spec.server, "spec.server"),
        "replicas": replicas[0],
        "min_replicas": replicas[0],
        "max_replicas": replicas[1],
    }
    values.update(extra)
    return ObjectPlan("model.yaml.j2", "Model", plain_name, owner.name,
                      owner.doc.display, values)


def _auxiliary_server(model: LoadedModel, pool: str | None, field: str) -> Sourced:
    if pool is not None:
        return from_spec(pool, f"spec.{field}.server")
    return from_spec(model.spec.spec.server, f"spec.server (spec.{field}.server unset)")


def model_plans(env: LoadedEnvironment, model: LoadedModel) -> list[ObjectPlan]:
    """Every object one ModelDeployment renders to, in a fixed order."""
    spec_env = env.spec.spec
    spec = model.spec.spec
    if serving_target(spec, spec_env) == "kserve":
        return [*kserve.model_plans(env, model), *_job_plans(env, model)]
    name = model.name
    group = name
    source = model.doc.display
    placement = runtimes.FRAMEWORKS[spec.framework]
    requirements = derived(list(placement.requirements),
                           f"framework {spec.framework} runs on {placement.runtime}")
    replicas = model_replicas(spec_env, model)
    memory = model_memory(spec_env, model)
    plans: list[ObjectPlan] = []
    main_extra: dict[str, Any] = {
        "annotations": {"modelops.dev/artifact-size": from_spec(spec.artifact.size,
                                                                "spec.artifact.size"),
                        **advice_annotations(spec_env, spec)},
    }
    if spec.logger is not None:
        main_extra["logger_percent"] = from_spec(spec.logger.percent, "spec.logger.percent")
    plans.append(_model_object(env, model, from_spec(name, "metadata.name"), "model",
                               from_spec(spec.artifact.uri, "spec.artifact.uri"), memory,
                               requirements, replicas, main_extra))
    plans.extend(_topic_plans(env, "model", name, group, source))

    if spec.explainer is not None:
        explainer = spec.explainer
        plans.append(_model_object(
            env, model, derived(f"{name}-explainer", "metadata.name + '-explainer'"),
            "explainer", from_spec(explainer.uri, "spec.explainer.uri"),
            from_spec(explainer.memory, "spec.explainer.memory") if explainer.memory
            else memory, derived(list(runtimes.EXPLAINER_REQUIREMENTS),
                                 "alibi-explain runs on MLServer"),
            replicas, {"explainer": {"type": from_spec(explainer.type, "spec.explainer.type"),
                                     "model_ref": from_spec(name, "metadata.name")},
                       "server": _auxiliary_server(model, explainer.server, "explainer")}))
        plans.extend(_topic_plans(env, "model", f"{name}-explainer", group, source))

    rollout = spec.rollout
    if rollout is not None and rollout.candidate is not None:
        candidate = f"{name}-candidate"
        plans.append(_model_object(
            env, model, derived(candidate, "metadata.name + '-candidate'"), "candidate",
            from_spec(rollout.candidate.uri, "spec.rollout.candidate.uri"), memory,
            requirements, replicas,
            {"annotations": {"modelops.dev/artifact-size": from_spec(
                spec.artifact.size, "spec.artifact.size (candidate assumed the same size)")}}))
        plans.extend(_topic_plans(env, "model", candidate, group, source))
        plans.append(_experiment_plan(env, model, candidate))

    if spec.drift is not None or spec.processing is not None:
        plans.extend(_pipeline_plans(env, model))

    plans.extend(_job_plans(env, model))
    return plans


def _job_plans(env: LoadedEnvironment, model: LoadedModel) -> list[ObjectPlan]:
    """The Jobs that call a model on either target: the PostSync smoke Job (and its request)
    and the CronJob of its scheduled batch."""
    plans = [_smoke_configmap_plan(env, model)] if model.spec.spec.smoke is not None else []
    plans.append(_smoke_job_plan(env, model))
    if model.spec.spec.batch is not None:
        plans.append(batch.cronjob_plan(env, model))
    return plans


def _experiment_plan(env: LoadedEnvironment, model: LoadedModel, candidate: str) -> ObjectPlan:
    rollout = model.spec.spec.rollout
    assert rollout is not None and rollout.candidate is not None
    weight = rollout.candidate.weight
    values: dict[str, Any] = {
        "name": derived(f"{model.name}-rollout", "metadata.name + '-rollout'"),
        "namespace": from_env(env.spec.spec.namespace, "spec.namespace"),
        "labels": _labels(env.name, model.name, "experiment", model.spec.metadata.owner),
        "annotations": _annotations("Experiment", model.doc.display, **{
            "modelops.dev/rollout-strategy": from_spec(rollout.strategy,
                                                       "spec.rollout.strategy")}),
        "default": from_spec(model.name, "metadata.name (served on the model's own "
                             "endpoint)"),
    }
    if rollout.strategy == "canary":
        values["candidates"] = [
            {"name": from_spec(model.name, "metadata.name"),
             "weight": derived(100 - weight, f"100 - spec.rollout.candidate.weight {weight}")},
            {"name": derived(candidate, "metadata.name + '-candidate'"),
             "weight": from_spec(weight, "spec.rollout.candidate.weight")},
        ]
    else:
        values["candidates"] = [{"name": from_spec(model.name, "metadata.name"),
                                 "weight": platform(100, "mirror: the current model serves "
                                                    "all traffic")}]
        values["mirror"] = {"name": derived(candidate, "metadata.name + '-candidate'"),
                            "percent": from_spec(weight, "spec.rollout.candidate.weight")}
    return ObjectPlan("experiment.yaml.j2", "Experiment", f"{model.name}-rollout",
                      model.name, model.doc.display, values)


def _pipeline_plans(env: LoadedEnvironment, model: LoadedModel) -> Iterator[ObjectPlan]:
    spec = model.spec.spec
    name = model.name
    group = name
    source = model.doc.display
    chain: list[Sourced] = []
    if spec.processing is not None:
        chain += [from_spec(s, f"spec.processing.pre[{i}]")
                  for i, s in enumerate(spec.processing.pre)]
    chain.append(from_spec(name, "metadata.name"))
    if spec.processing is not None:
        chain += [from_spec(s, f"spec.processing.post[{i}]")
                  for i, s in enumerate(spec.processing.post)]
    steps: list[dict[str, Any]] = []
    for i, step in enumerate(chain):
        entry: dict[str, Any] = {"name": step}
        if i > 0:
            entry["inputs"] = [derived(chain[i - 1].value, "the previous step's outputs")]
        steps.append(entry)
    drift = spec.drift
    if drift is not None:
        detector = f"{name}-drift"
        steps.append({
            "name": derived(detector, "metadata.name + '-drift'"),
            "inputs": [derived(f"{name}.inputs", "the model step's inputs: the features the "
                               "model sees, the space its reference window was drawn from")],
            "batch": from_spec(drift.batch_size, "spec.drift.batchSize"),
        })
        yield _model_object(
            env, model, derived(detector, "metadata.name + '-drift'"), "drift-detector",
            from_spec(drift.reference, "spec.drift.reference"),
            from_spec(drift.memory, "spec.drift.memory") if drift.memory
            else platform("512Mi", "default drift detector memory (KS on a 10,000-row "
                          "reference fits comfortably)"),
            derived(list(runtimes.DRIFT_REQUIREMENTS), "alibi-detect runs on MLServer"),
            (platform(1, "one detector replica: drift is computed off the request path"),
             platform(1, "one detector replica")),
            {"server": _auxiliary_server(model, drift.server, "drift"),
             "annotations": {
                "modelops.dev/drift-artifact": platform(
                    "modelops drift build: model-settings.json, config.toml, x_ref.npy",
                    "storageUri holds the folder `modelops drift build` writes; Seldon's "
                    "agent loads its model-settings.json with mlserver_alibi_detect"),
                "modelops.dev/drift-p-value": from_spec(repr(drift.p_value),
                                                        "spec.drift.pValue"),
                "modelops.dev/drift-reference-rows": from_spec(str(drift.reference_rows),
                                                               "spec.drift.referenceRows"),
                "modelops.dev/drift-batch-size": from_spec(str(drift.batch_size),
                                                           "spec.drift.batchSize"),
            }})
        yield from _topic_plans(env, "model", detector, group, source)
    pipeline = pipeline_name(name)
    values = {
        "name": derived(pipeline, PIPELINE_NAME_REASON),
        "namespace": from_env(env.spec.spec.namespace, "spec.namespace"),
        "labels": _labels(env.name, name, "pipeline", model.spec.metadata.owner),
        "annotations": _annotations("Pipeline", source),
        "steps": steps,
        "output_steps": [derived(chain[-1].value, "the last step of the synchronous chain; "
                                 "the drift step stays off it and runs asynchronously")],
    }
    yield ObjectPlan("pipeline.yaml.j2", "Pipeline", pipeline, group, source, values)
    yield from _topic_plans(env, "pipeline", pipeline, group, source)


def smoke_request(model: LoadedModel) -> str | None:
    smoke = model.spec.spec.smoke
    if smoke is None:
        return None
    request = {"inputs": [{"name": i.name, "datatype": i.datatype, "shape": i.shape,
                           "data": i.data} for i in smoke.inputs]}
    return json.dumps(request, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _smoke_configmap_plan(env: LoadedEnvironment, model: LoadedModel) -> ObjectPlan:
    values = {
        "name": derived(f"smoke-{model.name}", "'smoke-' + metadata.name"),
        "namespace": from_env(env.spec.spec.namespace, "spec.namespace"),
        "labels": _labels(env.name, model.name, "smoke-test", model.spec.metadata.owner),
        "annotations": {
            "argocd.argoproj.io/sync-wave": platform("1", "sync wave: the request exists "
                                                     "before the PostSync Job reads it"),
            "modelops.dev/source": model.doc.display},
        "request": from_spec(smoke_request(model), "spec.smoke.inputs (as a V2 request)"),
    }
    return ObjectPlan("smoke-configmap.yaml.j2", "ConfigMap", f"smoke-{model.name}",
                      model.name, model.doc.display, values)


def smoke_max_latency_ms(env: LoadedEnvironment, model: LoadedModel) -> Sourced:
    """The latency the smoke test allows: the model's p99 threshold, else the environment's."""
    alerts = model.spec.spec.alerts
    if alerts is not None and alerts.p99_latency_ms is not None:
        return from_spec(alerts.p99_latency_ms, "spec.alerts.p99LatencyMs")
    return from_env(env.spec.spec.alerts.p99_latency_ms, "spec.alerts.p99LatencyMs")


def _smoke_job_plan(env: LoadedEnvironment, model: LoadedModel) -> ObjectPlan:
    spec_env = env.spec.spec
    spec = model.spec.spec
    latency = smoke_max_latency_ms(env, model)
    endpoint = model_endpoint(env, model)
    values = {
        "name": derived(f"smoke-{model.name}", "'smoke-' + metadata.name"),
        "namespace": from_env(spec_env.namespace, "spec.namespace"),
        "labels": _labels(env.name, model.name, "smoke-test", model.spec.metadata.owner),
        "image": smoke_image(env),
        "timeout": from_env(spec_env.smoke.timeout_seconds, "spec.smoke.timeoutSeconds"),
        "url": endpoint.url,
        "model": from_spec(model.name, "metadata.name"),
        "annotations": {
            "argocd.argoproj.io/hook": platform("PostSync", "Argo CD runs the smoke test after "
                                                "every sync, once all objects are healthy"),
            "argocd.argoproj.io/hook-delete-policy": platform(
                "BeforeHookCreation", "the last run's Job and logs stay until the next sync"),
            "modelops.dev/source": model.doc.display},
        "headers": [derived(f"{key}={value.value}", value.origin)
                    for key, value in sorted(endpoint.headers.items())],
        "max_latency_ms": latency,
        "request_timeout": kserve.cold_start_timeout(env, model),
        "has_request": spec.smoke is not None,
        "request_dir": SMOKE_REQUEST_PATH,
    }
    return ObjectPlan("smoke-job.yaml.j2", "Job", f"smoke-{model.name}",
                      model.name, model.doc.display, values)


# ---------------------------------------------------------------- environment-wide


def environment_plans(env: LoadedEnvironment) -> list[ObjectPlan]:
    spec = env.spec.spec
    source = env.doc.display
    ns = from_env(spec.namespace, "spec.namespace")
    mon_labels = dict(sorted(spec.monitoring.labels.items()))
    common = {"namespace": ns}
    plans = [
        ObjectPlan("namespace.yaml.j2", "Namespace", spec.namespace, "environment", source,
                   {**common, "name": ns,
                    "labels": {**_labels(env.name, spec.namespace, "namespace"),
                               "modelops.dev/managed": platform(
                                   "true", "marks namespaces the admission webhook guards")},
                    "annotations": _annotations("Namespace", source)}),
        ObjectPlan("environment-configmap.yaml.j2", "ConfigMap", "modelops-environment",
                   "environment", source,
                   {**common, "name": "modelops-environment",
                    "labels": _labels(env.name, "modelops-environment", "settings"),
                    "annotations": _annotations("ConfigMap", source),
                    "settings": derived(json.dumps(env.spec.model_dump(by_alias=True,
                                                                       exclude_none=True),
                                                   sort_keys=True, indent=2) + "\n",
                                        "environment.yaml as JSON, for the admission plugin")}),
    ]
    plans += [server_plan(env, pool) for pool in sorted(spec.servers)]
    plans.append(ObjectPlan("podmonitor.yaml.j2", "PodMonitor", "seldon-servers",
                            "environment", source,
                            {**common, "name": "seldon-servers",
                             "labels": {**_labels(env.name, "seldon-servers",
                                                            "monitoring"), **mon_labels},
                             "annotations": _annotations("PodMonitor", source)}))
    plans.append(ObjectPlan("servicemonitor.yaml.j2", "ServiceMonitor", "seldon-control-plane",
                            "environment", source,
                            {**common, "name": "seldon-control-plane",
                             "labels": {**_labels(env.name, "seldon-control-plane",
                                                            "monitoring"), **mon_labels},
                             "annotations": _annotations("ServiceMonitor", source)}))
    plans.append(_rules_plan(env, mon_labels))
    plans += kserve.environment_plans(env, mon_labels)
    plans.append(_dashboard_plan(env))
    errors_topic = f"{spec.kafka.topic_prefix}.{spec.namespace}.errors.errors"
    topic = next(_topic_plans(env, "errors", "errors", "environment", source))
    topic_values = dict(topic.values, name=derived(errors_topic, "Seldon's pipeline errors "
                                                   "topic: <topicPrefix>.<namespace>.errors"
                                                   ".errors"))
    plans.append(ObjectPlan("kafkatopic.yaml.j2", "KafkaTopic", errors_topic, "environment",
                            source, topic_values))
    return plans


def _dashboard_plan(env: LoadedEnvironment) -> ObjectPlan:
    spec = env.spec.spec
    name = "modelops-dashboard"
    values: dict[str, Any] = {
        "name": name,
        "namespace": from_env(spec.namespace, "spec.namespace"),
        "labels": {**_labels(env.name, name, "dashboard"),
                   "grafana_dashboard": platform("1", "the Grafana sidecar loads ConfigMaps "
                                                 "labelled grafana_dashboard=1")},
        "annotations": _annotations("ConfigMap", env.doc.display, **{
            "grafana_folder": platform("modelops", "Grafana folder, for sidecars configured "
                                       "with folderAnnotation: grafana_folder")}),
        "filename": derived(f"modelops-{env.name}.json", "'modelops-' + environment name"),
        "dashboard": derived(dashboards.dashboard_json(env.name, spec),
                             "latency, errors, drift and pool memory for this environment, "
                             "from environment.yaml thresholds"),
    }
    return ObjectPlan("grafana-dashboard.yaml.j2", "ConfigMap", name, "environment",
                      env.doc.display, values)


def _rules_plan(env: LoadedEnvironment, mon_labels: dict[str, str]) -> ObjectPlan:
    spec = env.spec.spec
    values: dict[str, Any] = {
        "name": "modelops-alerts",
        "namespace": from_env(spec.namespace, "spec.namespace"),
        "labels": {**_labels(env.name, "modelops-alerts", "alerts"), **mon_labels},
        "annotations": _annotations("PrometheusRule", env.doc.display),
        "groups": alert_groups(env),
    }
    return ObjectPlan("prometheusrule.yaml.j2", "PrometheusRule", "modelops-alerts",
                      "environment", env.doc.display, values)


def _rule(alert: str, expr: str, duration: str, severity: str, summary: str,
          signal: str, model: str | None = None) -> dict[str, Any]:
    # A model's own rules carry its name as a label: the same value `by (model)` gives the
    # alert, and it keeps them distinct from the environment-wide rule of the same name
    # (promtool's lint reports same-name, same-label rules as duplicates).
    labels = {"severity": severity} if model is None else {"model": model,
                                                            "severity": severity}
    return {"alert": alert, "expr": expr, "for": duration, "labels": labels,
            "annotations": {"summary": summary, "signal": signal}}


def _latency_rule(ns: str, models: str, seconds: float, scope: str,
                  model: str | None = None) -> dict[str, Any]:
    """Per-model latency for the models matched by the label matcher `models`."""
    return _rule("ModelLatencyHigh",
                 f"{monitoring.mean_latency_seconds(ns, models)} > {seconds:g}", "5m",
                 "warning", f"{scope} latency above {seconds * 1000:g} ms (the p99 threshold) "
                 "for 5 minutes",
                 "no per-model p99 exists (MLServer 1.7 exports model_infer_request_duration as "
                 "a Summary without quantiles; the agent's latency histogram has no model "
                 "label), so this is the agent's per-model mean: the nearest real signal, it "
                 "fires later than p99 would; ServerLatencyHigh has the true p99 per pool",
                 model)


def _error_rule(ns: str, models: str, percent: float, scope: str,
                model: str | None = None) -> dict[str, Any]:
    return _rule("ModelErrorRateHigh",
                 f"{monitoring.error_ratio(ns, models)} > {percent / 100:g}", "5m", "critical",
                 f"{scope} error rate above {percent:g} % for 5 minutes",
                 "the Seldon agent's per-model request counter; codes other than HTTP 200 "
                 "and gRPC OK count as errors", model)


def _drift_rules(ns: str) -> list[dict[str, Any]]:
    share = monitoring.drift_share(ns)
    percent = f"{monitoring.DRIFT_SHARE:.0%}"
    window = monitoring.DRIFT_WINDOW
    drift = f"{share} > {monitoring.DRIFT_SHARE:g}"
    return [
        _rule("ModelDriftDetected", drift, "15m", "info",
              f"Model inputs drifted: over {percent} of KS drift tests in {window} found drift",
              "MLServer's alibi-detect runtime records each test's is_drift in the "
              "seldon_model_drift histogram (its _sum over _count is the share of tests that "
              "found drift); drift alone never triggers a retrain"),
        _rule("ModelRetrainCandidate",
              f"({drift}) and on (model) ({monitoring.business_kpi_degraded(ns)} > 0)", "30m",
              "warning", "Model is a retrain candidate: its inputs drifted AND its business "
              "metric is degraded",
              f"drift as in ModelDriftDetected AND {monitoring.BUSINESS_KPI}{{namespace, model}} "
              "= 1, which the model's team records from its own business data (Seldon exports "
              "no business metric); without that series this alert never fires"),
    ]


def _batch_rule(ns: str) -> dict[str, Any]:
    return _rule("BatchRunFailed",
                 monitoring.failed_batch_runs(ns, batchspec.CRONJOB_PREFIX), "1m", "warning",
                 "The latest scheduled batch run of the model failed (its Job used up its "
                 "retries or passed spec.batch.deadlineSeconds); the next run starts a new "
                 "output folder",
                 "kube-state-metrics: kube_job_failed{condition=true} of the Jobs the CronJob "
                 "owns (kube_job_owner), counted while the Job started after the CronJob's "
                 "kube_cronjob_status_last_successful_time or it never succeeded")


def alert_groups(env: LoadedEnvironment) -> list[dict[str, Any]]:
    """Alert rules: one generic rule per signal, plus one per model that overrides it.

    A rule per model and signal would make a 1,000-model PrometheusRule exceed what the API
    server stores; `by (model)` already fires per model. Models with their own thresholds are
    carved out of the generic rule and get their own.
    """
    spec = env.spec.spec
    alerts = spec.alerts
    ns = spec.namespace
    overrides = [m for m in env.models if m.spec.spec.alerts is not None]
    # A regex that matches no model name (names are DNS labels, never "-").
    excluded = "|".join(sorted(m.name for m in overrides)) or "-"
    generic = f'model!~"{excluded}"'
    seconds = alerts.p99_latency_ms / 1000
    groups = [{"name": f"modelops.{env.name}.models", "rules": [
        _latency_rule(ns, generic, seconds, "Model"),
        _error_rule(ns, generic, alerts.error_rate_percent, "Model"),
    ]}]
    for model in overrides:
        own = model.spec.spec.alerts
        assert own is not None
        latency = (own.p99_latency_ms or alerts.p99_latency_ms) / 1000
        rate = own.error_rate_percent or alerts.error_rate_percent
        scope = f"Model {model.name}"
        groups.append({"name": f"modelops.{env.name}.model.{model.name}", "rules": [
            _latency_rule(ns, f'model="{model.name}"', latency, scope, model.name),
            _error_rule(ns, f'model="{model.name}"', rate, scope, model.name),
        ]})
    if any(m.spec.spec.drift is not None for m in env.models):
        groups.append({"name": f"modelops.{env.name}.drift", "rules": _drift_rules(ns)})
    if any(m.spec.spec.batch is not None for m in env.models):
        groups.append({"name": f"modelops.{env.name}.batch", "rules": [_batch_rule(ns)]})
    topics = f'topic=~"{spec.kafka.topic_prefix}\\\\.{ns}\\\\..*"'
    groups.append({"name": f"modelops.{env.name}.platform", "rules": [
        _rule("ServerLatencyHigh",
              f"{monitoring.server_p99_seconds(ns)} > {seconds:g}", "5m", "warning",
              f"Server pool p99 inference latency above {alerts.p99_latency_ms} ms for 5 "
              "minutes",
              "the Seldon agent's seldon_model_infer_api_seconds histogram: a true p99, per "
              "Server pool (it has no model label)"),
        _rule("ModelLoadBacklogHigh",
              f'sum(workqueue_depth{{name="model"}}) > {alerts.load_backlog}', "10m",
              "warning", f"More than {alerts.load_backlog} Models waiting to be reconciled",
              "Seldon's scheduler exports no queue metrics (2.10); the operator's "
              "controller-runtime work queue for Models is the nearest real signal"),
        _rule("KafkaConsumerLagHigh",
              f"sum by (consumergroup, topic) (kafka_consumergroup_lag{{{topics}}}) > "
              f"{alerts.kafka_lag_messages}", "5m", "warning",
              f"Kafka consumer lag above {alerts.kafka_lag_messages} messages",
              "Strimzi Kafka Exporter kafka_consumergroup_lag on this environment's topics"),
        _rule("KafkaConsumerLagSlow",
              f"sum by (consumergroup, topic) (kafka_consumergroup_lag{{{topics}}}) / "
              f"clamp_min(sum by (consumergroup, topic) (rate("
              f"kafka_consumergroup_current_offset{{{topics}}}[5m])), 0.001) > "
              f"{alerts.kafka_lag_seconds}", "5m", "warning",
              f"Kafka consumers more than {alerts.kafka_lag_seconds} s behind",
              "lag in messages divided by the consumption rate: the exporter has no lag in "
              "seconds"),
    ]})
    return groups


def plan_environment(env: LoadedEnvironment) -> list[ObjectPlan]:
    """Every object of one environment, in a stable order."""
    plans = environment_plans(env)
    for model in env.models:
        plans.extend(model_plans(env, model))
    return plans
