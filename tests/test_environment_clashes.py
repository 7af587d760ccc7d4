"""Two environments that would own the same objects are an error naming both files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import CliResult, snapshot
from envrepo import write_environment, write_model
from modelops.clashes import cluster_key


def _two_environments(root: Path, **second: object) -> None:
    write_environment(root, "alpha", namespace="models", server="https://one.k8s.test")
    write_model(root, "alpha", "m", "gs://bucket-alpha/m/1")
    write_environment(root, "beta", **second)  # type: ignore[arg-type]
    write_model(root, "beta", "m", "gs://bucket-beta/m/1")


def test_same_cluster_and_namespace_names_both_files(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    _two_environments(tmp_path, namespace="models", server="https://ONE.k8s.test:443/")
    before = snapshot(tmp_path)
    for selection in ([], ["--env", "alpha"], ["--env", "beta"]):
        result = run_main("render", *selection, repo=tmp_path)
        assert result.rc == 2, result
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert lines[0].startswith("environments/beta/environment.yaml:7:14: spec.namespace: "
                                   "namespace 'models' on cluster https://ONE.k8s.test:443/ "
                                   "is also the namespace of environment 'alpha' "
                                   "(environments/alpha/environment.yaml:7, cluster at "
                                   "environments/alpha/environment.yaml:10)")
        assert "same Kafka topics (seldon.models.* in kafka/seldon)" in lines[0]
        assert lines[-1] == "modelops: 1 problem(s); nothing was written"
        assert snapshot(tmp_path) == before


def test_other_kafka_is_not_mentioned_but_still_a_clash(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    _two_environments(tmp_path, namespace="models", server="https://one.k8s.test")
    path = tmp_path / "environments" / "beta" / "environment.yaml"
    path.write_text(path.read_text().replace("topicPrefix: seldon", "topicPrefix: other"))
    result = run_main("render", repo=tmp_path)
    assert result.rc == 2
    assert "two Argo CD Applications would own the same objects;" in result.stderr
    assert "Kafka" not in result.stderr


def test_same_namespace_on_other_clusters_renders(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    _two_environments(tmp_path, namespace="models", server="https://two.k8s.test")
    result = run_main("render", repo=tmp_path)
    assert result.rc == 0, result.stderr
    assert (tmp_path / "environments" / "beta" / "rendered").is_dir()


def test_a_broken_other_environment_does_not_hide_behind_the_clash_check(
        tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    _two_environments(tmp_path, namespace="models", server="https://one.k8s.test")
    path = tmp_path / "environments" / "alpha" / "environment.yaml"
    path.write_text(path.read_text().replace("replicas: 2\n", "replicas: '2'\n"))
    only_beta = run_main("render", "--env", "beta", repo=tmp_path)
    assert only_beta.rc == 0, only_beta.stderr  # alpha is unreadable: nothing to compare with
    both = run_main("render", "--check", repo=tmp_path)
    assert both.rc == 2
    assert "environments/alpha/environment.yaml" in both.stderr


def test_cluster_key_spellings() -> None:
    assert cluster_key("https://A.example:443/") == cluster_key("https://a.example")
    assert cluster_key("https://a.example:6443") != cluster_key("https://a.example")
    assert cluster_key("https://a.example/x") != cluster_key("https://a.example")
