"""The generated alert rules, run by Prometheus' own `promtool` against synthetic series.

For every environment the committed PrometheusRule's groups become a rules file; `promtool
check rules` must accept it and `promtool test rules` must pass cases built here from the
specs (environment.yaml and the models' own thresholds), not from the rule expressions: each
alert fires when its signal is above the threshold the spec sets and stays silent below it,
models with their own thresholds are carved out of the environment-wide rule, and the retrain
alert fires only on drift AND a degraded business metric. The series carry the label sets the
exporters really use (see modelops.monitoring).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from batch_alerts import failed_run_cases
from conftest import FEATURES_ENV, EnvTree
from modelops import monitoring
from promql import metric_names

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: run `make "
                                "setup-system` (Debian package prometheus)")

Series = list[tuple[str, str]]
Case = dict[str, Any]
MINUTES = 45  # every series runs this long, at one sample per minute


# ---------------------------------------------------------------- inputs


@cache
def env_spec(env: EnvTree) -> dict[str, Any]:
    path = env.root / "environments" / env.name / "environment.yaml"
    return dict(yaml.safe_load(path.read_text())["spec"])


@cache
def model_specs(env: EnvTree) -> dict[str, dict[str, Any]]:
    folder = env.root / "environments" / env.name / "models"
    return {p.stem: yaml.safe_load(p.read_text())["spec"] for p in sorted(folder.glob("*.yaml"))}


def rule_groups(env: EnvTree) -> list[dict[str, Any]]:
    path = (env.root / "environments" / env.name / "rendered" / "environment"
            / "prometheusrule-modelops-alerts.yaml")
    groups: list[dict[str, Any]] = yaml.safe_load(path.read_text())["spec"]["groups"]
    return groups


def rules_by_alert(env: EnvTree) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for group in rule_groups(env):
        for rule in group["rules"]:
            found.setdefault(rule["alert"], []).append((group["name"], rule))
    return found


def fired(env: EnvTree, alert: str, group: str, **labels: str) -> dict[str, Any]:
    """The alert promtool should report: its labels and annotations as rendered."""
    rule = next(r for g, r in rules_by_alert(env)[alert] if g == group)
    return {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": rule["annotations"]}


def counter(rate_per_second: float) -> str:
    """A counter rising at `rate_per_second`, sampled every minute."""
    return f"0+{rate_per_second * 60:g}x{MINUTES}"


def gauge(value: float) -> str:
    return f"{value:g}+0x{MINUTES}"


def case(series: Series, alert: str, expected: list[dict[str, Any]],
         eval_time: str = "20m") -> Case:
    return {"interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series],
            "alert_rule_test": [{"eval_time": eval_time, "alertname": alert,
                                 "exp_alerts": expected}]}


# ---------------------------------------------------------------- per-alert cases


def thresholds(env: EnvTree, model: str) -> tuple[float, float]:
    """(latency in seconds, error ratio) a model must alert at, from the specs."""
    spec, own = env_spec(env)["alerts"], model_specs(env)[model].get("alerts", {})
    return (own.get("p99LatencyMs", spec["p99LatencyMs"]) / 1000,
            own.get("errorRatePercent", spec["errorRatePercent"]) / 100)


def group_of(env: EnvTree, model: str) -> str:
    own = "alerts" in model_specs(env)[model]
    return f"modelops.{env.name}.model.{model}" if own else f"modelops.{env.name}.models"


def generic_models(env: EnvTree) -> list[str]:
    return [m for m, s in model_specs(env).items() if "alerts" not in s]


def overridden_models(env: EnvTree) -> list[str]:
    return [m for m, s in model_specs(env).items() if "alerts" in s]


def agent_labels(env: EnvTree, model: str, code: str = "200") -> str:
    ns = env_spec(env)["namespace"]
    return (f'namespace="{ns}", model="{model}", model_internal="{model}_1", '
            f'server="cpu-pool", server_replica="0", method_type="rest", code="{code}"')


def latency_series(env: EnvTree, model: str, seconds: float) -> Series:
    labels = agent_labels(env, model)
    return [(f"seldon_model_infer_total{{{labels}}}", counter(1)),
            (f"seldon_model_infer_seconds_total{{{labels}}}", counter(seconds))]


def latency_cases(env: EnvTree) -> list[Case]:
    """Each model fires above its own threshold, is silent below it, and a model with its own
    threshold never fires the environment-wide rule (and vice versa)."""
    env_limit = env_spec(env)["alerts"]["p99LatencyMs"] / 1000
    cases = []
    for model in [*generic_models(env)[:1], *overridden_models(env)]:
        limit = thresholds(env, model)[0]
        alert = [fired(env, "ModelLatencyHigh", group_of(env, model), model=model)]
        cases.append(case(latency_series(env, model, limit * 1.5), "ModelLatencyHigh", alert))
        cases.append(case(latency_series(env, model, limit * 0.9), "ModelLatencyHigh", []))
        if limit != env_limit:  # between the two thresholds: only the model's own counts
            between = (limit + env_limit) / 2
            cases.append(case(latency_series(env, model, between), "ModelLatencyHigh",
                              alert if limit < env_limit else []))
    return cases


def error_series(env: EnvTree, model: str, ratio: float) -> Series:
    total = 100.0
    return [(f"seldon_model_infer_total{{{agent_labels(env, model)}}}",
             counter(total * (1 - ratio))),
            (f"seldon_model_infer_total{{{agent_labels(env, model, '500')}}}",
             counter(total * ratio / 2)),
            (f'seldon_model_infer_total{{{agent_labels(env, model, "UNAVAILABLE")}}}',
             counter(total * ratio / 2))]


def error_cases(env: EnvTree) -> list[Case]:
    env_limit = env_spec(env)["alerts"]["errorRatePercent"] / 100
    cases = []
    for model in [*generic_models(env)[:1], *overridden_models(env)]:
        limit = thresholds(env, model)[1]
        alert = [fired(env, "ModelErrorRateHigh", group_of(env, model), model=model)]
        cases.append(case(error_series(env, model, limit * 1.5), "ModelErrorRateHigh", alert))
        cases.append(case(error_series(env, model, limit * 0.9), "ModelErrorRateHigh", []))
        if limit != env_limit:
            between = (limit + env_limit) / 2
            cases.append(case(error_series(env, model, between), "ModelErrorRateHigh",
                              alert if limit < env_limit else []))
    return cases


def server_latency_cases(env: EnvTree) -> list[Case]:
    """p99 of the agent histogram per pool: all requests in (T, 2T] fire, in (0, T/2] don't."""
    ns = env_spec(env)["namespace"]
    limit = env_spec(env)["alerts"]["p99LatencyMs"] / 1000
    bounds = [limit / 2, limit, limit * 2, "+Inf"]

    def series(bucket: int) -> Series:
        out = []
        for i, le in enumerate(bounds):
            le_text = le if isinstance(le, str) else f"{le:g}"
            labels = (f'namespace="{ns}", server="gpu-pool", server_replica="1", '
                      f'method="POST", code="200", le="{le_text}"')
            out.append((f"seldon_model_infer_api_seconds_bucket{{{labels}}}",
                        counter(10 if i >= bucket else 0)))
        return out

    group = f"modelops.{env.name}.platform"
    return [case(series(2), "ServerLatencyHigh",
                 [fired(env, "ServerLatencyHigh", group, server="gpu-pool")]),
            case(series(0), "ServerLatencyHigh", [])]


