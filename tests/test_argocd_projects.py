"""`modelops render` writes the Argo CD AppProjects and kustomization the environments need.

Each test builds its own repository: the real `platform/argocd/` and `platform/stack/` files,
and environments written from scratch, so nothing depends on the sample environments.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, CliResult, snapshot
from envrepo import write_environment, write_model
from modelops.argocd import NAMESPACED_KINDS

ARGOCD = Path("platform") / "argocd"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for part in (ARGOCD, Path("platform") / "stack"):
        shutil.copytree(REPO_ROOT / part, tmp_path / part)
    shutil.copy2(REPO_ROOT / "organization.yaml", tmp_path / "organization.yaml")
    for env, server in (("alpha", "https://one.k8s.test"), ("beta", "https://two.k8s.test")):
        write_environment(tmp_path, env, server=server)
        write_model(tmp_path, env, "m", f"gs://bucket-{env}/m/1")
    return tmp_path


def _objects(repo: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(repo / ARGOCD)], capture_output=True,
                         text=True, check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(out.stdout)}


def test_render_writes_a_project_per_environment(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    for stale in (repo / ARGOCD / "projects").glob("*.yaml"):
        stale.unlink()  # the samples' projects: a stale one of an environment not here
    assert run_main("render", repo=repo).rc == 0
    assert sorted(p.name for p in (repo / ARGOCD / "projects").iterdir()) == [
        "alpha.yaml", "beta.yaml", "platform.yaml"]
    objects = _objects(repo)
    projects = {name: obj for (kind, name), obj in objects.items() if kind == "AppProject"}
    assert sorted(projects) == ["modelops-alpha", "modelops-beta", "modelops-platform"]
    beta = projects["modelops-beta"]["spec"]
    assert beta["destinations"] == [{"server": "https://two.k8s.test", "namespace": "kafka"},
                                    {"server": "https://two.k8s.test",
                                     "namespace": "models-beta"}]
    assert [(k["group"], k["kind"]) for k in beta["namespaceResourceWhitelist"]] == \
        list(NAMESPACED_KINDS)
    root = yaml.safe_load((repo / ARGOCD / "root-application.yaml").read_text())
    assert beta["sourceRepos"] == [root["spec"]["source"]["repoURL"]]
    platform = projects["modelops-platform"]["spec"]
    assert {d["server"] for d in platform["destinations"]} == {
        "https://kubernetes.default.svc", "https://one.k8s.test", "https://two.k8s.test"}
    assert "https://seldonio.github.io/helm-charts" in platform["sourceRepos"]
    assert ("ApplicationSet", "modelops-environments") in objects
    assert "resource.customizations.health.mlops.seldon.io_Model" in \
        objects[("ConfigMap", "argocd-cm")]["data"]
    check = run_main("render", "--check", repo=repo)
    assert check.rc == 0, check.stdout + check.stderr
    again = snapshot(repo)
    assert run_main("render", repo=repo).rc == 0
    assert snapshot(repo) == again


def test_check_fails_until_a_new_environment_is_rendered(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    assert run_main("render", repo=repo).rc == 0
    write_environment(repo, "gamma", server="https://three.k8s.test")
    stale = run_main("render", "--check", repo=repo)
    assert stale.rc == 1
    assert "+++ b/platform/argocd/projects/gamma.yaml" in stale.stdout
    assert '+  - "projects/gamma.yaml"' in stale.stdout
    assert '+    - server: "https://three.k8s.test"' in stale.stdout  # the platform project
    assert "run `make render` and commit the result" in stale.stderr
    assert run_main("render", "--env", "gamma", repo=repo).rc == 0
    assert not (repo / ARGOCD / "projects" / "gamma.yaml").exists(), \
        "one environment alone does not decide the projects"
    assert run_main("render", repo=repo).rc == 0
    assert run_main("render", "--check", repo=repo).rc == 0
    shutil.rmtree(repo / "environments" / "gamma")
    assert run_main("render", "--check", repo=repo).rc == 1
    assert run_main("render", repo=repo).rc == 0
    assert not (repo / ARGOCD / "projects" / "gamma.yaml").exists()
    assert '"projects/gamma.yaml"' not in (repo / ARGOCD / "kustomization.yaml").read_text()


def test_a_hand_edited_project_is_stale(repo: Path,
                                        run_main: Callable[..., CliResult]) -> None:
    assert run_main("render", repo=repo).rc == 0
    path = repo / ARGOCD / "projects" / "alpha.yaml"
    path.write_text(path.read_text().replace('namespace: "kafka"', 'namespace: "*"'))
    stale = run_main("render", "--check", repo=repo)
    assert stale.rc == 1
    assert '-      namespace: "*"' in stale.stdout


def test_reserved_name_and_missing_repo_url_write_nothing(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    write_environment(repo, "platform", server="https://three.k8s.test")
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert result.rc == 2
    assert "environments/platform/environment.yaml:5:9: metadata.name: 'platform' is " \
        "reserved" in result.stderr
    assert snapshot(repo) == before
    shutil.rmtree(repo / "environments" / "platform")
    organization = repo / "organization.yaml"
    organization.write_text(organization.read_text().replace("    repoURL:", "    repoUrl:"))
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert result.rc == 2
    assert "organization.yaml:12:5: spec.git.repoURL: missing required field 'repoURL'" \
        in result.stderr
    assert snapshot(repo) == before


def test_the_ci_gate_fails_on_a_missing_project(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    assert run_main("render", repo=repo).rc == 0
    current = run_main("check", repo=repo)
    assert "render: 0 stale file(s)\n" in current.stdout, current.stdout + current.stderr
    (repo / ARGOCD / "projects" / "beta.yaml").unlink()
    stale = run_main("check", repo=repo)
    assert stale.rc == 1
    assert "render: 1 stale file(s); run `make render` and commit the result\n" \
        "  STALE platform/argocd/projects/beta.yaml\n" in stale.stdout
