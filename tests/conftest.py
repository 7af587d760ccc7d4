"""Shared fixtures for the modelops test suites.

The API is deliberately small:

- `REPO_ROOT`: the real repository (read-only in tests; only `render --check` runs against it).
- `ENVIRONMENTS`: every environment the real repository holds, whatever a fork named them; tests
  of "every environment" iterate it, tests that need particular environments or models build
  them with `repo_builder`.
- `env_tree` (fixture): an `EnvTree(root, name)` for each committed environment and then for a
  built one (`FEATURES_ENV` in the session's `feature_repo`, `repo_builder.feature_environment`)
  holding every optional feature, so per-environment content checks always meet each feature
  once, whatever the samples hold.
- `repo_copy` (fixture): a fresh copy of `environments/` and `generators/schemas/` in tmp_path.
  It is not a git repository, so always pass `repo=` / `--repo` when running the CLI on it.
- `run_cli(*args, repo=None, cwd=None, env=None) -> CliResult(rc, stdout, stderr)`: runs the
  real console script `.venv/bin/modelops` in a subprocess, so a traceback would be visible.
- `run_main` (fixture): the same call in-process through `modelops.cli.main` and `capsys`;
  about 100x faster, for the large parametrized suites.
- `snapshot(root) -> {relpath: bytes}`: every file (and, as `relpath/` -> b"", every directory)
  under `root`, for "nothing was touched" assertions.
- `replace_once(path, old, new)`: edit a spec in a copy, failing loudly if `old` is not
  there exactly once (so a changed sample cannot silently turn a case into a no-op).
- `find_rendered(repo, env, kind, name) -> Path`: the rendered file holding one object, found
  by content so tests do not depend on the file layout under rendered/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from modelops.repository import Repository
from repo_builder import build_repo, feature_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELOPS = Path(sys.executable).parent / "modelops"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ENVIRONMENTS = tuple(Repository(REPO_ROOT).environment_names())


class EnvTree(NamedTuple):
    """One environment of one repository: its specs and its rendered tree."""

    root: Path
    name: str


FEATURES_ENV = "built-features"


@pytest.fixture(scope="session")
def feature_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rendered repository holding `FEATURES_ENV`: every optional feature once."""
    return build_repo(tmp_path_factory.mktemp("features") / "repo",
                      feature_environment(FEATURES_ENV), commit=False)


@pytest.fixture(params=[*ENVIRONMENTS, None], ids=[*ENVIRONMENTS, FEATURES_ENV])
def env_tree(request: pytest.FixtureRequest) -> EnvTree:
    if request.param is None:
        return EnvTree(request.getfixturevalue("feature_repo"), FEATURES_ENV)
    return EnvTree(REPO_ROOT, request.param)


class CliResult(NamedTuple):
    rc: int
    stdout: str
    stderr: str


def copy_repo(target: Path) -> Path:
    """Copy the parts of the repository that `modelops` reads and writes into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    # Staging trees of a render running in the real checkout at the same moment are skipped.
    shutil.copytree(
        REPO_ROOT / "environments",
        target / "environments",
        symlinks=True,
        ignore=shutil.ignore_patterns(".rendered.new-*"),
    )
    shutil.copytree(REPO_ROOT / "generators" / "schemas", target / "generators" / "schemas")
    shutil.copy2(REPO_ROOT / "organization.yaml", target / "organization.yaml")
    return target


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the sample repository (environments + spec schemas)."""
    return copy_repo(tmp_path / "repo")


def run_cli(
    *args: str, repo: Path | None = None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Run the installed `modelops` console script as a subprocess."""
    argv = [str(MODELOPS)]
    if repo is not None:
        argv += ["--repo", str(repo)]
    argv += list(args)
    environ = {k: v for k, v in os.environ.items() if k != "MODELOPS_DEBUG"}
    environ.update(env or {})
    proc = subprocess.run(
        argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def run_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """In-process `modelops.cli.main(argv)` returning CliResult (stdout/stderr via capsys)."""
    from modelops.cli import main

    monkeypatch.delenv("MODELOPS_DEBUG", raising=False)

    def call(*args: str, repo: Path | None = None) -> CliResult:
        argv = (["--repo", str(repo)] if repo is not None else []) + list(args)
        capsys.readouterr()
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse usage errors
            rc = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return CliResult(rc, out, err)

    return call


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` as {relpath: bytes}; directories appear as {relpath + '/': b''}."""
    result: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            result[rel] = b"symlink -> " + os.fsencode(os.readlink(path))
        elif path.is_dir():
            result[rel + "/"] = b""
        else:
            result[rel] = path.read_bytes()
    return result


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the single occurrence of `old` in `path` with `new`."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def find_rendered(repo: Path, env: str, kind: str, name: str) -> Path:
    """The one file under environments/<env>/rendered/ whose object is `kind` `name`."""
    base = repo / "environments" / env / "rendered"
    found = []
    for path in sorted(base.rglob("*.yaml")):
        obj = yaml.load(path.read_bytes(), Loader=_LOADER)
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            found.append(path)
    assert len(found) == 1, f"{kind} {name} in {env}: {found}"
    return found[0]
