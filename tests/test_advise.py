"""`modelops advise`: each rule fires on its case and stays quiet on the nearest other, the
cold-start arithmetic gives the issue's figures, votes become the documented recommendation,
and the verb's output and exit codes are what its README promises."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from advise_cases import CASES, KSERVE, Case, kserve_model
from conftest import run_cli
from modelops.advice.advise import Advice, Fired, advise_environment, recommend
from modelops.advice.coldstart import format_seconds, load_seconds
from modelops.advice.rules import RULES, RULES_BY_ID
from modelops.repository import Repository
from repo_builder import build_repo, environment, model, write_spec


def _advice(root: Path, case: Case) -> Advice:
    draft, name = case
    repo = build_repo(root, draft, render=False, commit=False)
    env = Repository(repo).load_environment(draft.name)
    return next(a for a in advise_environment(env) if a.facts.name == name)


def _fired(advice: Advice) -> set[str]:
    return {f.rule.id for f in advice.fired}


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    assert set(CASES) == set(RULES_BY_ID)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_its_case(tmp_path: Path, rule: str) -> None:
    assert rule in _fired(_advice(tmp_path, CASES[rule][0]()))


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_is_quiet_on_the_nearest_case(tmp_path: Path, rule: str) -> None:
    assert rule not in _fired(_advice(tmp_path, CASES[rule][1]()))


def test_cold_start_arithmetic_gives_the_issues_figures() -> None:
    size = 140 * 10**9                              # a 140 GB model
    assert load_seconds(size, 500) == 280           # ~4.7 min from remote storage
    assert format_seconds(load_seconds(size, 500)) == "4.7 min"
    assert 4 * 60 - 10 < load_seconds(size, 600) < load_seconds(size, 400) <= 6 * 60
    assert load_seconds(size, 3500) == 40           # ~40 s from local NVMe
    assert 35 <= load_seconds(size, 4000) < load_seconds(size, 3000) <= 47


@pytest.mark.parametrize(("cache", "seconds", "where"), [
    (False, 280, "remote storage"), (True, 40, "the node-local model cache")])
def test_cold_start_reads_the_environments_bandwidth(tmp_path: Path, cache: bool,
                                                     seconds: float, where: str) -> None:
    kserve = dict(KSERVE, localModelCache={"nodeGroups": ["nvme"]}) if cache else KSERVE
    draft = environment("e", kserve_model("big", artifact={"size": "140G"},
                                          traffic={"pattern": "idle",
                                                   "coldStartBudgetSeconds": 60}),
                        kserve=kserve)
    advice = _advice(tmp_path, (draft, "big"))
    cold = advice.facts.cold_start
    assert (cold.seconds, cold.bandwidth.where) == (seconds, where)
    assert cold.fits is cache                       # 40 s fits a 60 s budget, 280 s does not
    assert ("sparse-traffic" in _fired(advice)) is cache


def test_budget_defaults_to_the_p99_threshold(tmp_path: Path) -> None:
    draft = environment("e", model("own", alerts={"p99LatencyMs": 300},
                                   traffic={"pattern": "idle"}),
                        model("env", traffic={"pattern": "idle"}))
    repo = build_repo(tmp_path, draft, render=False, commit=False)
    advice = {a.facts.name: a for a in advise_environment(
        Repository(repo).load_environment("e"))}
    assert advice["own"].facts.cold_start.budget.seconds == Decimal("0.3")
    assert advice["env"].facts.cold_start.budget.seconds == Decimal("0.5")
    assert "p99LatencyMs" in advice["env"].facts.cold_start.budget.origin
    # 100Mi at 500 MB/s is ~0.21 s: within 0.3 s, so idle traffic may scale to zero
    assert "sparse-traffic" in _fired(advice["own"])


def _fire(*ids: str) -> list[Fired]:
    return [Fired(RULES_BY_ID[i], "") for i in ids]


@pytest.mark.parametrize(("current", "ids", "expected"), [
    ("seldon", ["sparse-traffic"], "kserve"),
    ("kserve", ["gpu-packing"], "seldon"),
    ("kserve", ["drift", "sparse-traffic"], "seldon"),          # requires beats prefers
    ("seldon", ["scale-to-zero", "gpu-packing"], "kserve"),
    ("kserve", ["kafka", "scale-to-zero"], "seldon"),           # Seldon's requirements first
    ("seldon", ["sparse-traffic", "gpu-packing"], "seldon"),    # both prefer: stays
    ("kserve", ["sparse-traffic", "gpu-packing"], "kserve"),
    ("kserve", ["grpc", "critical-shared-process"], "kserve"),  # advice never votes
    ("seldon", [], "seldon"),
])
def test_votes_become_the_documented_recommendation(current: str, ids: list[str],
                                                    expected: str) -> None:
    assert recommend(current, _fire(*ids)) == expected   # type: ignore[arg-type]


def test_every_rule_names_a_reason_and_a_source() -> None:
    for rule in RULES:
        assert rule.when and rule.reason and rule.source, rule.id
        assert (rule.strength == "advice") == (rule.verdict in ("warn", "grpc")), rule.id


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return build_repo(tmp_path / "repo", environment(
        "qa", model("idle", traffic={"pattern": "idle", "coldStartBudgetSeconds": 30}),
        model("steady"), model("watched", drift={
            "reference": "gs://test-models/watched-reference/2026-01-01-v1",
            "referenceRows": 10000, "pValue": 0.01, "batchSize": 100})), render=False)


def test_advise_one_model_exits_0_even_when_the_target_differs(repo: Path) -> None:
    result = run_cli("advise", "qa", "idle", repo=repo)
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "qa/idle: kserve (the spec says seldon; the environment has no " \
                       "spec.kserve yet)"
    assert any("[sparse-traffic]" in line and "issue 23" in line for line in lines)
    assert lines[-1].startswith("  cold start if scaled to zero: ~0.21 s to load 100Mi at "
                                "500 MB/s from remote storage, within the budget of 30 s")


def test_advise_environment_prints_one_line_per_model(repo: Path) -> None:
    result = run_cli("advise", "qa", repo=repo)
    assert result.rc == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [["qa/idle", "seldon", "->", "kserve", "differs", "sparse-traffic"],
                    ["qa/steady", "seldon", "->", "seldon", "ok", "-"],
                    ["qa/watched", "seldon", "->", "seldon", "ok", "drift"]]


def test_advise_json_carries_verdict_rules_and_cold_start(repo: Path) -> None:
    result = run_cli("advise", "qa", "idle", "--format", "json", repo=repo)
    assert result.rc == 0, result.stderr
    (entry,) = json.loads(result.stdout)
    assert (entry["target"], entry["recommended"], entry["differs"]) == (
        "seldon", "kserve", True)
    assert [r["id"] for r in entry["rules"]] == ["sparse-traffic"]
    assert entry["coldStart"]["mbPerSecond"] == 500
    assert entry["coldStart"]["budgetSeconds"] == 30
    assert entry["coldStart"]["fits"] is True


@pytest.mark.parametrize(("args", "message"), [
    (("advise", "nope"), "unknown environment 'nope'"),
    (("advise", "qa", "nope"), "no model 'nope' in environment 'qa'"),
])
def test_unknown_environment_or_model_exits_2(repo: Path, args: tuple[str, ...],
                                              message: str) -> None:
    result = run_cli(*args, repo=repo)
    assert result.rc == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_spec_exits_2_naming_file_line_and_field(repo: Path) -> None:
    broken = model("broken", traffic={"pattern": "sometimes"})
    path = write_spec(repo, "qa", broken)
    result = run_cli("advise", "qa", repo=repo)
    assert result.rc == 2
    assert f"environments/qa/models/{path.name}:" in result.stderr
    assert "spec.traffic.pattern" in result.stderr
    assert "Traceback" not in result.stderr


def test_environment_without_models_says_so(tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "repo", environment("empty"), render=False)
    result = run_cli("advise", "empty", repo=repo)
    assert (result.rc, result.stdout) == (0, "no models\n"), result.stderr
