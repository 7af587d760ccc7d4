"""The per-environment Grafana dashboard: shape, valid PromQL, known metrics, real answers.

Every query is wrapped as a recording rule and checked by `promtool check rules` (valid
PromQL), may read only metrics modelops.monitoring lists with their exporter (and those match
the research notes on what Seldon Core 2 exports), and is evaluated by `promtool test rules` on
series with the exporters' real label sets, so a query that parses but selects nothing (a wrong
label name, a typo in a metric) fails here instead of drawing an empty panel.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ENVIRONMENTS, REPO_ROOT
from modelops import monitoring
from promql import metric_names

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: run `make "
                                    "setup-system` (Debian package prometheus)")
RESEARCH = REPO_ROOT.parent / "shared" / "research" / "seldon-core-2.md"
ALL_MODELS = ".+"  # what Grafana puts in for $model when "All" is selected


@cache
def configmap(env: str) -> dict[str, Any]:
    folder = REPO_ROOT / "environments" / env / "rendered" / "environment"
    found = []
    for path in sorted(folder.glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        if obj["kind"] == "ConfigMap" and obj["metadata"].get("labels", {}).get(
                "grafana_dashboard") == "1":
            found.append(obj)
    assert len(found) == 1, f"{env}: {len(found)} dashboard ConfigMaps"
    return dict(found[0])


def dashboard(env: str) -> dict[str, Any]:
    data = configmap(env)["data"]
    assert list(data) == [f"modelops-{env}.json"]
    board: dict[str, Any] = json.loads(data[f"modelops-{env}.json"])
    return board


def queries(env: str) -> dict[str, str]:
    """{panel title / refId: PromQL with the model variable set to All}."""
    found = {}
    for panel in dashboard(env)["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$model", ALL_MODELS)
            assert "$" not in expr.replace('"$1"', ""), f"unexpanded variable in {expr}"
            found[f"{panel['title']} / {target['refId']}"] = expr
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_dashboard_per_environment_for_the_grafana_sidecar(env: str) -> None:
    cm = configmap(env)
    spec = yaml.safe_load((REPO_ROOT / "environments" / env / "environment.yaml")
                          .read_text())["spec"]
    assert cm["metadata"]["namespace"] == spec["namespace"]
    board = dashboard(env)
    assert board["uid"] == f"modelops-{env}" and env in board["title"]
    titles = {p["title"] for p in board["panels"] if p["type"] != "row"}
    assert titles == {"Latency per model (mean)", "Error rate per model",
                      "Requests per second per model",
                      "Drift: share of KS tests that found drift",
                      "p99 latency per Server pool", "Model memory vs capacity per Server pool"}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    model_var = next(v for v in board["templating"]["list"] if v["name"] == "model")
    assert model_var["allValue"] == ALL_MODELS and model_var["includeAll"] is True
    assert f'namespace="{spec["namespace"]}"' in model_var["definition"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_thresholds_on_panels_are_the_environment_thresholds(env: str) -> None:
    alerts = yaml.safe_load((REPO_ROOT / "environments" / env / "environment.yaml")
                            .read_text())["spec"]["alerts"]
    red = {p["title"]: p["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"]
           for p in dashboard(env)["panels"] if p["type"] == "timeseries"}
    assert red["Latency per model (mean)"] == alerts["p99LatencyMs"] / 1000
    assert red["p99 latency per Server pool"] == alerts["p99LatencyMs"] / 1000
    assert red["Error rate per model"] == alerts["errorRatePercent"] / 100


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_queries_read_only_known_metrics(env: str) -> None:
    used = {m for expr in queries(env).values() for m in metric_names(expr)}
    assert {"seldon_model_infer_total", "seldon_model_drift_sum",
            "seldon_server_replica_memory_capacity_bytes_gauge"} <= used
    assert used <= set(monitoring.METRICS), sorted(used - set(monitoring.METRICS))


def test_known_seldon_metrics_are_the_ones_the_research_found() -> None:
    """The Seldon agent and MLServer metrics modelops lists are named in the research notes."""
    if not RESEARCH.exists():
        pytest.skip(f"{RESEARCH} absent (it lives in ../shared beside the checkout)")
    text = RESEARCH.read_text()
    upstream = [m for m in monitoring.METRICS.values()
                if m.exporter.startswith(("Seldon agent", "MLServer"))]
    assert upstream
    for metric in upstream:
        base = re.sub(r"_(bucket|sum|count)$", "", metric.name)
        assert f"`{base}`" in text or f"`{metric.name}`" in text, metric.name


def recording_rules(env: str) -> list[dict[str, str]]:
    return [{"record": f"dashboard:{re.sub(r'[^a-z0-9]+', '_', key.lower()).strip('_')}",
             "expr": expr} for key, expr in queries(env).items()]


@needs_promtool
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_query_is_valid_promql(env: str, tmp_path: Path) -> None:
    assert PROMTOOL is not None
    rules = tmp_path / "dashboard.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard",
                                                 "rules": recording_rules(env)}]}))
    result = subprocess.run([PROMTOOL, "check", "rules", "--lint-fatal", str(rules)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries(env))} rules found" in result.stdout


def _series(ns: str) -> list[dict[str, str]]:
    """Two models on two pools, shaped like the agent's and MLServer's real series."""
    agent = ('namespace="{ns}", model="{m}", model_internal="{m}_1", server="pool-a", '
             'server_replica="0", method_type="rest", code="{code}"')
    out = []
    for model, per_minute, errors, seconds in (("model-a", 600, 6, 60),
                                               ("model-b", 120, 0, 24)):
        ok = agent.format(ns=ns, m=model, code="200")
        out += [{"series": f"seldon_model_infer_total{{{ok}}}",
                 "values": f"0+{per_minute - errors}x30"},
                {"series": f"seldon_model_infer_seconds_total{{{ok}}}",
                 "values": f"0+{seconds}x30"}]
        if errors:
            bad = agent.format(ns=ns, m=model, code="500")
            out.append({"series": f"seldon_model_infer_total{{{bad}}}",
                        "values": f"0+{errors}x30"})
    drift = f'namespace="{ns}", model_name="model-a-drift_2", model_version="2"'
    out += [{"series": f"seldon_model_drift_count{{{drift}}}", "values": "0+4x30"},
            {"series": f"seldon_model_drift_sum{{{drift}}}", "values": "0+1x30"}]
    for replica in ("0", "1"):
        pool = f'namespace="{ns}", server="pool-a", server_replica="{replica}"'
        out += [{"series": f"seldon_loaded_model_memory_bytes_gauge{{{pool}, "
                           f'model_internal="model-a_1"}}', "values": "1000+0x30"},
                {"series": f"seldon_server_replica_memory_capacity_bytes_gauge{{{pool}}}",
                 "values": "4000+0x30"},
                {"series": "seldon_server_replica_memory_capacity_overcommit_bytes_gauge"
                           f"{{{pool}}}", "values": "4400+0x30"}]
        for le, count in (("0.1", 50), ("0.5", 99), ("+Inf", 100)):
            out.append({"series": f'seldon_model_infer_api_seconds_bucket{{{pool}, '
                                  f'method="POST", code="200", le="{le}"}}',
                        "values": f"0+{count * 60}x30"})
    return out


EXPECTED = {  # per query key: {labels: value}, from the series above
    "Latency per model (mean) / A": {"model-a": 0.1, "model-b": 0.2},
    "Error rate per model / A": {"model-a": 0.01},  # model-b: no errors
    "Requests per second per model / A": {"model-a": 10, "model-b": 2},
    "Drift: share of KS tests that found drift / A": {"model-a": 0.25},
    "p99 latency per Server pool / A": {"pool-a": 0.5},
    "Model memory vs capacity per Server pool / A": {"pool-a": 2000},
    "Model memory vs capacity per Server pool / B": {"pool-a": 8000},
    "Model memory vs capacity per Server pool / C": {"pool-a": 8800},
}


@needs_promtool
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_query_answers_from_real_shaped_series(env: str, tmp_path: Path) -> None:
    assert PROMTOOL is not None
    ns = yaml.safe_load((REPO_ROOT / "environments" / env / "environment.yaml")
                        .read_text())["spec"]["namespace"]
    found = queries(env)
    assert set(found) == set(EXPECTED)
    tests = []
    for key, expr in found.items():
        label = "server" if "Server pool" in key else "model"
        samples = [{"labels": f'{{{label}="{who}"}}', "value": value}
                   for who, value in EXPECTED[key].items()]
        tests.append({"expr": expr, "eval_time": "20m", "exp_samples": samples})
    (tmp_path / "empty.yaml").write_text("groups: []\n")
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({
        "rule_files": ["empty.yaml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _series(ns),
                   "promql_expr_test": tests}]}))
    result = subprocess.run([PROMTOOL, "test", "rules", "tests.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
