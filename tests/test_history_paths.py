"""`history` and `rollback` follow the spec's own path: back through a real `git mv`, never
into the sibling a spec was copied from; and no input reaches an "internal error".

Every test builds its own git repository (fixed authors and dates) with a minimal
environment, so it holds whatever the samples contain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from minimal_repo import (
    commit_all,
    git,
    init,
    spec_text,
    state,
    uri,
    write_environment,
    write_spec,
)

ENV, OTHER_ENV = "alpha", "beta"
SIBLING, COPY, RENAMED = "sibling", "newcomer", "renamed"


def _spec(root: Path, model: str, env: str = ENV) -> Path:
    return root / "environments" / env / "models" / f"{model}.yaml"


@pytest.fixture
def repo(tmp_path: Path, run_main: Any) -> Path:
    """SIBLING at v1 then v2 in ENV (and at v1 in OTHER_ENV), rendered and committed."""
    root = init(tmp_path / "repo")
    for env in (ENV, OTHER_ENV):
        write_environment(root, env)
        write_spec(root, env, SIBLING, uri(SIBLING, "v1"))
    assert run_main("render", repo=root).rc == 0
    commit_all(root, f"add {SIBLING}", when=1)
    _set(root, run_main, SIBLING, uri(SIBLING, "v2"), "bump", when=2)
    return root


def _set(root: Path, run_main: Any, model: str, artifact: str, subject: str, when: int) -> str:
    write_spec(root, ENV, model, artifact)
    assert run_main("render", repo=root).rc == 0
    return commit_all(root, f"{subject} {model}", when=when)


def _history(root: Path, run_main: Any, model: str) -> list[dict[str, Any]]:
    result = run_main("history", ENV, model, "--json", repo=root)
    assert result.rc == 0, result.stderr
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries


def _copy_sibling(root: Path, run_main: Any, model: str, when: int) -> str:
    """What the docs suggest: copy a sibling's spec, change the name and the artifact."""
    text = _spec(root, SIBLING).read_text()
    text = text.replace(f"name: {SIBLING}", f"name: {model}")
    text = text.replace(uri(SIBLING, "v2"), uri(model, "v1"))
    _spec(root, model).write_text(text)
    assert run_main("render", repo=root).rc == 0
    return commit_all(root, f"add {model}, copied from {SIBLING}", when=when)


def test_a_copied_spec_starts_its_own_history(repo: Path, run_main: Any) -> None:
    created = _copy_sibling(repo, run_main, COPY, when=3)
    # git itself would follow the copy: the trap this test guards against is real
    followed = git(repo, "log", "--follow", "--format=%H", "--",
                   f"environments/{ENV}/models/{COPY}.yaml").split()
    assert len(followed) > 1
    entries = _history(repo, run_main, COPY)
    assert [(e["commit"], e["uri"], e["current"]) for e in entries] == [
        (created, uri(COPY, "v1"), True)]
    assert all(SIBLING not in e["uri"] for e in entries)


def test_rollback_of_a_copied_spec_offers_nothing_of_the_sibling(repo: Path,
                                                                 run_main: Any) -> None:
    _copy_sibling(repo, run_main, COPY, when=3)
    before = state(repo)
    result = run_main("rollback", ENV, COPY, repo=repo)
    assert result.rc == 2
    assert "earlier artifacts: none" in result.stderr
    assert "internal error" not in result.stderr
    assert state(repo) == before
    result = run_main("rollback", ENV, COPY, "--to", uri(SIBLING, "v1"), repo=repo)
    assert result.rc == 2 and "is not in the artifact history" in result.stderr
    assert state(repo) == before


def test_a_copy_identical_to_its_sibling_is_still_not_followed(repo: Path,
                                                               run_main: Any) -> None:
    """The strongest copy signal git can see: the new file is byte-identical at creation
    except for its name."""
    text = _spec(repo, SIBLING).read_text().replace(f"name: {SIBLING}", f"name: {COPY}")
    _spec(repo, COPY).write_text(text)
    assert run_main("render", repo=repo).rc == 0
    created = commit_all(repo, f"add {COPY}", when=3)
    assert [e["commit"] for e in _history(repo, run_main, COPY)] == [created]


