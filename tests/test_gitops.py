"""`modelops history`, `rollback` and `promote` on real git, in temporary repositories.

Each test copies a committed sample repository (made once per session), makes the commits a
real team would make (artifact bumps, batch changes, renames), then runs the installed
`modelops` console script with `--repo`. The assertions read git itself: what the new commit
contains, that history was only appended to, and that a refused or failed operation left
HEAD, the index, `git status` and every file byte-identical.
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
from conftest import REPO_ROOT, CliResult, copy_repo, run_cli, snapshot
from modelops import render
from modelops.gitops.change import replace_uri
from modelops.repository import Repository

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ana Ops",
    "GIT_AUTHOR_EMAIL": "ana@acme.io",
    "GIT_COMMITTER_NAME": "Ana Ops",
    "GIT_COMMITTER_EMAIL": "ana@acme.io",
}
SPEC = "environments/prod/models/fraud-detector.yaml"
MODEL_FILE = "environments/prod/rendered/models/fraud-detector.model-fraud-detector.yaml"
U0 = "gs://acme-models-prod/fraud-detector/2026-11-02-a1b2c3"
U1 = "gs://acme-models-prod/fraud-detector/2026-11-20-d4e5f6"
U2 = "gs://acme-models-prod/fraud-detector/2026-11-27-0a1b2c"


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=False)
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout


def cli(repo: Path, *args: str) -> CliResult:
    return run_cli(*args, repo=repo, env=GIT_ENV)


def render_env(repo: Path, env: str = "prod") -> None:
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
    return commit(repo, f"fraud-detector: {new.rsplit('/', 1)[1]}", (SPEC, old, new))


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
    repo = copy_repo(tmp_path_factory.mktemp("gitops") / "base")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "Initial models")
    return repo


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base_repo, tmp_path / "repo", symlinks=True))


# --------------------------------------------------------------------------- history


def test_history_lists_uri_changes_newest_first(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    c1 = bump(repo, U0, U1)
    commit(repo, "fraud-detector: more replicas", (SPEC, "{min: 3, max: 8}", "{min: 3, max: 9}"))
    c2 = bump(repo, U1, U2)
    result = cli(repo, "history", "prod", "fraud-detector")
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("prod/fraud-detector: 3 artifact change(s), newest first")
    assert [line.split()[-1] for line in lines[1:]] == [U2, U1, U0]
    assert lines[1].startswith(f"* {c2[:7]}") and lines[2].startswith(f"  {c1[:7]}")
    assert "Ana Ops <ana@acme.io>" in lines[3]
    entries = json.loads(cli(repo, "history", "prod", "fraud-detector", "--json").stdout)
    assert [(e["commit"], e["uri"], e["current"]) for e in entries] == [
        (c2, U2, True), (c1, U1, False), (first, U0, False)]
    assert entries[0]["subject"] == "fraud-detector: 2026-11-27-0a1b2c"


def test_history_follows_a_rename(repo: Path) -> None:
    old_spec = "environments/prod/models/ltv-regressor.yaml"
    new_spec = "environments/prod/models/ltv-predictor.yaml"
    v0 = "gs://acme-models-prod/ltv-regressor/2026-11-02-a1b2c3"
    v1 = "gs://acme-models-prod/ltv-regressor/2026-11-09-aaaa01"
    v2 = "gs://acme-models-prod/ltv-predictor/2026-11-30-bbbb02"
    c1 = commit(repo, "ltv: new artifact", (old_spec, v0, v1))
    git(repo, "mv", old_spec, new_spec)
    renamed = commit(repo, "rename ltv-regressor to ltv-predictor",
                     (new_spec, "name: ltv-regressor", "name: ltv-predictor"))
    c2 = commit(repo, "ltv-predictor: new artifact", (new_spec, v1, v2))
    entries = json.loads(cli(repo, "history", "prod", "ltv-predictor", "--json").stdout)
    assert [(e["commit"], e["uri"], e["path"]) for e in entries] == [
        (c2, v2, new_spec), (c1, v1, old_spec), (entries[2]["commit"], v0, old_spec)]
    assert renamed not in [e["commit"] for e in entries]  # the rename kept the URI
    # and the renamed model can be rolled back through its old name's history
    before = git(repo, "rev-parse", "HEAD").strip()
    result = cli(repo, "rollback", "prod", "ltv-predictor", "--to", v0)
    assert result.rc == 0, result.stderr
    assert uri_in(repo, new_spec) == v0
    assert_appended(repo, before)
    assert_current(repo)


def test_make_targets() -> None:
    """The Makefile verbs run the CLI, and ENV must come from the command line."""
    env = {**os.environ, **GIT_ENV, "MAKEFLAGS": ""}
    env.pop("ENV", None)
    run = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "history", "ENV=prod",
                          "MODEL=fraud-detector"], capture_output=True, text=True, env=env,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("prod/fraud-detector: ")
    for target in ("history", "rollback"):
        run = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), target, "MODEL=x"],
                             capture_output=True, text=True, env={**env, "ENV": "prod"},
                             check=False)
        assert run.returncode == 2
        assert f"usage: make {target} ENV=<env> MODEL=<model>" in run.stderr


# --------------------------------------------------------------------------- rollback


def test_rollback_is_a_plain_revert(repo: Path) -> None:
    bumped = bump(repo, U0, U1)
    result = cli(repo, "rollback", "prod", "fraud-detector")
    assert result.rc == 0, result.stderr
    assert f"reverted {bumped[:7]}" in result.stdout
    assert_appended(repo, bumped)
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith('Revert "fraud-detector: 2026-11-20-d4e5f6"\n\n'
                              f"This reverts commit {bumped}.\n")
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == [
        SPEC, MODEL_FILE]
    # exactly the inverse of the bump: the tree is the one before it
    assert git(repo, "rev-parse", "HEAD^{tree}") == git(repo, "rev-parse", f"{bumped}~1^{{tree}}")
    assert uri_in(repo, SPEC) == U0 and uri_in(repo, MODEL_FILE) == U0
    assert_current(repo)


def test_batch_commit_rolls_back_only_this_model(repo: Path) -> None:
    credit = "environments/prod/models/credit-scorer.yaml"
    batch = commit(repo, "batch: fraud artifact, credit memory",
                   (SPEC, U0, U1), (credit, "  memory: 1Gi\n", "  memory: 3Gi\n"))
    credit_before = {p: (repo / p).read_bytes() for p in git(
        repo, "ls-files", "environments/prod/models/credit-scorer.yaml",
        "environments/prod/rendered/models/").split() if "credit-scorer" in p}
    result = cli(repo, "rollback", "prod", "fraud-detector")
    assert result.rc == 0, result.stderr
    assert_appended(repo, batch)
    assert uri_in(repo, SPEC) == U0 and uri_in(repo, MODEL_FILE) == U0
    assert {p: (repo / p).read_bytes() for p in credit_before} == credit_before
    assert "memory: 3Gi" in (repo / credit).read_text()
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == [
        SPEC, MODEL_FILE]
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f"Roll back prod/fraud-detector to {U0}\n")
    assert f'{batch[:7]} ("batch: fraud artifact, credit memory")' in message
    assert "  environments/prod/models/credit-scorer.yaml\n" in message
    assert_current(repo)


def test_two_bumps_then_steps_2(repo: Path) -> None:
    c1 = bump(repo, U0, U1)
    c2 = bump(repo, U1, U2)
    result = cli(repo, "rollback", "prod", "fraud-detector", "--steps", "2")
    assert result.rc == 0, result.stderr
    assert_appended(repo, c2)
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("Revert 2 artifact changes of prod/fraud-detector\n\n"
                              f"This reverts commits {c2}, {c1}.\n")
    assert uri_in(repo, SPEC) == U0 and uri_in(repo, MODEL_FILE) == U0
    assert_current(repo)
    # the rollback is itself history: one step back from here is U2 again
    assert [line.split()[-1] for line in cli(repo, "history", "prod", "fraud-detector")
            .stdout.splitlines()[1:]] == [U0, U2, U1, U0]


def test_rollback_to_a_uri(repo: Path) -> None:
    bump(repo, U0, U1)
    c2 = bump(repo, U1, U2)
    result = cli(repo, "rollback", "prod", "fraud-detector", "--to", U1)
    assert result.rc == 0, result.stderr
    assert_appended(repo, c2)
    assert uri_in(repo, SPEC) == U1 and uri_in(repo, MODEL_FILE) == U1
    assert git(repo, "log", "-1", "--format=%B").startswith(
        'Revert "fraud-detector: 2026-11-27-0a1b2c"')
    assert_current(repo)


@pytest.mark.parametrize(("args", "expected"), [
    (("--to", "gs://acme-models-prod/fraud-detector/never-deployed"),
     "is not in the artifact history of prod/fraud-detector; earlier artifacts: " + U0),
    (("--to", U1), "prod/fraud-detector already deploys " + U1),
    (("--steps", "2"), "has 1 earlier artifact(s) in its history, cannot go back 2"),
    (("--steps", "1", "--to", U0), "not allowed with argument"),
])
def test_impossible_targets_are_refused(repo: Path, args: tuple[str, ...],
                                        expected: str) -> None:
    bump(repo, U0, U1)
    before = state(repo)
    result = cli(repo, "rollback", "prod", "fraud-detector", *args)
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
    bump(repo, U1, U2.replace("0a1b2c", "ffffff"))
    subprocess.run(["git", "-C", str(repo), "merge", "--quiet", "other"], capture_output=True,
                   env={**os.environ, **GIT_ENV}, check=False)


@pytest.mark.parametrize(("setup", "expected"), [
    (lambda r: edit(r, "environments/prod/models/credit-scorer.yaml", "memory: 1Gi",
                    "memory: 2Gi"),
     "uncommitted changes (environments/prod/models/credit-scorer.yaml)"),
    (lambda r: (r / "environments" / "prod" / "notes.txt").write_text("todo\n"),
     "uncommitted changes (environments/prod/notes.txt)"),
    (_stage_edit, f"uncommitted changes ({SPEC})"),
    (_merge_in_progress, "a merge is in progress"),
    (lambda r: git(r, "checkout", "--quiet", "--detach"), "HEAD is detached"),
], ids=["modified", "untracked-in-environments", "staged", "merge", "detached"])
def test_unsafe_working_tree_is_refused(repo: Path, setup: Callable[[Path], object],
                                        expected: str) -> None:
    bump(repo, U0, U1)
    setup(repo)
    before = state(repo)
    for verb in (("rollback", "prod", "fraud-detector"),
                 ("promote", "fraud-detector", "--from", "staging", "--to", "prod")):
        result = cli(repo, *verb)
        assert result.rc == 2, result
        assert expected in result.stderr
        assert "nothing was changed" in result.stderr
        assert state(repo) == before


def test_conflicting_later_change_leaves_the_repository_exactly_as_it_was(repo: Path) -> None:
    bumped = bump(repo, U0, U1)
    # the next commit edits the line right below the URI: the revert cannot apply cleanly
    commit(repo, "fraud-detector: bigger artifact", (SPEC, "size: 1200Mi", "size: 1300Mi"))
    before = state(repo)
    result = cli(repo, "rollback", "prod", "fraud-detector")
    assert result.rc == 1
    assert result.stderr.startswith(
        f'modelops: error: cannot revert {bumped[:7]} ("fraud-detector: 2026-11-20-d4e5f6"): '
        f"later commits changed the same lines ({SPEC}). The repository is unchanged")
    assert "Traceback" not in result.stderr
    assert state(repo) == before
    assert not (repo / ".git" / "REVERT_HEAD").exists()
    # the escape hatch the message offers works, and keeps the later change
    result = cli(repo, "rollback", "prod", "fraud-detector", "--to", U0, "--no-revert")
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
