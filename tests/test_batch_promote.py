"""`modelops promote` of a model new to the target maps its batch input and output like its
artifacts, on real git in a repository written here (two environments, each with its bucket)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from conftest import CliResult, find_rendered
from envrepo import git, git_repo, write_environment, write_model

RULE = {"from": "src", "rewrite": [{"from": "gs://bucket-src/", "to": "gs://bucket-dst/"}]}
SMOKE = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}


def _repo(root: Path, run_main: Callable[..., CliResult], output: str,
          src_prefixes: list[str] | None = None) -> Path:
    write_environment(root, "src", server="https://src.k8s.test", prefixes=src_prefixes)
    write_environment(root, "dst", server="https://dst.k8s.test", promotion=[RULE])
    write_model(root, "src", "m", "gs://bucket-src/m/2", smoke=SMOKE, batch={
        "schedule": "0 5 * * *", "input": "gs://bucket-src/batch/m/in.csv", "output": output})
    assert run_main("render", repo=root).rc == 0
    return git_repo(root)


def test_a_new_models_batch_uris_are_mapped(tmp_path: Path,
                                            run_main: Callable[..., CliResult]) -> None:
    repo = _repo(tmp_path, run_main, "gs://bucket-src/batch/m/out/")
    result = run_main("promote", "m", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 0, result.stderr
    batch = yaml.safe_load((repo / "environments/dst/models/m.yaml").read_text())["spec"]["batch"]
    assert (batch["input"], batch["output"]) == ("gs://bucket-dst/batch/m/in.csv",
                                                 "gs://bucket-dst/batch/m/out/")
    cronjob = yaml.safe_load(find_rendered(repo, "dst", "CronJob", "batch-m").read_text())
    args = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "gs://bucket-dst/batch/m/in.csv" in args and "gs://bucket-dst/batch/m/out/" in args
    assert git(repo, "status", "--porcelain") == ""


def test_a_batch_uri_the_target_does_not_accept_is_refused(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    repo = _repo(tmp_path, run_main, "gs://scores/m/", ["gs://bucket-src/", "gs://scores/"])
    head = git(repo, "rev-parse", "HEAD")
    result = run_main("promote", "m", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 2
    assert "src's spec.batch.output 'gs://scores/m/' is not accepted by dst" in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""
