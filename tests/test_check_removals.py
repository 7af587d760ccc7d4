"""`modelops check --base`: a model removed from an environment is a warning with its own
heading (never a plain pass), and a base ref that names no commit is an error naming it.

Each test builds its own git repository (minimal environment, two models, the project's
policies), so it holds whatever environments and models the samples contain.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, run_cli
from minimal_repo import commit_all, init, state, uri, write_environment, write_spec

ENV = "alpha"
GONE, KEPT = "retired", "kept"
GONE_URI = uri(GONE, "2026-01-01-abc")


@pytest.fixture
def crds() -> dict[str, str]:
    crd_dir = os.environ.get("MODELOPS_CRD_DIR")
    if not crd_dir or not Path(crd_dir).is_dir():
        pytest.skip("set MODELOPS_CRD_DIR to the upstream CRDs (see tests/README.md)")
    return {"MODELOPS_CRD_DIR": crd_dir}


@pytest.fixture
def repo(tmp_path: Path, run_main: Any) -> Path:
    root = init(tmp_path / "repo")
    write_environment(root, ENV)
    write_spec(root, ENV, GONE, GONE_URI, replicas=2)
    write_spec(root, ENV, KEPT, uri(KEPT, "v1"))
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    assert run_main("render", repo=root).rc == 0
    commit_all(root, "two models", when=1)
    return root


def _remove(root: Path, run_main: Any) -> None:
    (root / "environments" / ENV / "models" / f"{GONE}.yaml").unlink()
    assert run_main("render", repo=root).rc == 0
    commit_all(root, f"remove {GONE}", when=2)


def test_removal_gets_its_own_heading_and_a_warning(repo: Path, run_main: Any,
                                                    crds: dict[str, str]) -> None:
    _remove(repo, run_main)
    result = run_cli("check", "--base", "HEAD~1", "--format", "markdown", repo=repo, env=crds)
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "### ⚠️ modelops check passed with a warning: 1 model(s) removed"
    heading = lines.index("#### ⚠️ Removed models")
    section = lines[heading:lines.index("", lines.index("|---|---|---|---|"))]
    assert f"| {ENV} | {GONE} | `{GONE_URI}` | 2 (2–2) |" in section
    assert [line for line in lines if f"| {GONE} |" in line] == section[-1:]
    assert "#### Model changes" not in result.stdout


def test_removal_in_text_and_json(repo: Path, run_main: Any, crds: dict[str, str]) -> None:
    _remove(repo, run_main)
    text = run_cli("check", "--base", "HEAD~1", repo=repo, env=crds)
    assert text.rc == 0, text.stderr
    assert f"  REMOVED {GONE} (was deploying {GONE_URI}, replicas 2 (2–2))" in text.stdout
    assert text.stdout.splitlines()[-1] == "check passed with a warning: 1 model(s) removed"
    doc = json.loads(run_cli("check", "--base", "HEAD~1", "--format", "json", repo=repo,
                             env=crds).stdout)
    assert doc["result"] == "passed"
    assert [(r["environment"], r["model"], r["before"]["storageUri"])
            for r in doc["removedModels"]] == [(ENV, GONE, GONE_URI)]


def test_a_change_without_removal_is_a_plain_pass(repo: Path, run_main: Any,
                                                 crds: dict[str, str]) -> None:
    write_spec(repo, ENV, KEPT, uri(KEPT, "v2"))
    assert run_main("render", repo=repo).rc == 0
    commit_all(repo, f"bump {KEPT}", when=2)
    result = run_cli("check", "--base", "HEAD~1", "--format", "markdown", repo=repo, env=crds)
    assert result.rc == 0, result.stderr
    assert result.stdout.splitlines()[0] == "### ✅ modelops check passed"
    assert "Removed models" not in result.stdout


def test_removal_with_a_failure_still_fails(repo: Path, run_main: Any,
                                            crds: dict[str, str]) -> None:
    _remove(repo, run_main)
    write_spec(repo, ENV, KEPT, uri(KEPT, "v2"))
    commit_all(repo, f"bump {KEPT} without re-rendering", when=3)
    result = run_cli("check", "--base", "HEAD~2", "--format", "markdown", repo=repo, env=crds)
    assert result.rc == 1
    assert result.stdout.startswith("### ❌ modelops check failed: 1 model(s) removed")


def test_removing_a_whole_environment_lists_its_models(repo: Path, run_main: Any,
                                                      crds: dict[str, str]) -> None:
    doomed = "beta"
    write_environment(repo, doomed)
    write_spec(repo, doomed, GONE, GONE_URI, replicas=3)
    assert run_main("render", repo=repo).rc == 0
    commit_all(repo, f"add environment {doomed}", when=2)
    shutil.rmtree(repo / "environments" / doomed)
    commit_all(repo, f"remove environment {doomed}", when=3)
    result = run_cli("check", "--base", "HEAD~1", "--format", "markdown", repo=repo, env=crds)
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "### ⚠️ modelops check passed with a warning: 1 model(s) removed"
    assert f"Environment(s) removed entirely: {doomed}." in lines
    assert f"| {doomed} | {GONE} | `{GONE_URI}` | 3 (3–3) |" in lines
    text = run_cli("check", "--base", "HEAD~1", repo=repo, env=crds)
    assert f"environment {doomed}: REMOVED with all its models" in text.stdout
    assert text.stdout.splitlines()[-1] == "check passed with a warning: 1 model(s) removed"


@pytest.mark.parametrize("ref", ["no-such-branch", "HEAD~7", "--all", "v1.0^{tree}"])
def test_a_base_that_names_no_commit_is_named(repo: Path, crds: dict[str, str],
                                              ref: str) -> None:
    before = state(repo)
    result = run_cli("check", f"--base={ref}", repo=repo, env=crds)
    assert result.rc == 2
    assert f"--base {ref!r}" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert state(repo) == before
