"""`modelops history`, `rollback` and `promote` on real git, in temporary repositories.

Each test copies a committed repository built once per session (`repo_builder`: environment
`live` with `scorer`, `pricer` and `forecaster`, environment `stage` with its own `scorer` in
its own bucket), makes the commits a real team would make (artifact bumps, batch changes,
renames), then runs the installed `modelops` console script with `--repo`. The assertions
read git itself: what the new commit contains, that history was only appended to, and that a
refused or failed operation left HEAD, the index, `git status` and every file byte-identical.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import MODELOPS, REPO_ROOT, CliResult, run_cli, snapshot
from modelops import render
from modelops.gitops.change import replace_uri
from modelops.repository import Repository
from repo_builder import GIT_ENV as GIT_BUILDER
from repo_builder import build_repo, environment, model, uri

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ana Ops",
    "GIT_AUTHOR_EMAIL": "ana@acme.io",
    "GIT_COMMITTER_NAME": "Ana Ops",
    "GIT_COMMITTER_EMAIL": "ana@acme.io",
}
LIVE, STAGE = "live", "stage"
STAGE_PREFIX = "gs://test-models-stage/"
SPEC = f"environments/{LIVE}/models/scorer.yaml"
MODEL_FILE = f"environments/{LIVE}/rendered/models/scorer.model-scorer.yaml"
PRICER = f"environments/{LIVE}/models/pricer.yaml"
U0, U1, U2 = uri("scorer", 1), uri("scorer", 2), uri("scorer", 3)


def version(artifact: str) -> str:
    return artifact.rsplit("/", 1)[1]


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=False)
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout


def cli(repo: Path, *args: str) -> CliResult:
    return run_cli(*args, repo=repo, env=GIT_ENV)


def render_env(repo: Path, env: str = LIVE) -> None:
    """Re-render in-process, as `make render` would (faster than a subprocess per commit)."""
    repository = Repository(repo)
    render.write_environments(repository, repository.load_environments([env]))


def edit(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected {old!r} exactly once"
    target.write_text(text.replace(old, new), encoding="utf-8")


def commit(repo: Path, message: str, *edits: tuple[str, str, str]) -> str:
    """Apply spec edits, re-render, commit everything; return the commit id."""
    for path, old, new in edits:
        edit(repo, path, old, new)
    render_env(repo)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def bump(repo: Path, old: str, new: str) -> str:
    return commit(repo, f"scorer: {version(new)}", (SPEC, old, new))


class State(NamedTuple):
    head: str
    status: str
    staged: str
    files: dict[str, bytes]


def state(repo: Path) -> State:
    files = {k: v for k, v in snapshot(repo).items() if not k.startswith(".git/")}
    return State(git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"),
                 git(repo, "ls-files", "--stage"), files)


def uri_in(repo: Path, path: str) -> str:
    lines = [line for line in (repo / path).read_text().splitlines()
             if "uri:" in line or "storageUri:" in line]
    return lines[0].split(": ", 1)[1].strip('"')


def assert_appended(repo: Path, before: str, count: int = 1) -> None:
    """History was only appended to: the old HEAD is an ancestor, `count` commits on top."""
    git(repo, "merge-base", "--is-ancestor", before, "HEAD")
    assert int(git(repo, "rev-list", "--count", f"{before}..HEAD")) == count


def assert_current(repo: Path) -> None:
    result = cli(repo, "render", "--check")
    assert result.rc == 0, result.stdout + result.stderr


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    live = environment(
        LIVE,
        model("scorer", artifact={"uri": U0, "size": "1200Mi"}, framework="xgboost",
              memory="2Gi", replicas={"min": 3, "max": 8}),
        model("pricer", framework="lightgbm", memory="1Gi"),
        model("forecaster", framework="lightgbm"),
    )
    stage = environment(
        STAGE,
        model("scorer", artifact={"uri": f"{STAGE_PREFIX}scorer/2026-01-15-s1", "size": "1200Mi"},
              framework="xgboost", memory="1800Mi"),
        artifacts={"allowedPrefixes": [STAGE_PREFIX]},
    )
    return build_repo(tmp_path_factory.mktemp("gitops") / "base", live, stage)


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base_repo, tmp_path / "repo", symlinks=True))


# --------------------------------------------------------------------------- history


def test_history_lists_uri_changes_newest_first(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    c1 = bump(repo, U0, U1)
    commit(repo, "scorer: more replicas", (SPEC, "    max: 8\n", "    max: 9\n"))
    c2 = bump(repo, U1, U2)
    result = cli(repo, "history", LIVE, "scorer")
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{LIVE}/scorer: 3 artifact change(s), newest first")
    assert [line.split()[-1] for line in lines[1:]] == [U2, U1, U0]
    assert lines[1].startswith(f"* {c2[:7]}") and lines[2].startswith(f"  {c1[:7]}")
    assert "Ana Ops <ana@acme.io>" in lines[1]  # who made each change
    assert f"{GIT_BUILDER['GIT_AUTHOR_NAME']} <{GIT_BUILDER['GIT_AUTHOR_EMAIL']}>" in lines[3]
    entries = json.loads(cli(repo, "history", LIVE, "scorer", "--json").stdout)
    assert [(e["commit"], e["uri"], e["current"]) for e in entries] == [
        (c2, U2, True), (c1, U1, False), (first, U0, False)]
    assert entries[0]["subject"] == f"scorer: {version(U2)}"


def test_history_follows_a_rename(repo: Path) -> None:
    old_spec = f"environments/{LIVE}/models/forecaster.yaml"
    new_spec = f"environments/{LIVE}/models/predictor.yaml"
    v0, v1, v2 = uri("forecaster", 1), uri("forecaster", 2), uri("predictor", 3)
    c1 = commit(repo, "forecaster: new artifact", (old_spec, v0, v1))
    git(repo, "mv", old_spec, new_spec)
    renamed = commit(repo, "rename forecaster to predictor",
                     (new_spec, "name: forecaster", "name: predictor"))
    c2 = commit(repo, "predictor: new artifact", (new_spec, v1, v2))
    entries = json.loads(cli(repo, "history", LIVE, "predictor", "--json").stdout)
    assert [(e["commit"], e["uri"], e["path"]) for e in entries] == [
        (c2, v2, new_spec), (c1, v1, old_spec), (entries[2]["commit"], v0, old_spec)]
    assert renamed not in [e["commit"] for e in entries]  # the rename kept the URI
    # and the renamed model can be rolled back through its old name's history
    before = git(repo, "rev-parse", "HEAD").strip()
    result = cli(repo, "rollback", LIVE, "predictor", "--to", v0)
    assert result.rc == 0, result.stderr
    assert uri_in(repo, new_spec) == v0
    assert_appended(repo, before)
    assert_current(repo)


def test_make_targets(repo: Path) -> None:
    """The Makefile verbs run the CLI, and ENV must come from the command line."""
    env = {**os.environ, **GIT_ENV, "MAKEFLAGS": ""}
    env.pop("ENV", None)
    run = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "history", f"ENV={LIVE}",
                          "MODEL=scorer", f"MODELOPS={MODELOPS} --repo {repo}"],
                         capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{LIVE}/scorer: ")
    for target in ("history", "rollback"):
        run = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), target, "MODEL=x"],
                             capture_output=True, text=True, env={**env, "ENV": LIVE},
                             check=False)
        assert run.returncode == 2
        assert f"usage: make {target} ENV=<env> MODEL=<model>" in run.stderr


# --------------------------------------------------------------------------- rollback


def test_rollback_is_a_plain_revert(repo: Path) -> None:
    bumped = bump(repo, U0, U1)
    result = cli(repo, "rollback", LIVE, "scorer")
    assert result.rc == 0, result.stderr
    assert f"reverted {bumped[:7]}" in result.stdout
    assert_appended(repo, bumped)
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f'Revert "scorer: {version(U1)}"\n\n'
                              f"This reverts commit {bumped}.\n")
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == [
        SPEC, MODEL_FILE]
    # exactly the inverse of the bump: the tree is the one before it
    assert git(repo, "rev-parse", "HEAD^{tree}") == git(repo, "rev-parse", f"{bumped}~1^{{tree}}")
    assert uri_in(repo, SPEC) == U0 and uri_in(repo, MODEL_FILE) == U0
    assert_current(repo)


def test_batch_commit_rolls_back_only_this_model(repo: Path) -> None:
    batch = commit(repo, "batch: scorer artifact, pricer memory",
                   (SPEC, U0, U1), (PRICER, "  memory: 1Gi\n", "  memory: 3Gi\n"))
    pricer_before = {p: (repo / p).read_bytes() for p in git(
        repo, "ls-files", PRICER, f"environments/{LIVE}/rendered/models/").split()
        if "pricer" in p}
    result = cli(repo, "rollback", LIVE, "scorer")
    assert result.rc == 0, result.stderr
    assert_appended(repo, batch)
    assert uri_in(repo, SPEC) == U0 and uri_in(repo, MODEL_FILE) == U0
    assert {p: (repo / p).read_bytes() for p in pricer_before} == pricer_before
    assert "memory: 3Gi" in (repo / PRICER).read_text()
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == [
        SPEC, MODEL_FILE]
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f"Roll back {LIVE}/scorer to {U0}\n")
    assert f'{batch[:7]} ("batch: scorer artifact, pricer memory")' in message
    assert f"  {PRICER}\n" in message
    assert_current(repo)


def test_two_bumps_then_steps_2(repo: Path) -> None:
    c1 = bump(repo, U0, U1)
    c2 = bump(repo, U1, U2)
    result = cli(repo, "rollback", LIVE, "scorer", "--steps", "2")
    assert result.rc == 0, result.stderr
    assert_appended(repo, c2)
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f"Revert 2 artifact changes of {LIVE}/scorer\n\n"
                              f"This reverts commits {c2}, {c1}.\n")
    assert uri_in(repo, SPEC) == U0 and uri_in(repo, MODEL_FILE) == U0
    assert_current(repo)
    # the rollback is itself history: one step back from here is U2 again
    assert [line.split()[-1] for line in cli(repo, "history", LIVE, "scorer")
            .stdout.splitlines()[1:]] == [U0, U2, U1, U0]


def test_rollback_to_a_uri(repo: Path) -> None:
    bump(repo, U0, U1)
    c2 = bump(repo, U1, U2)
    result = cli(repo, "rollback", LIVE, "scorer", "--to", U1)
    assert result.rc == 0, result.stderr
    assert_appended(repo, c2)
    assert uri_in(repo, SPEC) == U1 and uri_in(repo, MODEL_FILE) == U1
    assert git(repo, "log", "-1", "--format=%B").startswith(
        f'Revert "scorer: {version(U2)}"')
    assert_current(repo)


@pytest.mark.parametrize(("args", "expected"), [
    (("--to", uri("scorer", 9)),
     f"is not in the artifact history of {LIVE}/scorer; earlier artifacts: " + U0),
    (("--to", U1), f"{LIVE}/scorer already deploys " + U1),
    (("--steps", "2"), "has 1 earlier artifact(s) in its history, cannot go back 2"),
    (("--steps", "1", "--to", U0), "not allowed with argument"),
])
def test_impossible_targets_are_refused(repo: Path, args: tuple[str, ...],
                                        expected: str) -> None:
    bump(repo, U0, U1)
    before = state(repo)
    result = cli(repo, "rollback", LIVE, "scorer", *args)
    assert result.rc == 2
    assert expected in result.stderr
    assert state(repo) == before


def _stage_edit(repo: Path) -> None:
    edit(repo, SPEC, "size: 1200Mi", "size: 1300Mi")
    git(repo, "add", SPEC)


def _merge_in_progress(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "-b", "other")
    bump(repo, U1, U2)
    git(repo, "checkout", "--quiet", "main")
    bump(repo, U1, uri("scorer", 4))
    subprocess.run(["git", "-C", str(repo), "merge", "--quiet", "other"], capture_output=True,
                   env={**os.environ, **GIT_ENV}, check=False)


@pytest.mark.parametrize(("setup", "expected"), [
    (lambda r: edit(r, PRICER, "memory: 1Gi", "memory: 2Gi"),
     f"uncommitted changes ({PRICER})"),
    (lambda r: (r / "environments" / LIVE / "notes.txt").write_text("todo\n"),
     f"uncommitted changes (environments/{LIVE}/notes.txt)"),
    (_stage_edit, f"uncommitted changes ({SPEC})"),
    (_merge_in_progress, "a merge is in progress"),
    (lambda r: git(r, "checkout", "--quiet", "--detach"), "HEAD is detached"),
], ids=["modified", "untracked-in-environments", "staged", "merge", "detached"])
def test_unsafe_working_tree_is_refused(repo: Path, setup: Callable[[Path], object],
                                        expected: str) -> None:
    bump(repo, U0, U1)
    setup(repo)
    before = state(repo)
    for verb in (("rollback", LIVE, "scorer"),
                 ("promote", "scorer", "--from", STAGE, "--to", LIVE)):
        result = cli(repo, *verb)
        assert result.rc == 2, result
        assert expected in result.stderr
        assert "nothing was changed" in result.stderr
        assert state(repo) == before


def test_conflicting_later_change_leaves_the_repository_exactly_as_it_was(repo: Path) -> None:
    bumped = bump(repo, U0, U1)
    # the next commit edits the line right below the URI: the revert cannot apply cleanly
    commit(repo, "scorer: bigger artifact", (SPEC, "size: 1200Mi", "size: 1300Mi"))
    before = state(repo)
    result = cli(repo, "rollback", LIVE, "scorer")
    assert result.rc == 1
    assert result.stderr.startswith(
        f'modelops: error: cannot revert {bumped[:7]} ("scorer: {version(U1)}"): '
        f"later commits changed the same lines ({SPEC}). The repository is unchanged")
    assert "Traceback" not in result.stderr
    assert state(repo) == before
    assert not (repo / ".git" / "REVERT_HEAD").exists()
    # the escape hatch the message offers works, and keeps the later change
    result = cli(repo, "rollback", LIVE, "scorer", "--to", U0, "--no-revert")
    assert result.rc == 0, result.stderr
    assert_appended(repo, before.head.strip())
    assert uri_in(repo, SPEC) == U0 and "size: 1300Mi" in (repo / SPEC).read_text()
    assert_current(repo)


# --------------------------------------------------------------------------- spec editing


@pytest.mark.parametrize(("line", "expected"), [
    ("    uri: gs://a/b/1  # current\n", "    uri: gs://a/b/2  # current\n"),
    ("    uri: 'gs://a/b/1'\n", "    uri: 'gs://a/b/2'\n"),
    ('    uri: "gs://a/b/1"\n', '    uri: "gs://a/b/2"\n'),
])
def test_replace_uri_keeps_style_and_comments(line: str, expected: str) -> None:
    text = ("# yaml-language-server: $schema=x\nkind: ModelDeployment\nspec:\n  artifact:\n"
            f"{line}    size: 1Mi\n  uri: decoy\n")
    assert replace_uri(text, "x.yaml", "gs://a/b/2") == text.replace(line, expected)
    # a URI that would be read back differently as a plain scalar gets quoted
    assert "uri: \"gs://a/b/x #2\"" in replace_uri(text, "x.yaml", "gs://a/b/x #2") or \
        "uri: 'gs://a/b/x #2'" in replace_uri(text, "x.yaml", "gs://a/b/x #2")
