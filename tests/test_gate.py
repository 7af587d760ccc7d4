"""`modelops policy`, `plan` and `check` through the CLI, on built repositories.

Each rule of the operating brief is broken once in a rendered tree (as a hand edit or a bad
merge would) and must fail the gate naming the policy and the object; warnings alone pass.
`check --base` runs against real git history in a temporary repository. The repository is
built (`repo_builder`): `live`, a production-like environment with every feature, and `small`,
two models on a 2 x 8Gi pool at 50 % overcommit; the shipped samples only have to pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ENVIRONMENTS, REPO_ROOT, CliResult, find_rendered, replace_once, run_cli
from repo_builder import (
    MLSERVER_POOL,
    PREFIX,
    TRITON_POOL,
    build_repo,
    environment,
    feature_environment,
    uri,
)
from repo_builder import model as model_spec

CRDS = Path(os.environ.get("MODELOPS_CRD_DIR", REPO_ROOT.parent / "shared" / "crds"))
SAMPLES = sorted(REPO_ROOT.glob("policies/*/samples/*/*.yaml"))


LIVE, SMALL = "live", "small"
NAMESPACE = f"models-{LIVE}"


def _gate_repo(target: Path) -> Path:
    # small: `forecaster` (150Mi x 1) and `bulk` (2500Mi x 2) on cpu-pool, which registers
    # 2 x 8Gi x 1.5 = 24Gi.
    small = environment(SMALL, model_spec("forecaster"),
                        model_spec("bulk", memory="2500Mi", replicas={"min": 2, "max": 2}))
    return build_repo(target, feature_environment(LIVE), small, commit=False, policies=True)


@pytest.fixture
def gate_repo(tmp_path: Path) -> Path:
    return _gate_repo(tmp_path / "repo")


def edit_rendered(repo: Path, env: str, kind: str, name: str,
                  change: Callable[[dict[str, Any]], None]) -> None:
    """Load one rendered object, change it, write it back (the header comment is dropped)."""
    path = find_rendered(repo, env, kind, name)
    obj = yaml.safe_load(path.read_text())
    change(obj)
    path.write_text(yaml.safe_dump(obj, sort_keys=False))


def rendered_models(repo: Path, env: str) -> int:
    """How many Seldon Models an environment renders (candidates and detectors included)."""
    folder = repo / "environments" / env / "rendered"
    return sum(yaml.safe_load(path.read_text())["kind"] == "Model"
               for path in folder.rglob("*.yaml"))


def container(obj: dict[str, Any], name: str) -> dict[str, Any]:
    containers = obj["spec"]["podSpec"]["containers"]
    return next(c for c in containers if c["name"] == name)


# --------------------------------------------------------------------------- samples via CLI

@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_policy_sample_through_the_cli(sample: Path) -> None:
    policy, verdict = sample.parts[-4], sample.parts[-2]
    result = run_cli("policy", str(sample), repo=REPO_ROOT)
    if verdict == "disallowed":
        assert result.rc == 1, result
        assert f"DENY [{policy}]" in result.stdout
    else:
        assert result.rc == 0, result
        assert "DENY" not in result.stdout


def test_policy_samples_exist() -> None:
    assert len(SAMPLES) >= 4


def test_rego_unit_tests_run_and_a_failing_one_fails(gate_repo: Path) -> None:
    ok = run_cli("policy", "--test", repo=gate_repo)
    assert ok.rc == 0, ok
    assert " 0 failed" in ok.stdout and "PASS" in ok.stdout
    test_file = gate_repo / "policies" / "overcommit" / "policy_test.rego"
    test_file.write_text(test_file.read_text() + "\ntest_deliberately_wrong if {\n"
                         "\tcount(overcommit.deny) == 1 with input as "
                         '{"environment": {}, "objects": [], "cluster": []}\n}\n')
    bad = run_cli("policy", "--test", repo=gate_repo)
    assert bad.rc == 1
    assert "FAIL policies/overcommit/policy_test.rego test_deliberately_wrong" in bad.stdout


def test_policy_on_a_broken_manifest_file_is_located(tmp_path: Path) -> None:
    broken = tmp_path / "bad.yaml"
    broken.write_text("kind: Model\nmetadata: {name: x\n")
    result = run_cli("policy", str(broken), repo=REPO_ROOT)
    assert result.rc == 2
    assert f"{broken}:" in result.stderr and "Traceback" not in result.stderr


def test_sample_environments_pass_every_policy() -> None:
    result = run_cli("policy", "--format", "json", repo=REPO_ROOT)
    assert result.rc == 0, result.stdout
    findings = json.loads(result.stdout)["findings"]
    assert [f for f in findings if f["severity"] == "deny"] == []


# ----------------------------------------------------------------- each rule broken, end to end

def _overcommit_400(obj: dict[str, Any]) -> None:
    container(obj, "agent")["env"][-1]["value"] = "400"


def _short_startup(obj: dict[str, Any]) -> None:
    probe = container(obj, "triton")["startupProbe"]
    probe.update({"initialDelaySeconds": 0, "periodSeconds": 10, "failureThreshold": 3})


def _annotation(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        obj["metadata"]["annotations"][key] = value
    return change


def _spec(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        if value is None:
            del obj["spec"][key]
        else:
            obj["spec"][key] = value
    return change


BROKEN = {
    "overcommit 400 %": ("Server", MLSERVER_POOL, _overcommit_400, "overcommit",
                         f"Server/{NAMESPACE}/{MLSERVER_POOL}"),
    "30 s startup beside a 5 GiB model": ("Server", TRITON_POOL, _short_startup,
                                          "probe-windows", f"Server/{NAMESPACE}/{TRITON_POOL}"),
    "p-value 0.05": ("Model", "scorer-drift",
                     _annotation("modelops.dev/drift-p-value", "0.05"), "drift",
                     f"Model/{NAMESPACE}/scorer-drift"),
    "2,000-row reference": ("Model", "scorer-drift",
                            _annotation("modelops.dev/drift-reference-rows", "2000"), "drift",
                            f"Model/{NAMESPACE}/scorer-drift"),
    ":latest URI": ("Model", "encoder", _spec("storageUri", f"{PREFIX}encoder:latest"),
                    "artifacts", f"Model/{NAMESPACE}/encoder"),
    "memory unset": ("Model", "encoder", _spec("memory", None), None,
                     f"Model/{NAMESPACE}/encoder"),
    "one replica where the environment's minimum is 2": (
        "Model", "encoder", _spec("minReplicas", 1), None, f"Model/{NAMESPACE}/encoder"),
    "unlisted bucket": ("Model", "encoder",
                        _spec("storageUri", "gs://someone-elses-bucket/encoder/v7"),
                        "artifacts", f"Model/{NAMESPACE}/encoder"),
}


def _memory_policy() -> str:
    """The folder of the policy that owns memory and replica rules (named by its author)."""
    names = [p.parent.name for p in REPO_ROOT.glob("policies/*/policy.rego")
             if "minReplicas" in p.read_text() and "memory" in p.read_text()]
    assert len(names) == 1, names
    return names[0]


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_each_broken_rule_fails_the_gate_naming_policy_and_object(gate_repo: Path,
                                                                   case: str) -> None:
    kind, name, change, policy, shown = BROKEN[case]
    if kind == "Server" and name == TRITON_POOL:
        # The large model: embedder's artifact is over 2 GiB on this pool already; make it
        # 5 GiB so the rule's reason is unmistakable.
        edit_rendered(gate_repo, LIVE, "Model", "embedder",
                      _annotation("modelops.dev/artifact-size", "5Gi"))
    edit_rendered(gate_repo, LIVE, kind, name, change)
    result = run_cli("policy", "--env", LIVE, repo=gate_repo)
    assert result.rc == 1, result
    policy = policy or _memory_policy()
    denies = [line for line in result.stdout.splitlines() if line.startswith("DENY")]
    assert any(f"[{policy}] {shown}:" in line for line in denies), result.stdout


def test_warnings_alone_pass(gate_repo: Path) -> None:
    # small's cpu-pool registers 24Gi. forecaster at 10Gi x 1 fits (~15Gi planned with bulk);
    # at maxReplicas 2 it would add 10Gi more (~25Gi): a warning, no deny.
    edit_rendered(gate_repo, SMALL, "Model", "forecaster", _spec("memory", "10Gi"))
    result = run_cli("policy", "--env", SMALL, repo=gate_repo)
    assert result.rc == 0, result
    assert f"WARN [overcommit] Model/models-{SMALL}/forecaster" in result.stdout
    assert "DENY" not in result.stdout


def test_file_judged_as_part_of_an_environment(gate_repo: Path, tmp_path: Path) -> None:
    # A 40 GiB model fits no pool of live: denied with the environment as context, not alone
    # (on its own its server is unknown).
    manifest = tmp_path / "big.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
        "metadata": {"name": "giant", "namespace": NAMESPACE,
                     "annotations": {"modelops.dev/artifact-size": "1Gi"}},
        "spec": {"storageUri": uri("giant"), "memory": "40Gi",
                 "server": MLSERVER_POOL, "replicas": 2, "minReplicas": 2,
                 "maxReplicas": 2, "requirements": ["sklearn"]}}))
    in_env = run_cli("policy", "--env", LIVE, str(manifest), repo=gate_repo)
    assert in_env.rc == 1
    assert f"[overcommit] Model/{NAMESPACE}/giant:" in in_env.stdout


# ------------------------------------------------------------------------------------- plan

def server(name: str, replicas: int, memory: str, overcommit: int,
           runtime: str = "mlserver") -> dict[str, Any]:
    return {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server",
            "metadata": {"name": name},
            "spec": {"serverConfig": runtime, "replicas": replicas, "podSpec": {"containers": [
                {"name": runtime, "resources": {"requests": {"memory": memory}}},
                {"name": "agent", "env": [{"name": "SELDON_OVERCOMMIT_PERCENTAGE",
                                            "value": str(overcommit)}]}]}}}


def model(name: str, memory: str | None, replicas: int, server_name: str | None,
          requirements: tuple[str, ...] = ("sklearn",), min_replicas: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {"replicas": replicas, "requirements": list(requirements)}
    if memory is not None:
        spec["memory"] = memory
    if server_name is not None:
        spec["server"] = server_name
    if min_replicas:
        spec["minReplicas"] = min_replicas
    return {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
            "metadata": {"name": name}, "spec": spec}


def test_plan_matches_hand_worked_placements() -> None:
    from modelops.plan import plan_objects

    # Pool "cpu": 3 replicas x 4Gi, overcommit 0, so each replica registers 4Gi.
    # Name order: a (3Gi x2) -> replicas 0,1 (all have 4Gi free; ties by index)  free [1,1,4]
    #             b (1Gi x3) -> all three fit (free >= 1Gi)                      free [0,0,3]
    #             c (2Gi x2) -> only replica 2 has room: 1 < 2, no minReplicas -> FAILED
    #             d (2Gi x2, minReplicas 1) -> partial on replica 2               free [0,0,1]
    #             e (no memory, x3) -> counts 0 bytes: fits everywhere
    #             f (onnx) -> cpu lacks the capability -> FAILED
    #             g (pinned to a missing server) -> FAILED
    #             h (1Gi x4) -> 4 replicas need 4 distinct server replicas -> FAILED
    objects = [server("cpu", 3, "4Gi", 0),
               model("a", "3Gi", 2, "cpu"), model("b", "1Gi", 3, "cpu"),
               model("c", "2Gi", 2, "cpu"), model("d", "2Gi", 2, "cpu", min_replicas=1),
               model("e", None, 3, "cpu"), model("f", "1Gi", 1, "cpu", ("onnx",)),
               model("g", "1Gi", 1, "gpu"), model("h", "1Gi", 4, "cpu")]
    report = plan_objects("test", objects)
    placed = {p["model"]: (p["outcome"], p["replicas"]) for p in report["placements"]}
    assert placed == {"a": ("scheduled", [0, 1]), "b": ("scheduled", [0, 1, 2]),
                      "c": ("failed", []), "d": ("partial", [2]),
                      "e": ("scheduled", [0, 1, 2]), "f": ("failed", []),
                      "g": ("failed", []), "h": ("failed", [])}
    reasons = {p["model"]: p["reason"] for p in report["placements"]}
    assert "1 have room" in reasons["c"]
    assert "lacks capabilities onnx" in reasons["f"]
    assert "server gpu does not exist" in reasons["g"]
    assert "4 distinct server replicas" in reasons["h"]
    (pool,) = report["pools"]
    gib = 1 << 30
    assert pool["replica_used_bytes"] == [4 * gib, 4 * gib, 3 * gib]
    assert pool["planned_bytes"] == 11 * gib and pool["physical_bytes"] == 12 * gib
    assert pool["headroom_bytes"] == 1 * gib
    assert pool["unscheduled"] == ["c", "d", "f", "h"]


def test_plan_prefers_most_free_memory_and_applies_overcommit() -> None:
    from modelops.plan import plan_objects

    # 2 replicas x 10Gi at 50 %: each registers 15Gi. x (12Gi) -> replica 0; y (6Gi) then goes
    # to replica 1 (15Gi free beats 3Gi); z (9Gi x1) -> replica 1 has 9Gi left: fits exactly.
    objects = [server("pool", 2, "10Gi", 50), model("x", "12Gi", 1, "pool"),
               model("y", "6Gi", 1, "pool"), model("z", "9Gi", 1, "pool")]
    report = plan_objects("test", objects)
    assert [(p["model"], p["replicas"]) for p in report["placements"]] == [
        ("x", [0]), ("y", [1]), ("z", [1])]
    assert report["pools"][0]["configured_ratio"] == 1.5
    assert report["pools"][0]["planned_ratio"] == pytest.approx(27 / 20)


def test_plan_cli_exits_1_when_a_model_cannot_be_scheduled(gate_repo: Path) -> None:
    models = rendered_models(gate_repo, LIVE)
    ok = run_cli("plan", "--env", LIVE, repo=gate_repo)
    assert ok.rc == 0 and f"{models} of {models} models fully scheduled" in ok.stdout
    edit_rendered(gate_repo, LIVE, "Model", "encoder", _spec("memory", "90Gi"))
    bad = run_cli("plan", "--env", LIVE, "--format", "json", repo=gate_repo)
    assert bad.rc == 1
    (report,) = json.loads(bad.stdout)
    failed = [p for p in report["placements"] if p["outcome"] == "failed"]
    assert [p["model"] for p in failed] == ["encoder"]


# -------------------------------------------------------------------------------- check

def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def git_repo(gate_repo: Path) -> Path:
    git(gate_repo, "init", "-q", "-b", "main")
    git(gate_repo, "add", "-A")
    git(gate_repo, "commit", "-qm", "base")
    return gate_repo


def check(repo: Path, *args: str) -> CliResult:
    return run_cli("check", "--crds", str(CRDS), *args, repo=repo)


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def test_full_check_passes_on_the_samples() -> None:
    result = check(REPO_ROOT, "--format", "json")
    assert result.rc == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["result"] == "passed"
    assert [env["name"] for env in report["environments"]] == list(ENVIRONMENTS)
    assert all(env["scope"] == "everything" for env in report["environments"])


def test_full_check_passes_on_specs_of_required_fields_only(tmp_path: Path) -> None:
    """A model with only its required fields, in an environment without its optional
    sections, renders, validates strictly, passes the policies and schedules (the documented
    defaults fill the rest)."""
    minimal = model_spec("bare")
    schema = json.loads((REPO_ROOT / "generators/schemas/modeldeployment.schema.json")
                        .read_text())
    spec_schema = schema["$defs"][schema["properties"]["spec"]["$ref"].rsplit("/", 1)[1]]
    # The schema cannot require `server`: only a Seldon model (the default target) needs one,
    # which the loader checks.
    assert sorted(minimal["spec"]) == sorted([*spec_schema["required"], "server"])
    env = environment("bare-env", minimal)
    env_schema = json.loads((REPO_ROOT / "generators/schemas/environment.schema.json")
                            .read_text())
    env_spec = env_schema["$defs"][env_schema["properties"]["spec"]["$ref"].rsplit("/", 1)[1]]
    assert sorted(env.document["spec"]) == sorted(env_spec["required"])
    repo = build_repo(tmp_path / "repo", env, policies=True)
    result = check(repo, "--format", "json")
    assert result.rc == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["result"] == "passed"


def test_check_base_summarises_a_uri_bump(git_repo: Path) -> None:
    spec = git_repo / f"environments/{LIVE}/models/scorer.yaml"
    replace_once(spec, uri("scorer"), uri("scorer", 2))
    replace_once(spec, "memory: 2Gi", "memory: 3Gi")
    assert run_cli("render", repo=git_repo).rc == 0
    commit_all(git_repo, "bump scorer")
    result = check(git_repo, "--base", "HEAD~1", "--format", "markdown")
    assert result.rc == 0, result.stdout
    md = result.stdout
    assert "✅ modelops check passed" in md
    assert f"{LIVE} (1 model(s): scorer)" in md
    assert f"`{uri('scorer')}` → `{uri('scorer', 2)}`" in md
    assert "| 2Gi → 3Gi |" in md
    # 3 replicas x 1Gi more on cpu-pool.
    growth = re.search(r"(\d+\.\d\d)Gi → (\d+\.\d\d)Gi \(\+3\.00Gi\)", md)
    assert growth, md
    assert float(growth[2]) - float(growth[1]) == pytest.approx(3.0)
    as_json = json.loads(check(git_repo, "--base", "HEAD~1", "--format", "json").stdout)
    (live,) = as_json["environments"]
    rendered = git_repo / "environments" / LIVE / "rendered"
    own_files = list((rendered / "models").glob("scorer.*"))
    env_files = list((rendered / "environment").iterdir())
    assert live["reviewed"] == len(own_files) + len(env_files)   # proportional to the change
    # the plan covers the pools: every Model of the environment
    assert len(live["plan"]["placements"]) == rendered_models(git_repo, LIVE)


def test_check_base_fails_on_a_new_deny_and_a_stale_render(git_repo: Path) -> None:
    server = find_rendered(git_repo, LIVE, "Server", MLSERVER_POOL).relative_to(git_repo)
    model_file = find_rendered(git_repo, SMALL, "Model", "forecaster").relative_to(git_repo)
    edit_rendered(git_repo, LIVE, "Server", MLSERVER_POOL, _overcommit_400)
    replace_once(git_repo / f"environments/{SMALL}/models/forecaster.yaml",
                 "size: 100Mi", "size: 120Mi")     # and `make render` forgotten
    commit_all(git_repo, "hand edit and unrendered change")
    result = check(git_repo, "--base", "HEAD~1", "--format", "markdown")
    assert result.rc == 1
    assert "❌ modelops check failed" in result.stdout
    assert f"**overcommit** `Server/{NAMESPACE}/{MLSERVER_POOL}`" in result.stdout
    assert f"stale: {server.as_posix()}" in result.stdout
    assert f"stale: {model_file.as_posix()}" in result.stdout


def test_check_base_with_docs_only_change_checks_nothing(git_repo: Path) -> None:
    (git_repo / "NOTES.md").write_text("just words\n")
    commit_all(git_repo, "docs")
    result = check(git_repo, "--base", "HEAD~1", "--format", "json")
    assert result.rc == 0
    assert json.loads(result.stdout)["environments"] == []


def test_check_base_on_environment_change_scopes_the_environment(git_repo: Path) -> None:
    replace_once(git_repo / f"environments/{SMALL}/environment.yaml", "replicas: 1\n",
                 "replicas: 2\n")
    assert run_cli("render", repo=git_repo).rc == 0
    commit_all(git_repo, f"grow {SMALL}'s Triton pool")
    report = json.loads(check(git_repo, "--base", "HEAD~1", "--format", "json").stdout)
    assert [(e["name"], e["scope"]) for e in report["environments"]] == [
        (SMALL, "everything")]


def test_check_base_rejects_an_unknown_ref(git_repo: Path) -> None:
    result = check(git_repo, "--base", "no-such-ref")
    assert result.rc == 2
    assert "git rev-parse" in result.stderr and "Traceback" not in result.stderr


def test_check_base_on_a_broken_spec_exits_2_located(git_repo: Path) -> None:
    replace_once(git_repo / f"environments/{LIVE}/models/encoder.yaml", "framework:",
                 "memroy: 1Gi\n  framework:")
    commit_all(git_repo, "typo")
    result = check(git_repo, "--base", "HEAD~1")
    assert result.rc == 2
    assert f"environments/{LIVE}/models/encoder.yaml:" in result.stderr
    assert "memroy" in result.stderr and "Traceback" not in result.stderr


def test_check_base_in_a_repository_inside_a_larger_checkout(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    repo = _gate_repo(outer / "ml" / "modelops")
    git(outer, "init", "-q", "-b", "main")
    commit_all(outer, "base")
    replace_once(repo / f"environments/{LIVE}/models/scorer.yaml", uri("scorer"),
                 uri("scorer", 2))
    assert run_cli("render", repo=repo).rc == 0
    commit_all(outer, "bump")
    report = json.loads(check(repo, "--base", "HEAD~1", "--format", "json").stdout)
    (live,) = report["environments"]
    assert live["scope"] == ["scorer"]
    (change,) = live["changes"]
    assert change["before"]["storageUri"] == uri("scorer")
    assert change["after"]["storageUri"] == uri("scorer", 2)
