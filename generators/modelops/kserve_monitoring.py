"""The metrics KServe predictors really export, by deployment mode, and the alerts built on them.

KServe itself exports no request metrics; what exists depends on who sits in the request path
(../shared/research/kserve.md, "Metrics"):

- Knative mode: Knative's queue-proxy beside every predictor, on its user-metrics port
  (`http-usermetric`, 9091). Up to Knative 1.18 (OpenCensus) the latency histogram is
  `revision_app_request_latencies` in milliseconds and the counter `revision_app_request_count`
  with `response_code_class`, both labelled `service_name`; from 1.19 (OpenTelemetry,
  knative/serving#16290) one histogram `kn_serving_invocation_duration_seconds` in seconds,
  labelled `kn_service_name` and `http_response_status_code`. The Knative Service of an
  InferenceService is `<name>-predictor`.
- Standard mode: only the runtime's own. KServe's Python model server has the histogram
  `request_predict_seconds{model_name}` and no error counter, so no error-rate alert exists
  for it; Triton has cumulative counters `nv_inference_request_duration_us`,
  `nv_inference_request_success` and `nv_inference_request_failure{model}` and no histogram,
  so its latency is a mean, the nearest real signal to a p99.

Every metric is listed in `METRICS` with its exporter, like `monitoring.METRICS`, so tests can
check the rules read nothing else. Which exporter a Standard-mode runtime is follows from its
image (`kserve_settings.server_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from modelops import kserve_metrics
from modelops.kserve_metrics import (
    KSERVE_PREDICT_SECONDS,
    TRITON_REQUEST_DURATION_US,
    TRITON_REQUEST_FAILURE,
    TRITON_REQUEST_SUCCESS,
)
from modelops.kserve_settings import deployment_mode, server_of
from modelops.monitoring import WINDOW, Metric
from modelops.spec import KServeSettings

Exporter = Literal["knative-opencensus", "knative-otel", "kserve-python", "triton"]

# The exporters with no error counter, and why: their models get no error-rate rule.
NO_ERROR_COUNTER: dict[Exporter, str] = {
    "kserve-python": "KServe's Python model server exports no error counter: no error-rate "
                     "alert exists for this model in Standard mode",
}

KNATIVE_OTEL_SINCE = (1, 19)
USER_METRICS_PORT = "http-usermetric"
KSERVE_SERVER_PORT = 8080
TRITON_METRICS_PORT = 8002

_QUEUE_PROXY = f"Knative queue-proxy (predictor pods, port {USER_METRICS_PORT} 9091)"
_KNATIVE_OLD = ("namespace", "service_name", "configuration_name", "revision_name",
                "response_code", "response_code_class")
_KNATIVE_NEW = ("namespace", "kn_service_name", "kn_configuration_name", "kn_revision_name",
                "http_response_status_code")
_KSERVE = f"KServe Python model server (predictor pods, port {KSERVE_SERVER_PORT})"
_TRITON = f"Triton Inference Server (predictor pods, port {TRITON_METRICS_PORT})"


def _scraped(name: str, exporter: str) -> Metric:
    """A runtime metric as Prometheus stores it: the labels the real server exports
    (`kserve_metrics`, checked against it) plus the namespace of the pod scraped."""
    return Metric(name, exporter, ("namespace", *kserve_metrics.METRICS[name].labels))


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("revision_app_request_latencies_bucket", f"{_QUEUE_PROXY}, Knative <= 1.18, ms",
           (*_KNATIVE_OLD, "le")),
    Metric("revision_app_request_count", f"{_QUEUE_PROXY}, Knative <= 1.18", _KNATIVE_OLD),
    Metric("kn_serving_invocation_duration_seconds_bucket", f"{_QUEUE_PROXY}, Knative >= 1.19",
           (*_KNATIVE_NEW, "le")),
    Metric("kn_serving_invocation_duration_seconds_count", f"{_QUEUE_PROXY}, Knative >= 1.19",
           _KNATIVE_NEW),
    _scraped(f"{KSERVE_PREDICT_SECONDS}_bucket", _KSERVE),
    _scraped(TRITON_REQUEST_DURATION_US, _TRITON),
    _scraped(TRITON_REQUEST_SUCCESS, _TRITON),
    _scraped(TRITON_REQUEST_FAILURE, _TRITON),
)}


@dataclass(frozen=True)
class Signals:
    """PromQL for one model's latency (seconds) and error ratio, and what each really is."""

    latency: str
    latency_signal: str
    errors: str | None
    errors_signal: str


def knative_version(settings: KServeSettings) -> tuple[int, int]:
    assert settings.knative_version is not None, "the loader requires it in Knative mode"
    major, minor = settings.knative_version.split(".")
    return int(major), int(minor)


