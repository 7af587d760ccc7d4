"""The metrics Seldon Core 2 and MLServer really export, and the PromQL built on them.

Alert rules (`derive.alert_groups`) and the per-environment Grafana dashboard
(`modelops.dashboards`) both take their queries from here, so a panel shows exactly the signal
an alert fires on. Every metric name is listed in `METRICS` with who exports it; the tests
check that rules and dashboards use nothing else.

What the upstream code really offers (checked against Seldon Core 2.10 sources and a running
MLServer 1.7.1; see ../shared/research/seldon-core-2.md):

- No per-model latency histogram. MLServer's `model_infer_request_duration` is a Summary
  without quantiles, and the agent's `seldon_model_infer_api_seconds` histogram has no model
  label. So per-model latency is the agent's mean (`seldon_model_infer_seconds_total` over
  `seldon_model_infer_total`), and a true p99 exists per Server pool only.
- Drift: MLServer's alibi-detect runtime observes each test's `is_drift` (0 or 1) into the
  histogram `seldon_model_drift`, labelled with the served name `<detector>_<version>`; its
  `_sum` over its `_count` is the share of tests that found drift.
- No business metric: whether a model still earns its keep (chargebacks, conversions) is only
  known to its team. The retrain alert reads the contract metric `modelops_business_kpi_degraded`
  (`namespace`, `model`; 1 = the team's KPI is below target), which teams record themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = "5m"
DRIFT_WINDOW = "1h"
# Share of KS tests in DRIFT_WINDOW that must find drift. At p <= 0.01 a same-distribution
# batch is flagged about 1 % of the time, so half of all tests is drift, not noise.
DRIFT_SHARE = 0.5
BUSINESS_KPI = "modelops_business_kpi_degraded"


@dataclass(frozen=True)
class Metric:
    name: str
    exporter: str
    labels: tuple[str, ...]


_AGENT = "Seldon agent (server pods, port metrics 9006)"
_KSM = "kube-state-metrics (Job and CronJob objects)"
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("seldon_model_infer_total", _AGENT,
           ("model", "model_internal", "server", "server_replica", "method_type", "code")),
    Metric("seldon_model_infer_seconds_total", _AGENT,
           ("model", "model_internal", "server", "server_replica", "method_type", "code")),
    Metric("seldon_model_infer_api_seconds_bucket", _AGENT,
           ("server", "server_replica", "method", "code", "le")),
    Metric("seldon_loaded_model_memory_bytes_gauge", _AGENT,
           ("server", "server_replica", "model_internal")),
    Metric("seldon_server_replica_memory_capacity_bytes_gauge", _AGENT,
           ("server", "server_replica")),
    Metric("seldon_server_replica_memory_capacity_overcommit_bytes_gauge", _AGENT,
           ("server", "server_replica")),
    Metric("seldon_model_drift_sum", "MLServer alibi-detect runtime (server-metrics 8082)",
           ("model_name", "model_version")),
    Metric("seldon_model_drift_count", "MLServer alibi-detect runtime (server-metrics 8082)",
           ("model_name", "model_version")),
    Metric("workqueue_depth", "Seldon operator (controller-runtime, :4000)", ("name",)),
    Metric("kafka_consumergroup_lag", "Strimzi Kafka Exporter", ("consumergroup", "topic")),
    Metric("kafka_consumergroup_current_offset", "Strimzi Kafka Exporter",
           ("consumergroup", "topic")),
    Metric(BUSINESS_KPI, "the model's team (recording rule or exporter); a modelops contract",
           ("model",)),
    Metric("kube_job_status_start_time", _KSM, ("job_name",)),
    Metric("kube_job_failed", _KSM, ("job_name", "condition")),
    Metric("kube_job_owner", _KSM, ("job_name", "owner_kind", "owner_name",
                                    "owner_is_controller")),
    Metric("kube_cronjob_status_last_successful_time", _KSM, ("cronjob",)),
)}


def selector(namespace: str, *matchers: str) -> str:
    return "{" + ", ".join([f'namespace="{namespace}"', *matchers]) + "}"


def per_model(metric: str, namespace: str, models: str, extra: tuple[str, ...] = ()) -> str:
    """`sum by (model) (rate(...))` of an agent counter for the models matched by `models`."""
    return f"sum by (model) (rate({metric}{selector(namespace, *extra, models)}[{WINDOW}]))"


def mean_latency_seconds(namespace: str, models: str) -> str:
    return (f"{per_model('seldon_model_infer_seconds_total', namespace, models)} / "
            f"{per_model('seldon_model_infer_total', namespace, models)}")


def error_ratio(namespace: str, models: str) -> str:
    errors = per_model("seldon_model_infer_total", namespace, models, ('code!~"200|OK"',))
    return f"{errors} / {per_model('seldon_model_infer_total', namespace, models)}"


def request_rate(namespace: str, models: str) -> str:
    return per_model("seldon_model_infer_total", namespace, models)


def server_p99_seconds(namespace: str) -> str:
    return (f"histogram_quantile(0.99, sum by (server, le) (rate("
            f"seldon_model_infer_api_seconds_bucket{selector(namespace)}[{WINDOW}])))")


def drift_share(namespace: str, models: str = ".+") -> str:
    """Share of drift tests that found drift, by the model the detector watches.

    Seldon serves the detector `<model>-drift` to MLServer as `<model>-drift_<version>`.
    """
    served = f'model_name=~"({models})-drift_[0-9]+"'

    def part(suffix: str) -> str:
        return (f'sum by (model) (label_replace(rate(seldon_model_drift_{suffix}'
                f'{selector(namespace, served)}[{DRIFT_WINDOW}]), "model", "$1", "model_name", '
                f'"(.+)-drift_[0-9]+"))')

    return f"{part('sum')} / {part('count')}"


def business_kpi_degraded(namespace: str, models: str = ".+") -> str:
    matcher = 'model=~"' + models + '"'
    return f"max by (model) ({BUSINESS_KPI}{selector(namespace, matcher)})"


def memory_by_server(metric: str, namespace: str) -> str:
    return f"sum by (server) ({metric}{selector(namespace)})"


def failed_batch_runs(namespace: str, prefix: str) -> str:
    """The CronJobs named `<prefix><model>` whose latest run failed, by model.

    A Job has failed when it carries the Failed condition (its pods used up the backoff limit
    or the Job passed its deadline), which `kube_job_failed{condition="true"}` reports. Failed
    Jobs stay listed up to the CronJob's history limit, so one counts only while it started
    after the CronJob's last success, or while the CronJob has never succeeded.
    """
    owned = f'owner_kind="CronJob", owner_name=~"{prefix}.+"'
    condition = 'condition="true"'
    failed = (f"max by (namespace, cronjob) (label_replace(("
              f"kube_job_status_start_time{selector(namespace)} and on (namespace, job_name) "
              f"(kube_job_failed{selector(namespace, condition)} == 1)) "
              f"* on (namespace, job_name) group_left (owner_name) "
              f"kube_job_owner{selector(namespace, owned)}, "
              f'"cronjob", "$1", "owner_name", "(.+)"))')
    success = f"kube_cronjob_status_last_successful_time{selector(namespace)}"
    latest = (f"({failed} > on (namespace, cronjob) {success}) or ({failed} unless on "
              f"(namespace, cronjob) {success})")
    return f'label_replace({latest}, "model", "$1", "cronjob", "{prefix}(.+)")'

