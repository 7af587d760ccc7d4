"""history, rollback, promote and the PR summary for models KServe serves, in real git repositories.

A KServe model's artifact lives in the same spec line as a Seldon model's, so the git verbs
work unchanged; what differs is what a rollback means in Knative mode (a new revision: a cold
start, said in the output) and which rendered object stands for the model in `check --base`
(its InferenceService).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from conftest import find_rendered, snapshot
from repo_builder import (
    build_repo,
    environment,
    git,
    kserve_model,
    kserve_settings,
    model,
    render_repo,
    uri,
    write_spec,
)


def two_versions(root: Path, mode: str = "Knative") -> Path:
    """A repository where KServe model `scored` went from version 1 to 2 in one commit."""
    repo = build_repo(root, environment("qa", model("helper"), kserve_model("scored"),
                                        kserve=kserve_settings(mode)), policies=True)
    write_spec(repo, "qa", kserve_model("scored", artifact={"uri": uri("scored", 2)}))
    render_repo(repo)
    git(repo, "commit", "--quiet", "--all", "-m", "scored v2")
    return repo


def served_uri(repo: Path, name: str = "scored", env: str = "qa") -> str:
    service = yaml.safe_load(find_rendered(repo, env, "InferenceService", name).read_text())
    return str(service["spec"]["predictor"]["model"]["storageUri"])


def test_history_lists_a_kserve_models_artifacts(tmp_path: Path, run_main: Any) -> None:
    repo = two_versions(tmp_path / "repo")
    result = run_main("history", "qa", "scored", "--json", repo=repo)
    assert result.rc == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [e["uri"] for e in entries] == [uri("scored", 2), uri("scored", 1)]
    assert entries[0]["current"] is True


def test_a_knative_rollback_says_it_is_a_new_revision(tmp_path: Path, run_main: Any) -> None:
    repo = two_versions(tmp_path / "repo")
    result = run_main("rollback", "qa", "scored", repo=repo)
    assert result.rc == 0, result.stderr
    assert "new Knative revision" in result.stdout and "cold start" in result.stdout
    assert served_uri(repo) == uri("scored", 1)
    assert git(repo, "status", "--porcelain") == ""
    assert run_main("render", "--check", repo=repo).rc == 0


def test_a_standard_rollback_has_no_revision_note(tmp_path: Path, run_main: Any) -> None:
    repo = two_versions(tmp_path / "repo", mode="Standard")
    result = run_main("rollback", "qa", "scored", repo=repo)
    assert result.rc == 0, result.stderr
    assert "revision" not in result.stdout
    assert served_uri(repo) == uri("scored", 1)


def test_a_seldon_rollback_has_no_revision_note(tmp_path: Path, run_main: Any) -> None:
    repo = two_versions(tmp_path / "repo")
    write_spec(repo, "qa", model("helper", artifact={"uri": uri("helper", 2)}))
    render_repo(repo)
    git(repo, "commit", "--quiet", "--all", "-m", "helper v2")
    result = run_main("rollback", "qa", "helper", repo=repo)
    assert result.rc == 0, result.stderr
    assert "revision" not in result.stdout


def test_promote_brings_a_kserve_model_to_another_environment(tmp_path: Path,
                                                               run_main: Any) -> None:
    source = environment("src", kserve_model("scored", artifact={"uri": uri("scored", 3)}),
                         kserve=kserve_settings())
    target = environment("dst", kserve_model("scored"), kserve=kserve_settings("Standard"),
                         promotion=[{"from": "src"}])
    repo = build_repo(tmp_path / "repo", source, target, policies=True)
    result = run_main("promote", "scored", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 0, result.stderr
    assert served_uri(repo, env="dst") == uri("scored", 3)
    service = yaml.safe_load(find_rendered(repo, "dst", "InferenceService", "scored")
                             .read_text())
    assert service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert git(repo, "status", "--porcelain") == ""


def test_the_pr_summary_shows_a_kserve_models_change_and_removal(tmp_path: Path,
                                                                  run_main: Any) -> None:
    repo = build_repo(tmp_path / "repo", environment(
        "qa", model("helper"), kserve_model("scored"), kserve_model("gone"),
        kserve=kserve_settings()), policies=True)
    write_spec(repo, "qa", kserve_model("scored", artifact={"uri": uri("scored", 2)},
                                        replicas={"min": 0, "max": 3}))
    (repo / "environments" / "qa" / "models" / "gone.yaml").unlink()
    render_repo(repo)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "scored v2, gone removed")
    before = snapshot(repo)
    result = run_main("check", "--base", "HEAD~1", "--format", "json", repo=repo)
    assert result.rc == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(r["model"], r["before"]["storageUri"]) for r in report["removedModels"]] == [
        ("gone", uri("gone"))]
    markdown = run_main("check", "--base", "HEAD~1", "--format", "markdown", repo=repo)
    assert "scored" in markdown.stdout and uri("scored", 2) in markdown.stdout
    assert "gone" in markdown.stdout
    assert snapshot(repo) == before


def test_promote_brings_a_new_kserve_model_only_where_kserve_is_set_up(
        tmp_path: Path, run_main: Any) -> None:
    source = environment("src", model("helper"), kserve_model("scored"),
                         kserve=kserve_settings())
    ready = environment("dst", model("helper"), kserve=kserve_settings("Standard"),
                        promotion=[{"from": "src"}])
    bare = environment("old", model("helper"), promotion=[{"from": "src"}])
    repo = build_repo(tmp_path / "repo", source, ready, bare, policies=True)
    before = snapshot(repo)
    refused = run_main("promote", "scored", "--from", "src", "--to", "old", repo=repo)
    assert refused.rc == 2, refused.stdout + refused.stderr
    assert "served by KServe" in refused.stderr and "no spec.kserve" in refused.stderr
    assert snapshot(repo) == before
    result = run_main("promote", "scored", "--from", "src", "--to", "dst", repo=repo)
    assert result.rc == 0, result.stderr
    assert served_uri(repo, env="dst") == uri("scored")
    assert git(repo, "status", "--porcelain") == ""