def backlog_cases(env: EnvTree) -> list[Case]:
    limit = env_spec(env)["alerts"]["loadBacklog"]
    group = f"modelops.{env.name}.platform"

    def series(depth: int) -> Series:
        return [('workqueue_depth{namespace="seldon-system", name="model"}', gauge(depth)),
                ('workqueue_depth{namespace="seldon-system", name="pipeline"}', gauge(limit * 9))]

    return [case(series(limit + 1), "ModelLoadBacklogHigh",
                 [fired(env, "ModelLoadBacklogHigh", group)]),
            case(series(limit), "ModelLoadBacklogHigh", [])]


def topic(env: EnvTree, model: str = "any-model") -> str:
    spec = env_spec(env)
    return f"{spec['kafka']['topicPrefix']}.{spec['namespace']}.model.{model}.inputs"


def lag_cases(env: EnvTree) -> list[Case]:
    limit = env_spec(env)["alerts"]["kafkaLagMessages"]
    group = f"modelops.{env.name}.platform"
    other = "seldon.models-elsewhere.model.any-model.inputs"

    def series(lag: int) -> Series:
        return [(f'kafka_consumergroup_lag{{consumergroup="g", topic="{topic(env)}", '
                 f'partition="0"}}', gauge(lag)),
                (f'kafka_consumergroup_lag{{consumergroup="g", topic="{other}", '
                 f'partition="0"}}', gauge(limit * 10))]

    return [case(series(limit + 1), "KafkaConsumerLagHigh",
                 [fired(env, "KafkaConsumerLagHigh", group, consumergroup="g",
                        topic=topic(env))]),
            case(series(limit), "KafkaConsumerLagHigh", [])]


