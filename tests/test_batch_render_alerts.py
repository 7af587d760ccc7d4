"""BatchRunFailed, the alert of a failed scheduled batch run, run by Prometheus' own promtool.

A repository built here with batch models renders its PrometheusRule; `promtool check rules`
accepts it and `promtool test rules` fires the alert, with the model's name, exactly when the
latest run of that model's CronJob failed (cases in `batch_alerts.py`), and a rule that compares
the wrong way fails the same cases. An environment without a batch has no such rule.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from batch_alerts import failed_run_cases
from conftest import find_rendered
from modelops import monitoring
from promql import metric_names
from repo_builder import PREFIX, build_repo, environment, model

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: run `make "
                                "setup-system` (Debian package prometheus)")

BATCH = {"schedule": "0 1 * * *", "input": f"{PREFIX}in/rows.jsonl", "output": f"{PREFIX}out/"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = (model("scorer", batch=BATCH), model("ranker", batch=BATCH), model("plain"))
    return build_repo(tmp_path_factory.mktemp("alerts") / "repo", environment("qa", *models),
                      commit=False)


def groups(repo: Path, env: str) -> list[dict[str, Any]]:
    path = find_rendered(repo, env, "PrometheusRule", "modelops-alerts")
    found: list[dict[str, Any]] = yaml.safe_load(path.read_text())["spec"]["groups"]
    return found


def batch_rule(repo: Path) -> dict[str, Any]:
    (group,) = [g for g in groups(repo, "qa") if g["name"] == "modelops.qa.batch"]
    (rule,) = group["rules"]
    assert rule["alert"] == "BatchRunFailed"
    return dict(rule)


def promtool(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=folder, capture_output=True, text=True,
                          timeout=60, check=False)


def run_cases(folder: Path, rule: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (folder / "rules.yaml").write_text(yaml.safe_dump(
        {"groups": [{"name": "modelops.qa.batch", "rules": [rule]}]}, sort_keys=False))
    cases = []
    for name in ("scorer", "ranker"):
        alert = {"exp_labels": {"namespace": "models-qa", "cronjob": f"batch-{name}",
                                "model": name, **rule["labels"]},
                 "exp_annotations": rule["annotations"]}
        cases += failed_run_cases("models-qa", name, alert)
    (folder / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": cases},
        sort_keys=False))
    return promtool(folder, "test", "rules", "tests.yaml")


def test_the_rule_passes_promtool_check(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups(repo, "qa")}))
    result = promtool(tmp_path, "check", "rules", "--lint-fatal", "rules.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_fires_exactly_when_the_latest_run_failed(repo: Path, tmp_path: Path) -> None:
    result = run_cases(tmp_path, batch_rule(repo))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_cases_catch_a_rule_that_compares_the_wrong_way(repo: Path, tmp_path: Path) -> None:
    rule = batch_rule(repo)
    newer = " > on (namespace, cronjob) "
    assert rule["expr"].count(newer) == 1
    rule["expr"] = rule["expr"].replace(newer, " < on (namespace, cronjob) ")
    result = run_cases(tmp_path, rule)
    assert result.returncode == 1
    assert "BatchRunFailed" in result.stdout + result.stderr


def test_the_rule_reads_only_known_metrics(repo: Path) -> None:
    rule = batch_rule(repo)
    used = metric_names(rule["expr"])
    assert "kube_job_failed" in used
    assert used <= set(monitoring.METRICS), sorted(used - set(monitoring.METRICS))
    assert "kube-state-metrics" in rule["annotations"]["signal"]


def test_no_batch_no_rule(tmp_path: Path) -> None:
    plain = build_repo(tmp_path / "repo", environment("qa", model("plain")), commit=False)
    assert "BatchRunFailed" not in [r["alert"] for g in groups(plain, "qa") for r in g["rules"]]
