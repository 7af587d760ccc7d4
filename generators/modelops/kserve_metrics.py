"""The metrics KServe's model servers really export, for the alert rules of KServe models.

A KServe InferenceService in Standard mode has no Seldon agent in front of it: the only per-model
metrics are the runtime's own (Knative adds request metrics in Knative mode). Two runtimes
matter here, and the tests start both and find every name below, with its labels, on their real
`/metrics` after an inference:

- Triton Inference Server (the `kserve-tritonserver` runtime; metrics port 8002) exports
  `nv_inference_*` per model and version, labels `model` and `version`. Durations are cumulative
  microsecond counters, not histograms (Triton has summaries only behind a `--metrics-config`
  flag KServe's runtime does not set), so a latency is a mean:
  rate(`TRITON_REQUEST_DURATION_US`) / rate(`TRITON_REQUEST_SUCCESS`). A request counts once in
  `TRITON_REQUEST_SUCCESS` or `TRITON_REQUEST_FAILURE` (label `reason`: REJECTED, CANCELED,
  BACKEND, OTHER; a request that Triton refuses before the model, such as a wrong input shape,
  counts in neither); `TRITON_INFERENCE_COUNT` counts inferences (a batched request counts its
  batch size).
- The KServe Python ModelServer (custom `kserve.Model` predictors and the Python runtimes: the
  `kserve-container` of sklearn, xgboost, lightgbm, huggingface; on the REST port, `/metrics`)
  exports Prometheus histograms in seconds, label `model_name`, for each handler stage. It has no
  error counter: `KSERVE_PREDICT_SECONDS` observes every predict call, failed or not.

`METRICS` lists every exported series with who exports it and its labels, the way
`monitoring.METRICS` does for Seldon and MLServer.
"""

from __future__ import annotations

from modelops.monitoring import Metric

TRITON = "Triton Inference Server (tritonserver, metrics port 8002)"
KSERVE_SERVER = "KServe Python ModelServer (REST port, /metrics)"

TRITON_REQUEST_SUCCESS = "nv_inference_request_success"
TRITON_REQUEST_FAILURE = "nv_inference_request_failure"
TRITON_REQUEST_DURATION_US = "nv_inference_request_duration_us"
TRITON_QUEUE_DURATION_US = "nv_inference_queue_duration_us"
TRITON_COMPUTE_INFER_DURATION_US = "nv_inference_compute_infer_duration_us"
TRITON_INFERENCE_COUNT = "nv_inference_count"
TRITON_EXECUTION_COUNT = "nv_inference_exec_count"
TRITON_PENDING_REQUESTS = "nv_inference_pending_request_count"  # a gauge

# Histogram base names: the series are <name>_bucket (with `le`), <name>_sum and <name>_count.
KSERVE_PREDICT_SECONDS = "request_predict_seconds"
KSERVE_PREPROCESS_SECONDS = "request_preprocess_seconds"
KSERVE_POSTPROCESS_SECONDS = "request_postprocess_seconds"

TRITON_LABELS = ("model", "version")
KSERVE_LABELS = ("model_name",)


def _histogram(base: str) -> tuple[Metric, ...]:
    return (Metric(f"{base}_bucket", KSERVE_SERVER, (*KSERVE_LABELS, "le")),
            Metric(f"{base}_sum", KSERVE_SERVER, KSERVE_LABELS),
            Metric(f"{base}_count", KSERVE_SERVER, KSERVE_LABELS))


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric(TRITON_REQUEST_SUCCESS, TRITON, TRITON_LABELS),
    Metric(TRITON_REQUEST_FAILURE, TRITON, (*TRITON_LABELS, "reason")),
    Metric(TRITON_REQUEST_DURATION_US, TRITON, TRITON_LABELS),
    Metric(TRITON_QUEUE_DURATION_US, TRITON, TRITON_LABELS),
    Metric(TRITON_COMPUTE_INFER_DURATION_US, TRITON, TRITON_LABELS),
    Metric(TRITON_INFERENCE_COUNT, TRITON, TRITON_LABELS),
    Metric(TRITON_EXECUTION_COUNT, TRITON, TRITON_LABELS),
    Metric(TRITON_PENDING_REQUESTS, TRITON, TRITON_LABELS),
    *_histogram(KSERVE_PREDICT_SECONDS),
    *_histogram(KSERVE_PREPROCESS_SECONDS),
    *_histogram(KSERVE_POSTPROCESS_SECONDS),
)}