def lag_seconds_cases(env: EnvTree) -> list[Case]:
    """Lag in messages over a consumption of 1 message/s is the lag in seconds."""
    limit = env_spec(env)["alerts"]["kafkaLagSeconds"]
    group = f"modelops.{env.name}.platform"

    def series(lag: int) -> Series:
        labels = f'consumergroup="g", topic="{topic(env)}", partition="0"'
        return [(f"kafka_consumergroup_lag{{{labels}}}", gauge(lag)),
                (f"kafka_consumergroup_current_offset{{{labels}}}", counter(1))]

    return [case(series(limit * 2), "KafkaConsumerLagSlow",
                 [fired(env, "KafkaConsumerLagSlow", group, consumergroup="g",
                        topic=topic(env))]),
            case(series(limit // 2), "KafkaConsumerLagSlow", [])]


DRIFT_SHARE = 0.5  # the share of drift tests the alert summary promises ("over 50%")


def drift_models(env: EnvTree) -> list[str]:
    return [m for m, s in model_specs(env).items() if "drift" in s]


def drift_series(env: EnvTree, model: str, share: float) -> Series:
    """Seldon serves `<model>-drift` to MLServer as `<model>-drift_<version>`."""
    labels = (f'namespace="{env_spec(env)["namespace"]}", model_name="{model}-drift_3", '
              'model_version="3"')
    return [(f"seldon_model_drift_count{{{labels}}}", counter(1 / 6)),
            (f"seldon_model_drift_sum{{{labels}}}", counter(share / 6))]


def kpi_series(env: EnvTree, model: str, value: int) -> Series:
    return [(f'{monitoring.BUSINESS_KPI}{{namespace="{env_spec(env)["namespace"]}", '
             f'model="{model}"}}', gauge(value))]


def drift_cases(env: EnvTree) -> list[Case]:
    model = drift_models(env)[0]
    alert = [fired(env, "ModelDriftDetected", f"modelops.{env.name}.drift", model=model)]
    # rate() over the 1 h window has a value from the second sample on, so the 15 m `for`
    # has run out well before 25 m.
    return [case(drift_series(env, model, DRIFT_SHARE + 0.1), "ModelDriftDetected", alert,
                 "25m"),
            case(drift_series(env, model, DRIFT_SHARE - 0.1), "ModelDriftDetected", [], "25m")]


def retrain_cases(env: EnvTree) -> list[Case]:
    """Drift AND a degraded business metric fire; either one alone, or another model's KPI,
    does not."""
    model = drift_models(env)[0]
    alert = [fired(env, "ModelRetrainCandidate", f"modelops.{env.name}.drift", model=model)]
    drifted = drift_series(env, model, DRIFT_SHARE + 0.1)
    calm = drift_series(env, model, DRIFT_SHARE - 0.1)
    name = "ModelRetrainCandidate"
    return [case(drifted + kpi_series(env, model, 1), name, alert, "40m"),
            case(drifted + kpi_series(env, model, 0), name, [], "40m"),
            case(drifted, name, [], "40m"),
            case(drifted + kpi_series(env, f"not-{model}", 1), name, [], "40m"),
            case(calm + kpi_series(env, model, 1), name, [], "40m")]


def batch_failed_cases(env: EnvTree) -> list[Case]:
    """The latest run of a batch model's CronJob failed, or did not (batch_alerts.py)."""
    model = next(m for m, s in model_specs(env).items() if "batch" in s)
    ns = env_spec(env)["namespace"]
    return failed_run_cases(ns, model, fired(env, "BatchRunFailed", f"modelops.{env.name}.batch",
                                             namespace=ns, cronjob=f"batch-{model}", model=model))


CASES: dict[str, Callable[[EnvTree], list[Case]]] = {
    "ModelLatencyHigh": latency_cases,
    "ModelErrorRateHigh": error_cases,
    "ServerLatencyHigh": server_latency_cases,
    "ModelLoadBacklogHigh": backlog_cases,
    "KafkaConsumerLagHigh": lag_cases,
    "KafkaConsumerLagSlow": lag_seconds_cases,
    "ModelDriftDetected": drift_cases,
    "ModelRetrainCandidate": retrain_cases,
    "BatchRunFailed": batch_failed_cases,
}


# ---------------------------------------------------------------- running promtool


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)


def write_rules(folder: Path, groups: list[dict[str, Any]]) -> Path:
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def write_tests(folder: Path, cases: list[Case]) -> Path:
    path = folder / "tests.yaml"
    path.write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
                                    "tests": cases}, sort_keys=False))
    return path


