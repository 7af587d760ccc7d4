"""`promtool test rules` cases for BatchRunFailed, from the kube-state-metrics series a real
cluster exports for a CronJob's Jobs (`kube_job_owner`, `kube_job_failed`,
`kube_job_status_start_time`, `kube_cronjob_status_last_successful_time`).

`failed_run_cases(namespace, model, alert)` returns cases in which the alert must fire (the
latest run failed: after the last success, or with none) and must stay silent (the failure is
older than a success, the failed Job belongs to another CronJob or namespace, the Job did not
fail). `alert` is the `exp_alerts` entry the rule should produce for the model.
"""

from __future__ import annotations

from typing import Any

Case = dict[str, Any]
MINUTES = 30
CRONJOB_PREFIX = "batch-"


def _gauge(value: float) -> str:
    return f"{value:g}+0x{MINUTES}"


Series = list[dict[str, str]]


def _job(namespace: str, job: str, owner: str, started: float, failed: bool) -> Series:
    """The series kube-state-metrics exports for one Job a CronJob owns."""
    ids = f'namespace="{namespace}", job_name="{job}"'
    return [
        {"series": f'kube_job_owner{{{ids}, owner_kind="CronJob", owner_name="{owner}", '
                   'owner_is_controller="true"}', "values": _gauge(1)},
        {"series": f"kube_job_status_start_time{{{ids}}}", "values": _gauge(started)},
        {"series": f'kube_job_failed{{{ids}, condition="true"}}', "values": _gauge(int(failed))},
        {"series": f'kube_job_failed{{{ids}, condition="false"}}',
         "values": _gauge(int(not failed))},
    ]


def _last_success(namespace: str, cronjob: str, when: float) -> Series:
    return [{"series": f'kube_cronjob_status_last_successful_time{{namespace="{namespace}", '
                       f'cronjob="{cronjob}"}}', "values": _gauge(when)}]


def _case(series: Series, expected: list[dict[str, Any]]) -> Case:
    return {"interval": "1m", "input_series": series,
            "alert_rule_test": [{"eval_time": "10m", "alertname": "BatchRunFailed",
                                 "exp_alerts": expected}]}


def failed_run_cases(namespace: str, model: str, alert: dict[str, Any]) -> list[Case]:
    cronjob = f"{CRONJOB_PREFIX}{model}"
    run = f"{cronjob}-29400000"
    earlier = f"{cronjob}-29399000"
    return [
        # The latest run failed after an earlier one succeeded.
        _case(_job(namespace, run, cronjob, 2000, True) + _last_success(namespace, cronjob, 1000)
              + _job(namespace, earlier, cronjob, 900, False), [alert]),
        # It never succeeded.
        _case(_job(namespace, run, cronjob, 2000, True), [alert]),
        # A failure older than the last success is over.
        _case(_job(namespace, earlier, cronjob, 900, True)
              + _last_success(namespace, cronjob, 2100), []),
        # The latest run did not fail.
        _case(_job(namespace, run, cronjob, 2000, False), []),
        # Another CronJob's failed Job, or this one's in another namespace, is not this batch.
        _case(_job(namespace, "cleanup-29400000", "cleanup", 2000, True), []),
        _case(_job(f"{namespace}-elsewhere", run, cronjob, 2000, True), []),
    ]
