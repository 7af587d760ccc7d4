"""`modelops env new`: one step writes an environment that renders, or nothing at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import CliResult, snapshot
from envrepo import write_environment, write_model

NEW = ("env", "new", "gamma", "--from", "alpha", "--namespace", "models-gamma",
       "--cluster", "gamma-k8s=https://gamma.k8s.test")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = write_environment(tmp_path, "alpha", server="https://one.k8s.test")
    path.write_text(path.read_text().replace("  namespace: models-alpha\n",
                                             "  namespace: models-alpha  # keep me\n"))
    write_model(tmp_path, "alpha", "m", "gs://bucket-alpha/m/1")
    write_environment(tmp_path, "beta", namespace="shared", server="https://two.k8s.test")
    return tmp_path


def test_copies_the_environment_with_four_values_changed(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    result = run_main(*NEW, repo=repo)
    assert result.rc == 0, result.stderr
    assert "environments/gamma/environment.yaml" in result.stdout
    assert "`make render`" in result.stdout
    source = (repo / "environments" / "alpha" / "environment.yaml").read_text()
    created = (repo / "environments" / "gamma" / "environment.yaml").read_text()
    assert created == source.replace("name: alpha", "name: gamma") \
        .replace("models-alpha  # keep me", "models-gamma  # keep me") \
        .replace("name: alpha-k8s", "name: gamma-k8s") \
        .replace("https://one.k8s.test", "https://gamma.k8s.test")
    data = yaml.safe_load(created)["spec"]
    assert data["kafka"]["topicPrefix"] == "seldon"
    assert not (repo / "environments" / "gamma" / "models").exists()
    rendered = run_main("render", repo=repo)
    assert rendered.rc == 0, rendered.stderr
    assert (repo / "environments" / "gamma" / "rendered").is_dir()


def test_with_models_copies_the_specs(repo: Path,
                                      run_main: Callable[..., CliResult]) -> None:
    assert run_main(*NEW, "--with-models", repo=repo).rc == 0
    assert (repo / "environments" / "gamma" / "models" / "m.yaml").read_bytes() == \
        (repo / "environments" / "alpha" / "models" / "m.yaml").read_bytes()


@pytest.mark.parametrize(("args", "message"), [
    (("alpha",), "environment 'alpha' exists already (environments/alpha)"),
    (("Gamma",), "environment name 'Gamma': 'Gamma' is not a DNS-1123 label"),
    (("platform",), "environment name 'platform': 'platform' is reserved"),
    (("gamma", "--namespace", "Bad_NS"), "--namespace 'Bad_NS': 'Bad_NS' is not a DNS-1123"),
    (("gamma", "--from", "nope"), "--from 'nope': no such environment; known: alpha, beta"),
    (("gamma", "--cluster", "gamma"), "--cluster 'gamma': expected NAME=URL"),
    (("gamma", "--cluster", "g=http://x"), "--cluster 'g=http://x': bad URL"),
    (("gamma", "--cluster", "G=https://x"), "--cluster 'G=https://x': bad NAME"),
    (("gamma", "--namespace", "shared", "--cluster", "g=https://TWO.k8s.test/"),
     "namespace 'shared' on cluster https://TWO.k8s.test/ is already used by environment "
     "'beta' (environments/beta/environment.yaml:7)"),
])
def test_refusals_exit_2_and_write_nothing(repo: Path, run_main: Callable[..., CliResult],
                                           args: tuple[str, ...], message: str) -> None:
    argv = list(NEW)
    argv[2] = args[0]
    for i in range(1, len(args), 2):
        argv[argv.index(args[i]) + 1] = args[i + 1]
    before = snapshot(repo)
    result = run_main(*argv, repo=repo)
    assert result.rc == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(repo) == before


def test_a_copy_that_would_not_load_is_removed(repo: Path,
                                               run_main: Callable[..., CliResult]) -> None:
    # a model spec in alpha names a pool alpha lacks: copying it must not leave gamma behind
    write_model(repo, "alpha", "broken", "gs://bucket-alpha/b/1", server="gpu")
    before = snapshot(repo)
    result = run_main(*NEW, "--with-models", repo=repo)
    assert result.rc == 2
    assert "environments/gamma/models/broken.yaml" in result.stderr
    assert "no server pool 'gpu'" in result.stderr
    assert snapshot(repo) == before
