"""`modelops promote` along the paths environments declare, on real git in temporary repos.

Every repository here is written from scratch (two environments, `src` and `dst`, each with
its own bucket), except the last test, which reads the promotion paths the shipped samples
declare and promotes every sample model along them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, CliResult, copy_repo, find_rendered, snapshot
from envrepo import git, git_repo, write_environment, write_model

RULE = {"from": "src", "rewrite": [{"from": "gs://bucket-src/", "to": "gs://bucket-dst/"}]}
DST_SPEC = "environments/dst/models/m.yaml"


def _repo(root: Path, promotion: list[dict[str, Any]] | None = None,
          dst_prefixes: list[str] | None = None) -> Path:
    write_environment(root, "src", server="https://src.k8s.test")
    write_environment(root, "dst", server="https://dst.k8s.test", prefixes=dst_prefixes,
                      promotion=[RULE] if promotion is None else promotion)
    write_model(root, "src", "m", "gs://bucket-src/m/2", memory="1Gi")
    write_model(root, "src", "pre", "gs://bucket-src/pre/7")
    write_model(root, "src", "n", "gs://bucket-src/n/3", replicas={"min": 3, "max": 3},
                alerts={"p99LatencyMs": 100}, processing={"pre": ["pre"]},
                drift={"reference": "gs://bucket-src/n/drift/3", "referenceRows": 5000,
                       "pValue": 0.01, "batchSize": 100},
                rollout={"strategy": "canary",
                         "candidate": {"uri": "gs://bucket-src/n/4", "weight": 10}})
    path = write_model(root, "dst", "m", "gs://bucket-dst/m/1", memory="2Gi")
    path.write_text(path.read_text().replace("    uri: gs://bucket-dst/m/1\n",
                                             "    uri: gs://bucket-dst/m/1  # deployed\n"))
    return root


@pytest.fixture
def repo(tmp_path: Path, run_main: Callable[..., CliResult]) -> Path:
    root = _repo(tmp_path)
    assert run_main("render", repo=root).rc == 0
    return git_repo(root)


def _state(repo: Path) -> tuple[str, str, dict[str, bytes]]:
    return (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"),
            {k: v for k, v in snapshot(repo).items() if not k.startswith(".git/")})


def test_an_existing_model_gets_the_mapped_artifact_only(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    spec_before = (repo / DST_SPEC).read_text()
    result = run_main("promote", "m", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 0, result.stderr
    assert "m: gs://bucket-dst/m/1 -> gs://bucket-dst/m/2" in result.stdout
    assert (repo / DST_SPEC).read_text() == spec_before.replace("m/1  # deployed",
                                                                "m/2  # deployed")
    assert git(repo, "log", "-1", "--format=%s") == "Promote m to dst: gs://bucket-dst/m/2\n"
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == [
        DST_SPEC, "environments/dst/rendered/models/m.model-m.yaml"]
    assert run_main("render", "--check", repo=repo).rc == 0
    head = git(repo, "rev-parse", "HEAD")
    again = run_main("promote", "m", "--from", "src", "--to", "dst", repo=repo)
    assert again.rc == 0 and "nothing to do" in again.stdout
    assert git(repo, "rev-parse", "HEAD") == head
    back = run_main("rollback", "dst", "m", repo=repo)  # undone like any artifact change
    assert back.rc == 0, back.stderr
    assert (repo / DST_SPEC).read_text() == spec_before


def test_several_models_and_a_new_one_in_one_commit(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    start = git(repo, "rev-parse", "HEAD").strip()
    result = run_main("promote", "m", "n", "pre", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 0, result.stderr
    assert git(repo, "rev-list", "--count", f"{start}..HEAD") == "1\n"
    assert git(repo, "log", "-1", "--format=%s") == "Promote 3 models from src to dst\n"
    body = git(repo, "log", "-1", "--format=%b")
    assert "dst/n: (new model) -> gs://bucket-dst/n/3" in body
    new = yaml.safe_load((repo / "environments/dst/models/n.yaml").read_text())
    assert new["spec"]["artifact"]["uri"] == "gs://bucket-dst/n/3"
    assert new["spec"]["drift"]["reference"] == "gs://bucket-dst/n/drift/3"
    assert new["spec"]["processing"] == {"pre": ["pre"]}
    assert not {"memory", "replicas", "alerts", "rollout"} & set(new["spec"])
    model = yaml.safe_load(find_rendered(repo, "dst", "Model", "n").read_text())
    assert model["spec"]["replicas"] == 1  # dst's defaults.replicas.min, not src's 3
    assert model["spec"]["storageUri"] == "gs://bucket-dst/n/3"
    assert (repo / "environments/dst/models/n.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../../../generators/schemas/")
    assert run_main("render", "--check", repo=repo).rc == 0
    assert git(repo, "status", "--porcelain") == ""


def test_a_release_bucket_both_trust_needs_no_rewrite(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    root = _repo(tmp_path, promotion=[{"from": "src"}],
                 dst_prefixes=["gs://bucket-dst/", "gs://bucket-src/m/"])
    assert run_main("render", repo=root).rc == 0
    git_repo(root)
    result = run_main("promote", "m", "--from", "src", "--to", "dst", repo=root)
    assert result.rc == 0, result.stderr
    assert yaml.safe_load((root / DST_SPEC).read_text())["spec"]["artifact"]["uri"] == \
        "gs://bucket-src/m/2"


def test_no_promotion_entry_says_what_to_add(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    root = _repo(tmp_path, promotion=[])
    assert run_main("render", repo=root).rc == 0
    git_repo(root)
    before = _state(root)
    result = run_main("promote", "m", "--from", "src", "--to", "dst", repo=root)
    assert result.rc == 2
    assert ("dst accepts no models from src: environments/dst/environment.yaml:7 "
            "spec.promotion has no entry for it (accepts from: none). Add `- {from: src, "
            "rewrite: [{from: gs://bucket-src/, to: gs://bucket-dst/}]}` to spec.promotion"
            ) in result.stderr
    assert _state(root) == before


def test_an_unmatched_uri_names_the_rule_to_add(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    write_model(repo, "src", "x", "gs://elsewhere/x/1")
    env = repo / "environments/src/environment.yaml"
    env.write_text(env.read_text().replace("- gs://bucket-src/", "- gs://bucket-src/\n    - "
                                           "gs://elsewhere/"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "x in another bucket")
    before = _state(repo)
    result = run_main("promote", "m", "x", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 2
    assert ("x: src's spec.artifact.uri 'gs://elsewhere/x/1' is not accepted by dst: "
            "environments/dst/environment.yaml:13 spec.artifacts.allowedPrefixes is "
            "[gs://bucket-dst/] and no rule of spec.promotion[0].rewrite (from: src) matches "
            "it. Add `{from: gs://elsewhere/, to: gs://bucket-dst/}` to "
            "spec.promotion[0].rewrite") in result.stderr
    assert _state(repo) == before  # m was fine, but nothing moves alone


@pytest.mark.parametrize(("args", "message"), [
    (("nope",), "no model 'nope' in environment 'src'"),
    (("m", "--from", "dst", "--to", "dst"), "--from and --to name the same environment"),
    (("m", "--from", "src", "--to", "qa"), "unknown environment 'qa'"),
])
def test_bad_requests_exit_2(repo: Path, run_main: Callable[..., CliResult],
                             args: tuple[str, ...], message: str) -> None:
    argv = list(args) if "--from" in args else [*args, "--from", "src", "--to", "dst"]
    before = _state(repo)
    result = run_main("promote", *argv, repo=repo)
    assert result.rc == 2
    assert message in result.stderr
    assert _state(repo) == before


def test_a_new_model_whose_pool_the_target_lacks_is_refused(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    env = repo / "environments/src/environment.yaml"
    data = yaml.safe_load(env.read_text())
    data["spec"]["servers"]["big"] = dict(data["spec"]["servers"]["cpu"])
    env.write_text(yaml.safe_dump(data, sort_keys=False))
    write_model(repo, "src", "b", "gs://bucket-src/b/1", server="big")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pool big")
    result = run_main("promote", "b", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 2
    assert "b is new to dst and runs on pool 'big', which environments/dst/environment.yaml" \
        ":15 spec.servers does not have (cpu): add the pool" in result.stderr


@pytest.mark.parametrize(("promotion", "message"), [
    ([{"from": "dst"}], "spec.promotion[0].from: an environment cannot promote from itself"),
    ([{"from": "src"}, {"from": "src"}], "spec.promotion[1].from: 'src' is listed twice"),
    ([{"from": "src", "rewrite": [{"from": "gs://bucket-src/", "to": "gs://other/"}]}],
     "spec.promotion[0].rewrite[0].to: 'gs://other/' is not under "
     "spec.artifacts.allowedPrefixes (gs://bucket-dst/)"),
    ([{"from": "src", "rewrite": [{"from": "gs://bucket-src", "to": "gs://bucket-dst/"}]}],
     "spec.promotion[0].rewrite[0].from: 'gs://bucket-src' must end with '/'"),
    ([{"from": "src", "rewrite": [{"form": "gs://a/", "to": "gs://bucket-dst/"}]}],
     "spec.promotion[0].rewrite[0].form: unknown field 'form'; did you mean 'from'?"),
])
def test_promotion_settings_are_strict(tmp_path: Path, run_main: Callable[..., CliResult],
                                       promotion: list[dict[str, Any]], message: str) -> None:
    root = _repo(tmp_path, promotion=promotion)
    result = run_main("render", repo=root)
    assert result.rc == 2
    assert "environments/dst/environment.yaml:" in result.stderr
    assert message in result.stderr, result.stderr
    assert not (root / "environments/dst/rendered").exists()


def test_the_samples_promote_every_model_along_their_declared_paths(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    root = git_repo(copy_repo(tmp_path / "samples"))
    paths = []
    for env_file in sorted((root / "environments").glob("*/environment.yaml")):
        spec = yaml.safe_load(env_file.read_text())["spec"]
        paths += [(entry["from"], env_file.parent.name) for entry in spec.get("promotion", [])
                  if any((root / "environments" / entry["from"] / "models").glob("*.yaml"))]
    if not paths:   # a fork may declare none, or only from environments it removed
        pytest.skip("no promotion path from an existing environment with models")
    for source, target in paths:
        models = sorted(p.stem for p in (root / "environments" / source / "models").glob("*.yaml"))
        result = run_main("promote", *models, "--from", source, "--to", target, repo=root)
        assert result.rc == 0, f"{source} -> {target}: {result.stderr}"
        assert git(root, "status", "--porcelain") == ""
    assert run_main("render", "--check", repo=root).rc == 0


def test_promotion_from_a_removed_environment_is_a_warning(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    # Removing an environment must not break those that promoted from it: render and check
    # list the stale entry (file, line, field) and pass; promoting from it is refused.
    root = _repo(tmp_path, promotion=[{"from": "src"}, {"from": "gone"}])
    result = run_main("render", repo=root)
    assert result.rc == 0, result.stderr
    assert ("environments/dst/environment.yaml:" in result.stderr
            and "spec.promotion[1].from: no environment 'gone'" in result.stderr)
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    checked = run_main("check", "--format", "json", repo=root)
    assert "no environment 'gone'" in " ".join(json.loads(checked.stdout)["stalePromotions"]), (
        checked.stderr)
    refused = run_main("promote", "m", "--from", "gone", "--to", "dst", repo=git_repo(root))
    assert refused.rc == 2 and "gone" in refused.stderr and "Traceback" not in refused.stderr
