"""organization.yaml: a fork's values reach every place that uses them, and nothing else does.

Each test builds its own repository: the real `platform/`, an organization.yaml written here,
and environments written from scratch (tests/envrepo.py), so nothing depends on the sample
environments or on the values the shipped organization.yaml holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, CliResult, snapshot
from envrepo import SCHEMA_LINE, environment_spec, git_repo, write_model

SHIPPED = yaml.safe_load((REPO_ROOT / "organization.yaml").read_text(encoding="utf-8"))
FORK = {
    "repoURL": "https://git.example.org/platform/ml-gitops.git",
    "revision": "release-7",
    "registry": "registry.example.org:5000/ml",
    "repository": "tools/modelops",
    "tag": "2.3.4",
    "digest": "sha256:" + "ab" * 32,
}
FORK_IMAGE = (f"{FORK['registry']}/{FORK['repository']}:{FORK['tag']}@{FORK['digest']}")
# Folders a cluster gets through kustomize (what Argo CD applies), and plain-YAML ones.
KUSTOMIZED = ("platform/argocd", "platform/stack", "platform/admission")
PLAIN = ("platform/argocd/root-application.yaml", "platform/kafka")


def organization_text(repo_url: str, revision: str, registry: str, repository: str, tag: str,
                      digest: str) -> str:
    return (
        "# yaml-language-server: $schema=generators/schemas/organization.schema.json\n"
        "apiVersion: modelops.dev/v1alpha1\n"
        "kind: Organization\n"
        "spec:\n"
        "  git:\n"
        f"    repoURL: {repo_url}\n"
        f"    revision: {revision}\n"
        "  images:\n"
        f"    registry: {registry}\n"
        "    modelops:\n"
        f"      repository: {repository}\n"
        f"      tag: {tag}\n"
        f"      digest: {digest}\n")


def shipped_values() -> dict[str, str]:
    spec = SHIPPED["spec"]
    return {"repoURL": spec["git"]["repoURL"], "revision": spec["git"]["revision"],
            "registry": spec["images"]["registry"], **spec["images"]["modelops"]}


def write_organization(root: Path, **values: str) -> Path:
    path = root / "organization.yaml"
    fields = {**shipped_values(), **values}
    path.write_text(organization_text(fields["repoURL"], fields["revision"],
                                      fields["registry"], fields["repository"],
                                      fields["tag"], fields["digest"]), encoding="utf-8")
    return path


def write_environment(root: Path, name: str, **spec: Any) -> Path:
    """An environment that names no smoke image of its own, unless `spec` gives one."""
    doc = environment_spec(name)
    del doc["spec"]["smoke"]["image"]
    for key, value in spec.items():
        doc["spec"][key] = {**doc["spec"].get(key, {}), **value}
    path = root / "environments" / name / "environment.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SCHEMA_LINE.format("environment") + yaml.safe_dump(doc, sort_keys=False),
                    encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The real platform/, the shipped organization.yaml, two environments of one model."""
    shutil.copytree(REPO_ROOT / "platform", tmp_path / "platform")
    shutil.copy2(REPO_ROOT / "organization.yaml", tmp_path / "organization.yaml")
    for env in ("alpha", "beta"):
        write_environment(tmp_path, env)
        write_model(tmp_path, env, "m", f"gs://bucket-{env}/m/1")
    return tmp_path


def kustomize(folder: Path) -> str:
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True,
                         check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def deployed_text(repo: Path) -> dict[str, str]:
    """What reaches a cluster, by where it comes from: kustomize builds, plain manifests and
    every rendered file."""
    texts = {folder: kustomize(repo / folder) for folder in KUSTOMIZED}
    for part in PLAIN:
        path = repo / part
        files = [path] if path.is_file() else sorted(path.rglob("*.yaml"))
        texts.update({p.relative_to(repo).as_posix(): p.read_text() for p in files})
    for path in sorted((repo / "environments").glob("*/rendered/**/*.yaml")):
        texts[path.relative_to(repo).as_posix()] = path.read_text()
    return texts