def test_a_real_rename_is_followed(repo: Path, run_main: Any) -> None:
    old_path = f"environments/{ENV}/models/{SIBLING}.yaml"
    new_path = f"environments/{ENV}/models/{RENAMED}.yaml"
    first, second = git(repo, "log", "--format=%H", "--", old_path).split()[::-1]
    git(repo, "mv", old_path, new_path)
    spec = repo / new_path
    spec.write_text(spec.read_text().replace(f"name: {SIBLING}", f"name: {RENAMED}"))
    assert run_main("render", repo=repo).rc == 0
    commit_all(repo, f"rename {SIBLING} to {RENAMED}", when=3)
    bumped = _set(repo, run_main, RENAMED, uri(SIBLING, "v3"), "bump", when=4)
    entries = _history(repo, run_main, RENAMED)
    assert [(e["commit"], e["uri"], e["path"]) for e in entries] == [
        (bumped, uri(SIBLING, "v3"), new_path),
        (second, uri(SIBLING, "v2"), old_path),
        (first, uri(SIBLING, "v1"), old_path)]
    result = run_main("rollback", ENV, RENAMED, "--steps", "2", repo=repo)
    assert result.rc == 0, result.stderr
    assert spec.read_text().count(uri(SIBLING, "v1")) == 1
    assert run_main("render", "--check", repo=repo).rc == 0


def test_rollback_across_a_removal_restores_the_uri_and_keeps_the_model(
        repo: Path, run_main: Any) -> None:
    """The commit to undo re-created the spec: reverting it would delete the model (the
    FileNotFoundError users saw); the rollback restores only the URI instead."""
    _spec(repo, SIBLING).unlink()
    assert run_main("render", repo=repo).rc == 0
    commit_all(repo, f"remove {SIBLING}", when=3)
    recreated = _set(repo, run_main, SIBLING, uri(SIBLING, "v3"), "re-add", when=4)
    result = run_main("rollback", ENV, SIBLING, repo=repo)
    assert result.rc == 0, result.stderr
    assert "internal error" not in result.stderr
    assert uri(SIBLING, "v2") in _spec(repo, SIBLING).read_text()
    message = git(repo, "log", "-1", "--format=%B")
    assert "created the spec" in message and recreated[:7] in message
    assert git(repo, "status", "--porcelain") == ""
    assert run_main("render", "--check", repo=repo).rc == 0


def test_rollback_of_a_model_whose_rendered_files_are_missing(repo: Path,
                                                              run_main: Any) -> None:
    rendered = repo / "environments" / ENV / "rendered" / "models"
    for path in rendered.glob(f"{SIBLING}.*"):
        path.unlink()
    commit_all(repo, "lose the rendered files", when=3)
    before = state(repo)
    result = run_main("rollback", ENV, SIBLING, repo=repo)
    assert result.rc == 1
    assert "later commits changed the same lines" in result.stderr and "--no-revert" in \
        result.stderr
    assert state(repo) == before
    result = run_main("rollback", ENV, SIBLING, "--no-revert", repo=repo)
    assert result.rc == 0, result.stderr
    assert uri(SIBLING, "v1") in _spec(repo, SIBLING).read_text()
    assert run_main("render", "--check", repo=repo).rc == 0


def _commit_file(root: Path, rel: str, data: bytes, when: int = 9) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    commit_all(root, f"write {rel}", when=when)


def _untracked_spec(root: Path) -> None:
    _spec(root, "later").write_text(spec_text("later", uri("later", "v1")))


def _detach(root: Path) -> None:
    git(root, "checkout", "--quiet", "--detach")


def _no_uri(root: Path) -> None:
    _commit_file(root, f"environments/{ENV}/models/bare.yaml", b"apiVersion: x\nkind: y\n")


def _not_utf8(root: Path) -> None:
    _commit_file(root, f"environments/{OTHER_ENV}/models/{SIBLING}.yaml",
                 spec_text(SIBLING, uri(SIBLING, "v1")).encode() + b"# \xff\xfe\n")


def _broken_yaml(root: Path) -> None:
    _commit_file(root, f"environments/{ENV}/models/broken.yaml", b"spec: [unclosed\n")


