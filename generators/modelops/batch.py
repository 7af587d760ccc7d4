"""The CronJob that scores a model's `spec.batch` input on its schedule.

Neither Seldon Core 2 nor KServe has a batch resource, so a model with `spec.batch` gets a
`CronJob` running `modelops batch run` in the platform's own image against the endpoint the
model answers on (`endpoints.model_endpoint`: Seldon's mesh with the `seldon-model` header, or
the KServe predictor), with the restricted pod of the smoke Job.

One scheduled run is one Job, and every retry of it must continue that run rather than start
another: the runner keeps its shards under `<output>/<run id>/` and finishes only the missing
ones when started again with the same run id. The Job controller labels each pod it creates
with its Job's name (`batch.kubernetes.io/job-name`), and the CronJob controller names each
Job after its schedule time, so the run id read from that label through the downward API is the
same for all retries of one run and new for the next run.
"""

from __future__ import annotations

from typing import Any

from modelops import batchspec
from modelops.endpoints import model_endpoint
from modelops.jobimage import smoke_image
from modelops.objects import ObjectPlan, object_annotations, object_labels
from modelops.provenance import Sourced, derived, from_env, from_spec, platform
from modelops.repository import LoadedEnvironment, LoadedModel

RUN_ID_VARIABLE = "MODELOPS_BATCH_RUN_ID"
RUN_ID_FIELD = "metadata.labels['batch.kubernetes.io/job-name']"
# Exit status 2 is bad input or usage (modelops.errors): a retry reads the same input again.
FAIL_JOB_EXIT_CODES = [2]
STARTING_DEADLINE_SECONDS = 300
BACKOFF_LIMIT = 3
JOBS_HISTORY_LIMIT = 3


def cronjob_plan(env: LoadedEnvironment, model: LoadedModel) -> ObjectPlan:
    batch = model.spec.spec.batch
    assert batch is not None, "only a model with spec.batch has a batch CronJob"
    name = batchspec.cronjob_name(model.name)
    source = model.doc.display
    values: dict[str, Any] = {
        "name": derived(name, f"'{batchspec.CRONJOB_PREFIX}' + metadata.name"),
        "namespace": from_env(env.spec.spec.namespace, "spec.namespace"),
        "labels": object_labels(env.name, model.name, "batch", model.spec.metadata.owner),
        "annotations": object_annotations("CronJob", source),
        "schedule": from_spec(batch.schedule, "spec.batch.schedule"),
        "concurrency_policy": platform("Forbid", "a run never starts while the previous one "
                                       "still scores: both would write the same predictions"),
        "starting_deadline_seconds": platform(
            STARTING_DEADLINE_SECONDS, "a run that cannot start within this many seconds of "
            "its schedule time is skipped (counted as missed), not started late"),
        "successful_jobs_history_limit": platform(JOBS_HISTORY_LIMIT, "the last runs' Jobs "
                                                  "and logs stay for inspection"),
        "failed_jobs_history_limit": platform(JOBS_HISTORY_LIMIT, "the last failed runs' Jobs "
                                              "and logs stay for inspection"),
        "backoff_limit": platform(BACKOFF_LIMIT, "a failed pod is retried under the same run "
                                  "id, so the retry resumes the run's missing shards"),
        "active_deadline_seconds": from_spec(batch.deadline_seconds,
                                             "spec.batch.deadlineSeconds"),
        "fail_job_exit_codes": platform(FAIL_JOB_EXIT_CODES, "exit status 2 is bad input or "
                                        "usage: retrying would read the same input again"),
        "image": smoke_image(env),
        "args": runner_args(env, model),
        "run_id_variable": RUN_ID_VARIABLE,
        "run_id_field": platform(RUN_ID_FIELD, "the Job's name, which every pod (retry) of "
                                 "one scheduled run shares: the run id"),
    }
    return ObjectPlan("batch-cronjob.yaml.j2", "CronJob", name, model.name, source, values)


def runner_args(env: LoadedEnvironment, model: LoadedModel) -> list[Any]:
    """`modelops batch run ...` as the container's args, each value with its origin."""
    batch = model.spec.spec.batch
    assert batch is not None
    endpoint = model_endpoint(env, model)
    fmt = batchspec.input_format(batch)
    assert fmt is not None, "the loader refuses a batch whose format cannot be told"
    args: list[Any] = ["batch", "run", "--url", endpoint.url,
                       "--model", from_spec(model.name, "metadata.name"),
                       "--protocol", "http"]
    for key, value in sorted(endpoint.headers.items()):
        args += ["--header", derived(f"{key}={value.value}", value.origin)]
    args += ["--input", from_spec(batch.input, "spec.batch.input"),
             "--output", from_spec(batch.output, "spec.batch.output"),
             "--input-format", fmt]
    if fmt.value in batchspec.TENSOR_FORMATS:
        tensor_name = batchspec.input_name(model.spec)
        datatype = batchspec.datatype(model.spec)
        assert tensor_name is not None and datatype is not None
        args += ["--input-name", tensor_name, "--datatype", datatype]
    args += [
        "--batch-size", _text(from_spec(batch.batch_size, "spec.batch.batchSize")),
        "--concurrency", _text(from_spec(batch.concurrency, "spec.batch.concurrency")),
        "--timeout", _text(from_spec(batch.timeout_seconds, "spec.batch.timeoutSeconds")),
        "--max-failures", _text(from_spec(batch.max_failures, "spec.batch.maxFailures")),
        "--run-id", platform(f"$({RUN_ID_VARIABLE})", "the Job's name (downward API), shared "
                             "by every retry of one scheduled run, so a retry resumes it"),
    ]
    return args


def _text(value: Sourced) -> Sourced:
    """A number as the string a container argument must be, keeping its origin."""
    return value._replace(value=str(value.value))