def exporter(settings: KServeSettings, runtime: str) -> Exporter:
    """Who exports a model's request metrics in this environment, for its runtime."""
    if deployment_mode(settings) == "Knative":
        return ("knative-otel" if knative_version(settings) >= KNATIVE_OTEL_SINCE
                else "knative-opencensus")
    return server_of(settings.runtimes[runtime])


def _by_model(expr: str, label: str, pattern: str) -> str:
    return f'label_replace({expr}, "model", "$1", "{label}", "{pattern}")'


def signals(namespace: str, model: str, source: Exporter) -> Signals:
    ns = f'namespace="{namespace}"'
    if source in ("knative-opencensus", "knative-otel"):
        old = source == "knative-opencensus"
        label = "service_name" if old else "kn_service_name"
        service = f'{label}="{model}-predictor"'
        buckets = ("revision_app_request_latencies_bucket" if old
                   else "kn_serving_invocation_duration_seconds_bucket")
        count = ("revision_app_request_count" if old
                 else "kn_serving_invocation_duration_seconds_count")
        failed = 'response_code_class="5xx"' if old else 'http_response_status_code=~"5.."'
        scale = " / 1000" if old else ""

        def rate(metric: str, *extra: str) -> str:
            matchers = ", ".join([ns, service, *extra])
            return _by_model(f"rate({metric}{{{matchers}}}[{WINDOW}])", label,
                             "(.+)-predictor")

        return Signals(
            f"histogram_quantile(0.99, sum by (model, le) ({rate(buckets)})){scale}",
            f"Knative queue-proxy {buckets} (a true p99{', in ms' if old else ''}) of the "
            f"Knative Service {model}-predictor",
            f"sum by (model) ({rate(count, failed)}) / sum by (model) ({rate(count)})",
            f"Knative queue-proxy {count}: 5xx answers over all answers")
    if source == "kserve-python":
        matchers = f'{ns}, model_name="{model}"'
        bucket = _by_model(f"rate({KSERVE_PREDICT_SECONDS}_bucket{{{matchers}}}[{WINDOW}])",
                           "model_name", "(.+)")
        return Signals(
            f"histogram_quantile(0.99, sum by (model, le) ({bucket}))",
            "KServe Python model server request_predict_seconds (a true p99 of predict)",
            None, NO_ERROR_COUNTER["kserve-python"])
    matchers = f'{ns}, model="{model}"'

    def triton(metric: str) -> str:
        return f"sum by (model) (rate({metric}{{{matchers}}}[{WINDOW}]))"

    answered = f"({triton(TRITON_REQUEST_SUCCESS)} + {triton(TRITON_REQUEST_FAILURE)})"
    return Signals(
        f"{triton(TRITON_REQUEST_DURATION_US)} / {answered} / 1e6",
        "Triton nv_inference_request_duration_us over its requests: the mean, the nearest "
        "real signal (Triton has no latency histogram by default); fires later than p99",
        f"{triton(TRITON_REQUEST_FAILURE)} / {answered}",
        "Triton nv_inference_request_failure over all requests")


# Their own names: the thresholds' units depend on the exporter, and policies/alerts judges the
# Seldon rules' thresholds by name (policies/lib kserve_alerts holds the same two names).
LATENCY_ALERT = "KServeModelLatencyHigh"
ERROR_RATE_ALERT = "KServeModelErrorRateHigh"
NO_ERROR_SIGNAL = "none"


def rule(alert: str, expr: str, severity: str, summary: str, signal: str,
         model: str) -> dict[str, Any]:
    return {"alert": alert, "expr": expr, "for": "5m",
            "labels": {"model": model, "serving": "kserve", "severity": severity},
            "annotations": {"summary": summary, "signal": signal}}


def model_rules(namespace: str, model: str, source: Exporter, latency_ms: int,
                error_percent: float) -> list[dict[str, Any]]:
    """The latency rule and, where a signal exists, the error-rate rule of one model."""
    found = signals(namespace, model, source)
    seconds = latency_ms / 1000
    rules = [rule(LATENCY_ALERT, f"{found.latency} > {seconds:g}", "warning",
                  f"KServe model {model} latency above {latency_ms} ms for 5 minutes",
                  found.latency_signal, model)]
    if found.errors is not None:
        rules.append(rule(ERROR_RATE_ALERT,
                          f"{found.errors} > {error_percent / 100:g}", "critical",
                          f"KServe model {model} error rate above {error_percent:g} % for 5 "
                          "minutes", found.errors_signal, model))
    return rules


def scrape_endpoints(settings: KServeSettings) -> list[dict[str, Any]]:
    """What the predictors' PodMonitor scrapes in this environment's mode."""
    if deployment_mode(settings) == "Knative":
        return [{"port": USER_METRICS_PORT, "path": "/metrics", "interval": "15s"}]
    ports = sorted({TRITON_METRICS_PORT if exporter(settings, name) == "triton"
                    else KSERVE_SERVER_PORT for name in settings.runtimes})
    return [{"portNumber": port, "path": "/metrics", "interval": "15s"} for port in ports]