def _spec_is_a_folder(root: Path) -> None:
    (root / "environments" / ENV / "models" / "folder.yaml").mkdir()


def _unborn(root: Path) -> None:
    shutil.rmtree(root / ".git")
    init(root)


def _not_git(root: Path) -> None:
    shutil.rmtree(root / ".git")


def _deleted(root: Path) -> None:
    _spec(root, SIBLING).unlink()
    shutil.rmtree(root / "environments" / ENV / "rendered" / "models")
    commit_all(root, f"remove {SIBLING}", when=9)


def _renamed_away(root: Path) -> None:
    git(root, "mv", f"environments/{ENV}/models/{SIBLING}.yaml",
        f"environments/{ENV}/models/{RENAMED}.yaml")
    commit_all(root, f"rename {SIBLING}", when=9)


def _nothing(root: Path) -> None:
    pass


# (id, how the repository is broken, command line)
BAD = [
    ("unknown-env", _nothing, ["history", "nope", SIBLING]),
    ("unknown-model", _nothing, ["rollback", ENV, "nope"]),
    ("model-outside-models", _nothing, ["history", ENV, "../environment"]),
    ("model-path", _nothing, ["rollback", ENV, f"../models/{SIBLING}"]),
    ("model-hidden", _nothing, ["rollback", ENV, ".x"]),
    ("model-empty", _nothing, ["history", ENV, ""]),
    ("model-is-a-folder", _spec_is_a_folder, ["history", ENV, "folder"]),
    ("steps-zero", _nothing, ["rollback", ENV, SIBLING, "--steps", "0"]),
    ("steps-negative", _nothing, ["rollback", ENV, SIBLING, "--steps", "-3"]),
    ("steps-too-many", _nothing, ["rollback", ENV, SIBLING, "--steps", "99"]),
    ("steps-not-a-number", _nothing, ["rollback", ENV, SIBLING, "--steps", "two"]),
    ("to-unknown", _nothing, ["rollback", ENV, SIBLING, "--to", "gs://elsewhere/x"]),
    ("to-current", _nothing, ["rollback", ENV, SIBLING, "--to", uri(SIBLING, "v2")]),
    ("model-added-later-uncommitted", _untracked_spec, ["rollback", ENV, "later"]),
    ("deleted-spec-history", _deleted, ["history", ENV, SIBLING]),
    ("deleted-spec-rollback", _deleted, ["rollback", ENV, SIBLING]),
    ("old-name-after-rename", _renamed_away, ["rollback", ENV, SIBLING]),
    ("promote-after-rename", _renamed_away,
     ["promote", SIBLING, "--from", OTHER_ENV, "--to", ENV]),
    ("spec-without-uri", _no_uri, ["rollback", ENV, "bare"]),
    ("spec-broken-yaml", _broken_yaml, ["rollback", ENV, "broken"]),
    ("detached-head", _detach, ["rollback", ENV, SIBLING]),
    ("unborn-head-rollback", _unborn, ["rollback", ENV, SIBLING]),
    ("unborn-head-history", _unborn, ["history", ENV, SIBLING]),
    ("unborn-head-promote", _unborn, ["promote", SIBLING, "--from", ENV, "--to", OTHER_ENV]),
    ("not-a-git-repository", _not_git, ["rollback", ENV, SIBLING]),
    ("promote-same-env", _nothing, ["promote", SIBLING, "--from", ENV, "--to", ENV]),
    ("promote-unknown-model", _nothing, ["promote", "nope", "--from", ENV, "--to", OTHER_ENV]),
    ("promote-into-non-utf8-spec", _not_utf8,
     ["promote", SIBLING, "--from", ENV, "--to", OTHER_ENV]),
    ("promote-uncommitted-model", _untracked_spec,
     ["promote", "later", "--from", ENV, "--to", OTHER_ENV]),
]


@pytest.mark.parametrize(("breakage", "argv"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_a_clear_message_and_changes_nothing(repo: Path, run_main: Any,
                                                          breakage: Any,
                                                          argv: list[str]) -> None:
    breakage(repo)
    before = state(repo)
    result = run_main(*argv, repo=repo)
    assert result.rc in (1, 2), result
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip(), "a failure must say why"
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    assert state(repo) == before
