"""KServe alert rules through promtool, for each exporter a deployment mode brings.

Knative 1.18 (queue-proxy, OpenCensus names, milliseconds), Knative 1.19 (OpenTelemetry names,
seconds), Standard mode on KServe's Python server (a histogram, no error counter) and on Triton
(cumulative counters): each environment is built here, its rules pass `promtool check rules
--lint-fatal`, and `promtool test rules` shows each alert firing above the model's threshold
and silent below it, on series shaped like the exporter's. Rules read only metrics that
`modelops.kserve_monitoring.METRICS` lists with their exporter.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import find_rendered
from modelops import kserve_monitoring
from modelops.kserve_monitoring import ERROR_RATE_ALERT, LATENCY_ALERT
from promql import metric_names
from repo_builder import (
    KSERVE_TRITON_RUNTIME,
    build_repo,
    environment,
    kserve_model,
    kserve_settings,
)

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: run `make "
                                "setup-system` (Debian package prometheus)")
MINUTES = 45
NAMESPACE = "models-qa"
LATENCY_MS = {"scored": 500, "strict": 200}  # the environment's, and a model's own
ERROR_PERCENT = {"scored": 0.5, "strict": 0.2}

FLAVOURS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "knative-opencensus": (kserve_settings("Knative", knativeVersion="1.18"), {}),
    "knative-otel": (kserve_settings("Knative", knativeVersion="1.19"), {}),
    "kserve-python": (kserve_settings("Standard"), {}),
    "triton": (kserve_settings("Standard"), {"framework": "onnx",
                                             "kserve": {"runtime": KSERVE_TRITON_RUNTIME}}),
}


@pytest.fixture(scope="module", params=sorted(FLAVOURS))
def flavour(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, Any]]]:
    name = request.param
    settings, spec = FLAVOURS[name]
    repo = build_repo(tmp_path_factory.mktemp(name) / "repo", environment(
        "qa", kserve_model("scored", **spec),
        kserve_model("strict", alerts={"p99LatencyMs": 200, "errorRatePercent": 0.2}, **spec),
        kserve=settings), commit=False)
    rule = yaml.safe_load(find_rendered(repo, "qa", "PrometheusRule",
                                        "modelops-kserve-alerts").read_text())
    return name, rule["spec"]["groups"]


def counter(per_second: float) -> str:
    return f"0+{per_second * 60:g}x{MINUTES}"


def histogram(metric: str, labels: str, bounds: tuple[str, ...], slow: bool) -> list[
        tuple[str, str]]:
    """One request per second, all in the lowest bucket (fast) or the next one (slow)."""
    fast_bucket, slow_bucket = bounds[0], bounds[1]
    return [(f'{metric}{{{labels}, le="{fast_bucket}"}}', counter(0 if slow else 1)),
            (f'{metric}{{{labels}, le="{slow_bucket}"}}', counter(1)),
            (f'{metric}{{{labels}, le="+Inf"}}', counter(1))]


def latency_series(flavour: str, model: str, slow: bool) -> list[tuple[str, str]]:
    """Series whose p99 (or mean) is far above (slow) or far below every threshold."""
    ns = f'namespace="{NAMESPACE}"'
    if flavour == "knative-opencensus":
        return histogram("revision_app_request_latencies_bucket",
                         f'{ns}, service_name="{model}-predictor", response_code_class="2xx"',
                         ("50", "5000"), slow)
    if flavour == "knative-otel":
        return histogram("kn_serving_invocation_duration_seconds_bucket",
                         f'{ns}, kn_service_name="{model}-predictor", '
                         'http_response_status_code="200"', ("0.05", "5"), slow)
    if flavour == "kserve-python":
        return histogram("request_predict_seconds_bucket", f'{ns}, model_name="{model}"',
                         ("0.05", "5"), slow)
    labels = f'{ns}, model="{model}", version="1"'
    return [(f"nv_inference_request_duration_us{{{labels}}}", counter(3e6 if slow else 1e4)),
            (f"nv_inference_request_success{{{labels}}}", counter(1)),
            (f"nv_inference_request_failure{{{labels}}}", counter(0))]


def error_series(flavour: str, model: str, ratio: float) -> list[tuple[str, str]]:
    ns = f'namespace="{NAMESPACE}"'
    if flavour == "knative-opencensus":
        base = f'revision_app_request_count{{{ns}, service_name="{model}-predictor", '
        return [(base + 'response_code_class="5xx"}', counter(ratio)),
                (base + 'response_code_class="2xx"}', counter(1 - ratio))]
    if flavour == "knative-otel":
        base = (f'kn_serving_invocation_duration_seconds_count{{{ns}, '
                f'kn_service_name="{model}-predictor", ')
        return [(base + 'http_response_status_code="503"}', counter(ratio)),
                (base + 'http_response_status_code="200"}', counter(1 - ratio))]
    labels = f'{ns}, model="{model}", version="1"'
    return [(f"nv_inference_request_failure{{{labels}}}", counter(ratio)),
            (f"nv_inference_request_success{{{labels}}}", counter(1 - ratio)),
            (f"nv_inference_request_duration_us{{{labels}}}", counter(1e4))]


def rule_of(groups: list[dict[str, Any]], alert: str, model: str) -> dict[str, Any] | None:
    return next((r for g in groups for r in g["rules"]
                 if r["alert"] == alert and r["labels"]["model"] == model), None)


def case(series: list[tuple[str, str]], alert: str, expected: list[dict[str, Any]]) -> Any:
    return {"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series],
            "alert_rule_test": [{"eval_time": "20m", "alertname": alert,
                                 "exp_alerts": expected}]}


def cases(flavour: str, groups: list[dict[str, Any]]) -> list[Any]:
    found = []
    for model in LATENCY_MS:
        rule = rule_of(groups, LATENCY_ALERT, model)
        assert rule is not None
        fired = [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]
        found.append(case(latency_series(flavour, model, slow=True),
                          LATENCY_ALERT, fired))
        found.append(case(latency_series(flavour, model, slow=False),
                          LATENCY_ALERT, []))
        errors = rule_of(groups, ERROR_RATE_ALERT, model)
        if flavour == "kserve-python":
            assert errors is None  # no error counter to read
            continue
        assert errors is not None
        limit = ERROR_PERCENT[model] / 100
        fired = [{"exp_labels": errors["labels"], "exp_annotations": errors["annotations"]}]
        found.append(case(error_series(flavour, model, limit * 3), ERROR_RATE_ALERT,
                          fired))
        found.append(case(error_series(flavour, model, limit / 3), ERROR_RATE_ALERT,
                          []))
    return found


def promtool(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=folder, capture_output=True, text=True,
                          timeout=60, check=False)


def write(folder: Path, groups: list[dict[str, Any]], tests: list[Any]) -> None:
    (folder / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    (folder / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests},
        sort_keys=False))


def test_rules_pass_promtool_lint(flavour: tuple[str, list[dict[str, Any]]],
                                  tmp_path: Path) -> None:
    write(tmp_path, flavour[1], [])
    result = promtool(tmp_path, "check", "rules", "--lint-fatal", "rules.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_fire_above_and_stay_silent_below_each_models_threshold(
        flavour: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    name, groups = flavour
    write(tmp_path, groups, cases(name, groups))
    result = promtool(tmp_path, "test", "rules", "tests.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_threshold_fails_the_cases(flavour: tuple[str, list[dict[str, Any]]],
                                           tmp_path: Path) -> None:
    """The harness can fail: a latency rule a hundred times too lax misses its fires."""
    name, groups = flavour
    lax = [{**g, "rules": [{**r, "expr": r["expr"].rsplit(" > ", 1)[0] + " > 100"}
                           for r in g["rules"]]} for g in groups]
    write(tmp_path, lax, cases(name, groups))
    result = promtool(tmp_path, "test", "rules", "tests.yaml")
    assert result.returncode == 1, result.stdout


def test_rules_read_only_listed_metrics_of_their_exporter(
        flavour: tuple[str, list[dict[str, Any]]]) -> None:
    name, groups = flavour
    used = {m for g in groups for r in g["rules"] for m in metric_names(r["expr"])}
    assert used, "no metric found: the parser would prove nothing"
    assert used <= set(kserve_monitoring.METRICS), sorted(used - set(kserve_monitoring.METRICS))
    exporters = {kserve_monitoring.METRICS[m].exporter for m in used}
    expected = {"knative-opencensus": "Knative <= 1.18", "knative-otel": "Knative >= 1.19",
                "kserve-python": "KServe Python", "triton": "Triton"}[name]
    assert all(expected in e for e in exporters), exporters
    for group in groups:
        for rule in group["rules"]:
            assert rule["annotations"]["signal"] and rule["labels"]["serving"] == "kserve"