def all_cases(env: EnvTree) -> list[Case]:
    return [c for alert in sorted(rules_by_alert(env)) for c in CASES[alert](env)]


def test_every_generated_alert_has_cases(env_tree: EnvTree) -> None:
    """No alert reaches the PrometheusRule without a fires and a stays-silent case here."""
    alerts = set(rules_by_alert(env_tree))
    assert alerts <= set(CASES), f"alerts without cases: {sorted(alerts - set(CASES))}"
    for alert in alerts:
        expectations = [t["exp_alerts"] for c in CASES[alert](env_tree)
                        for t in c["alert_rule_test"]]
        assert any(expectations) and not all(expectations), alert


def test_the_built_environment_raises_every_alert(feature_repo: Path) -> None:
    """Every alert with cases is rendered for the environment with every feature, so each case
    runs against a real rule at least there (a committed environment may lack drift)."""
    assert set(rules_by_alert(EnvTree(feature_repo, FEATURES_ENV))) == set(CASES)


def test_rules_pass_promtool_check(env_tree: EnvTree, tmp_path: Path) -> None:
    result = promtool("check", "rules", "--lint-fatal",
                      str(write_rules(tmp_path, rule_groups(env_tree))),
                      cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alerts_fire_above_and_stay_silent_below_their_thresholds(env_tree: EnvTree,
                                                                   tmp_path: Path) -> None:
    write_rules(tmp_path, rule_groups(env_tree))
    result = promtool("test", "rules", str(write_tests(tmp_path, all_cases(env_tree))),
                      cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_cases_catch_a_wrong_threshold(tmp_path: Path, feature_repo: Path) -> None:
    """A latency rule ten times too lax fails the same cases (the harness can fail)."""
    built = EnvTree(feature_repo, FEATURES_ENV)  # p99 latency threshold 500 ms
    groups = rule_groups(built)
    generic = groups[0]["rules"][0]
    assert generic["alert"] == "ModelLatencyHigh" and generic["expr"].endswith("> 0.5")
    generic["expr"] = generic["expr"][: -len("0.5")] + "5"
    write_rules(tmp_path, groups)
    result = promtool("test", "rules", str(write_tests(tmp_path, latency_cases(built))),
                      cwd=tmp_path)
    assert result.returncode == 1
    assert "ModelLatencyHigh" in result.stdout + result.stderr


def test_rules_read_only_known_metrics(env_tree: EnvTree) -> None:
    """Every metric a rule reads is one modelops.monitoring lists with its exporter."""
    used = {m for g in rule_groups(env_tree) for r in g["rules"] for m in metric_names(r["expr"])}
    assert used, "no metric found: the parser would prove nothing"
    assert used <= set(monitoring.METRICS), sorted(used - set(monitoring.METRICS))
    for group in rule_groups(env_tree):
        for rule in group["rules"]:
            assert rule["annotations"]["signal"], rule["alert"]