def git_sources(node: Any) -> list[dict[str, Any]]:
    """Every mapping with a repoURL in a manifest, with the key it sits under."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "repoURL" in node:
            found.append(node)
        for value in node.values():
            found += git_sources(value)
    elif isinstance(node, list):
        for item in node:
            found += git_sources(item)
    return found


def test_a_forks_values_reach_every_rendered_and_built_manifest(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    old = shipped_values()
    write_organization(repo, **FORK)
    result = run_main("render", repo=repo)
    assert result.rc == 0, result.stderr
    texts = deployed_text(repo)
    for where, text in texts.items():
        for value in (old["repoURL"], f"{old['registry']}/", old["digest"]):
            assert value not in text, f"{where} still holds {value}"
    docs = [d for text in texts.values() for d in yaml.safe_load_all(text) if d]
    ours = [s for d in docs for s in git_sources(d) if "chart" not in s]
    shipped = [d for text in deployed_text(REPO_ROOT).values()
               for d in yaml.safe_load_all(text) if d]
    assert len(ours) == len([s for d in shipped for s in git_sources(d) if "chart" not in s])
    assert {s["repoURL"] for s in ours} == {FORK["repoURL"]}
    assert {s.get("targetRevision", s.get("revision")) for s in ours} == {FORK["revision"]}
    projects = [d for d in docs if d["kind"] == "AppProject"]
    assert sorted(p["metadata"]["name"] for p in projects) == [
        "modelops-alpha", "modelops-beta", "modelops-platform"]
    for project in projects:
        assert project["spec"]["sourceRepos"][0] == FORK["repoURL"]
    images = {c["image"] for d in docs if d["kind"] in ("Deployment", "Job")
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {FORK_IMAGE}
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert len(jobs) == 2
    check = run_main("render", "--check", repo=repo)
    assert check.rc == 0, check.stdout + check.stderr
    again = snapshot(repo)
    assert run_main("render", repo=repo).rc == 0
    assert snapshot(repo) == again


def test_a_forks_platform_validates_strictly(
        repo: Path, tmp_path_factory: pytest.TempPathFactory,
        run_main: Callable[..., CliResult]) -> None:
    crds = Path(os.environ.get("MODELOPS_CRD_DIR", REPO_ROOT.parent / "shared" / "crds"))
    if not crds.is_dir():
        pytest.skip(f"no CRDs at {crds}: set MODELOPS_CRD_DIR (`kubectl get crd -o yaml`)")
    write_organization(repo, **FORK)
    assert run_main("render", repo=repo).rc == 0
    built = tmp_path_factory.mktemp("built")
    files = []
    for name, text in deployed_text(repo).items():
        if name.startswith("environments/"):
            continue  # the rendered environments: `check` validates them
        files.append(built / (name.replace("/", "_") + ("" if name.endswith(".yaml")
                                                        else ".yaml")))
        files[-1].write_text(text)
    result = run_main("validate", "--crds", str(crds), *map(str, files))
    assert result.rc == 0, result.stdout + result.stderr


def test_render_changes_only_the_values(repo: Path,
                                        run_main: Callable[..., CliResult]) -> None:
    assert run_main("render", repo=repo).rc == 0
    before = {p: (repo / p).read_text() for p in (
        "platform/argocd/applicationsets/models.yaml", "platform/admission/deployment.yaml")}
    write_organization(repo, **FORK)
    assert run_main("render", repo=repo).rc == 0
    for path, old_text in before.items():
        new_text = (repo / path).read_text()
        changed = [(a, b) for a, b in zip(old_text.splitlines(), new_text.splitlines(),
                                          strict=True) if a != b]
        assert changed, path
        for _, line in changed:
            assert any(value in line for value in (FORK["repoURL"], FORK["revision"],
                                                   FORK_IMAGE)), line
    # comments explaining each choice stay where they were
    assert "# never fewer than 2 ready replicas" in (
        repo / "platform/admission/deployment.yaml").read_text()


def test_a_manifest_a_fork_adds_follows_and_a_chart_source_is_left_alone(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    added = repo / "platform" / "stack" / "feature-store.yaml"
    added.write_text(
        "apiVersion: argoproj.io/v1alpha1\n"
        "kind: Application\n"
        "metadata: {name: feature-store, namespace: argocd}\n"
        "spec:\n"
        "  project: modelops-platform\n"
        "  sources:\n"
        "    - repoURL: https://charts.example.org\n"
        "      chart: feast\n"
        "      targetRevision: 0.40.0\n"
        "    - repoURL: https://old.example.org/somewhere.git  # kept in sync by render\n"
        "      targetRevision: v1\n"
        "      path: platform/feature-store\n"
        "  destination: {server: 'https://kubernetes.default.svc', namespace: feast}\n")
    write_organization(repo, **FORK)
    assert run_main("render", repo=repo).rc == 0
    doc = yaml.safe_load(added.read_text())
    chart, ours = doc["spec"]["sources"]
    assert chart == {"repoURL": "https://charts.example.org", "chart": "feast",
                     "targetRevision": "0.40.0"}
    assert (ours["repoURL"], ours["targetRevision"]) == (FORK["repoURL"], FORK["revision"])
    assert "# kept in sync by render" in added.read_text()


def test_a_hand_edited_value_is_stale_until_rendered(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    assert run_main("render", repo=repo).rc == 0
    root = repo / "platform" / "argocd" / "root-application.yaml"
    root.write_text(root.read_text().replace(shipped_values()["repoURL"],
                                             "https://elsewhere.example.org/x.git"))
    stale = run_main("render", "--check", repo=repo)
    assert stale.rc == 1
    assert "+++ b/platform/argocd/root-application.yaml" in stale.stdout
    assert "-    repoURL: https://elsewhere.example.org/x.git" in stale.stdout
    gate = run_main("check", repo=repo)
    assert gate.rc == 1
    assert "  STALE platform/argocd/root-application.yaml\n" in gate.stdout
    assert run_main("render", repo=repo).rc == 0
    assert run_main("render", "--check", repo=repo).rc == 0


def test_an_environment_may_name_its_own_smoke_image(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    own = "registry.example.org/smoke/runner:9.9.9"
    write_environment(repo, "beta", smoke={"image": own})
    write_organization(repo, **FORK)
    assert run_main("render", repo=repo).rc == 0
    images = {}
    for env in ("alpha", "beta"):
        (job,) = (repo / "environments" / env / "rendered" / "models").glob("m.job-*.yaml")
        images[env] = yaml.safe_load(job.read_text())["spec"]["template"]["spec"][
            "containers"][0]["image"]
    assert images == {"alpha": FORK_IMAGE, "beta": own}
    explained = run_main("explain", "alpha", "m", repo=repo).stdout
    assert f"organization.yaml {'spec.images.modelops'}" in explained


# ------------------------------------------------------------------------------ placeholders


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def test_the_shipped_values_warn_and_a_forks_do_not(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    result = run_main("render", repo=repo)
    assert result.rc == 0
    warnings = _warnings(result.stderr)
    assert "PLACEHOLDER IMAGE IN THE ADMISSION WEBHOOK" in warnings[0]
    assert "fails closed" in warnings[0]
    fields = [w.split(": ")[2] for w in warnings]
    assert fields == ["spec.images", "spec.images.registry", "spec.images.modelops.digest",
                      "spec.git.repoURL"]
    assert all(w.startswith("warning: organization.yaml:") for w in warnings)
    write_organization(repo, **FORK)
    result = run_main("render", repo=repo)
    assert result.rc == 0
    assert _warnings(result.stderr) == []


@pytest.mark.parametrize("replaced", ["repoURL", "registry", "digest"])
def test_each_value_replaced_silences_its_own_warning(
        repo: Path, run_main: Callable[..., CliResult], replaced: str) -> None:
    write_organization(repo, **{replaced: FORK[replaced]})
    warnings = _warnings(run_main("render", repo=repo).stderr)
    field = {"repoURL": "spec.git.repoURL", "registry": "spec.images.registry",
             "digest": "spec.images.modelops.digest"}
    assert not any(f": {field[replaced]}: " in w for w in warnings)
    assert {f": {f}: " for f in field.values() if f != field[replaced]} <= {
        f": {w.split(': ')[2]}: " for w in warnings}
    # the image is still half made up, and the webhook would still run it
    assert "PLACEHOLDER IMAGE IN THE ADMISSION WEBHOOK" in warnings[0]


def test_an_environments_placeholder_image_warns(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    from modelops.placeholders import REGISTRIES

    placeholder = f"{sorted(REGISTRIES)[0]}/smoke:1.0"
    write_organization(repo, **FORK)
    write_environment(repo, "beta", smoke={"image": placeholder})
    warnings = _warnings(run_main("render", repo=repo).stderr)
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: environments/beta/environment.yaml:")
    assert f": spec.smoke.image: '{placeholder}' is a placeholder image" in warnings[0]
    write_environment(repo, "beta", smoke={"image": "registry.example.org/smoke:1.0"})
    assert _warnings(run_main("render", repo=repo).stderr) == []


def test_check_lists_placeholders_and_still_passes(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    from modelops.placeholders import CLUSTER_SERVERS

    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    sample_cluster = sorted(CLUSTER_SERVERS)[0]
    env_file = write_environment(repo, "alpha", cluster={"server": sample_cluster})
    assert run_main("render", repo=repo).rc == 0
    report = run_main("check", "--format", "json", repo=repo)
    assert report.rc == 0, report.stdout + report.stderr
    listed = json.loads(report.stdout)["placeholders"]
    assert any(p.startswith("organization.yaml:") and ": spec.git.repoURL: " in p
               for p in listed)
    assert any(p.startswith(f"{env_file.relative_to(repo)}:") and
               f": spec.cluster.server: '{sample_cluster}' is a sample cluster" in p
               for p in listed)
    text = run_main("check", repo=repo)
    assert text.rc == 0
    assert "placeholders: " in text.stdout and "check passed" in text.stdout
    markdown = run_main("check", "--format", "markdown", repo=repo)
    assert "#### Placeholder values still in use" in markdown.stdout
    write_organization(repo, **FORK)
    write_environment(repo, "alpha", cluster={"server": "https://alpha.k8s.example.org"})
    assert run_main("render", repo=repo).rc == 0
    clean = run_main("check", "--format", "json", repo=repo)
    assert clean.rc == 0, clean.stdout + clean.stderr
    assert json.loads(clean.stdout)["placeholders"] == []


def test_a_pull_request_changing_only_the_organization_checks_every_environment(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    assert run_main("render", repo=repo).rc == 0
    git_repo(repo)
    write_organization(repo, **FORK)
    report = run_main("check", "--base", "HEAD", "--format", "json", repo=repo)
    assert report.rc == 1, report.stdout + report.stderr
    stale = json.loads(report.stdout)["render"]["stale"]
    assert "platform/admission/deployment.yaml" in stale
    for env in ("alpha", "beta"):
        assert f"environments/{env}/rendered/models/m.job-smoke-m.yaml" in stale
    assert run_main("render", repo=repo).rc == 0
    report = run_main("check", "--base", "HEAD", "--format", "json", repo=repo)
    assert report.rc == 0, report.stdout + report.stderr


def test_every_shipped_value_is_a_known_placeholder() -> None:
    from modelops.placeholders import organization_warnings
    from modelops.repository import Repository

    organization = Repository(REPO_ROOT).load_organization()
    assert organization is not None
    fields = [w.field for w in organization_warnings(organization, runs_admission=True)]
    assert fields == ["spec.images", "spec.images.registry", "spec.images.modelops.digest",
                      "spec.git.repoURL"]


# ------------------------------------------------------------------------------- bad input


BROKEN = [
    ("    repoURL: ", "    repoUrl: ", "organization.yaml:6:5: spec.git.repoUrl: unknown field "
     "'repoUrl'; did you mean 'repoURL'?"),
    ("      tag: 0.1.0", "      tag: latest", "organization.yaml:12:12: "
     "spec.images.modelops.tag: "),
    ("      digest: sha256:", "      digest: md5:", "organization.yaml:13:15: "
     "spec.images.modelops.digest: "),
    ("    repoURL: https://", "    repoURL: ftp://", "organization.yaml:6:14: spec.git.repoURL: "),
    ("    registry: ghcr.io/acme", "    registry: 'Bad Registry'",
     "organization.yaml:9:15: spec.images.registry: "),
    ("kind: Organization", "kind: Organisation", "organization.yaml:3:7: kind: "),
    ("spec:\n", "spec:\n  spec: 1\n", "organization.yaml:5:3: spec.spec: unknown field"),
    ("  git:\n", "  git: [\n", "organization.yaml:"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BROKEN,
                         ids=[case[1].strip()[:24] for case in BROKEN])
def test_a_broken_organization_file_exits_2_located_and_writes_nothing(
        repo: Path, run_main: Callable[..., CliResult], old: str, new: str,
        expected: str) -> None:
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    path = write_organization(repo, tag="0.1.0", registry="ghcr.io/acme")
    assert run_main("render", repo=repo).rc == 0
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    before = snapshot(repo)
    for args in (("render",), ("render", "--check"), ("check",)):
        result = run_main(*args, repo=repo)
        assert result.rc == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(repo) == before


def test_a_missing_organization_file_is_named_by_what_needs_it(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    (repo / "organization.yaml").unlink()
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert result.rc == 2
    assert "environments/alpha/environment.yaml:" in result.stderr
    assert "spec.smoke: no image for the smoke Jobs: organization.yaml" in result.stderr
    assert snapshot(repo) == before
    for env in ("alpha", "beta"):
        write_environment(repo, env, smoke={"image": "registry.example.org/smoke:1.0"})
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert result.rc == 2
    assert "organization.yaml:1:1: (document): missing: platform/" in result.stderr
    assert snapshot(repo) == before
    shutil.rmtree(repo / "platform")
    assert run_main("render", repo=repo).rc == 0  # nothing left that needs it


def test_a_bound_manifest_must_be_alone_in_its_file(
        repo: Path, run_main: Callable[..., CliResult]) -> None:
    root = repo / "platform" / "argocd" / "root-application.yaml"
    root.write_text(root.read_text() + "---\napiVersion: v1\nkind: Namespace\n"
                    "metadata: {name: extra}\n")
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert result.rc == 2
    assert "platform/argocd/root-application.yaml:1:1: (document): holds 2 documents" \
        in result.stderr
    assert snapshot(repo) == before
