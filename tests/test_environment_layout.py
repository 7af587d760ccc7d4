"""Nothing under environments/ is ignored silently: every file nothing reads is an error that
names it and says where it belongs, for every verb that loads environments, and nothing is
written. Built on a minimal repository of its own, so it holds in any fork.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, snapshot
from minimal_repo import spec_text, uri, write_environment, write_spec

ENV = "alpha"
MODEL = "scorer"
Mutation = Callable[[Path], None]


@pytest.fixture
def repo(tmp_path: Path, run_main: Any) -> Path:
    root = tmp_path / "repo"
    write_environment(root, ENV)
    write_spec(root, ENV, MODEL, uri(MODEL, "v1"))
    assert run_main("render", repo=root).rc == 0
    return root


def _write(rel: str, text: str = "") -> Mutation:
    def mutate(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return mutate


def _spec_at(rel: str, model: str = "other") -> Mutation:
    return _write(rel, spec_text(model, uri(model, "v1")))


def _moved_out_of_models(root: Path) -> None:
    specs = root / "environments" / ENV / "models"
    shutil.move(specs / f"{MODEL}.yaml", root / "environments" / ENV / f"{MODEL}.yaml")


# (id, mutation, the path named, a phrase of the hint)
STRAY = [
    ("spec-in-environment-root", _spec_at(f"environments/{ENV}/other.yaml"),
     f"environments/{ENV}/other.yaml", f"move it to environments/{ENV}/models/other.yaml"),
    ("spec-moved-out-of-models", _moved_out_of_models,
     f"environments/{ENV}/{MODEL}.yaml", f"move it to environments/{ENV}/models/{MODEL}.yaml"),
    ("spec-in-model-folder", _spec_at(f"environments/{ENV}/model/other.yaml"),
     f"environments/{ENV}/model/other.yaml", "did you mean models/?"),
    ("spec-in-models-subfolder", _spec_at(f"environments/{ENV}/models/team/other.yaml"),
     f"environments/{ENV}/models/team/other.yaml", "not in a subfolder"),
    ("yml-suffix", _spec_at(f"environments/{ENV}/models/other.yml"),
     f"environments/{ENV}/models/other.yml", "rename it to other.yaml"),
    ("hidden-spec", _spec_at(f"environments/{ENV}/models/.other.yaml"),
     f"environments/{ENV}/models/.other.yaml", "rename it to other.yaml"),
    ("hidden-file-in-environment", _write(f"environments/{ENV}/.env", "X=1\n"),
     f"environments/{ENV}/.env", "hidden file"),
    ("text-in-models", _write(f"environments/{ENV}/models/notes.txt", "todo\n"),
     f"environments/{ENV}/models/notes.txt", "a model spec is named <name>.yaml"),
    ("environment-yml", _write(f"environments/{ENV}/environment.yml", "kind: Environment\n"),
     f"environments/{ENV}/environment.yml", "rename it to environment.yaml"),
    ("file-in-environments", _write("environments/notes.txt", "todo\n"),
     "environments/notes.txt", "nothing reads it"),
    ("spec-in-environments", _spec_at("environments/other.yaml"),
     "environments/other.yaml", "environments/<env>/models/other.yaml"),
    ("folder-without-environment-file", _spec_at("environments/beta/specs/other.yaml"),
     "environments/beta/specs/other.yaml", "is not an environment"),
    ("root-models-folder", _spec_at("models/other.yaml"),
     "models/other.yaml", "model specs live in environments/<env>/models/"),
]


@pytest.mark.parametrize(("mutate", "named", "hint"), [c[1:] for c in STRAY],
                         ids=[c[0] for c in STRAY])
@pytest.mark.parametrize("verb", [("render",), ("render", "--check"), ("plan",),
                                  ("explain", ENV, MODEL)], ids=" ".join)
def test_stray_file_is_an_error_naming_it(repo: Path, run_main: Any, verb: tuple[str, ...],
                                          mutate: Mutation, named: str, hint: str) -> None:
    mutate(repo)
    before = snapshot(repo)
    result = run_main(*verb, repo=repo)
    assert result.rc == 2, result
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{named}:1:1: ")]
    assert len(lines) == 1, result.stderr
    assert hint in lines[0]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(repo) == before


@pytest.mark.parametrize("verb", [("check",), ("policy",), ("validate",)], ids=" ".join)
def test_gate_verbs_refuse_a_stray_file(repo: Path, run_main: Any,
                                        verb: tuple[str, ...]) -> None:
    crd_dir = Path(os.environ.get("MODELOPS_CRD_DIR") or "/nonexistent")
    if not crd_dir.is_dir():
        pytest.skip("set MODELOPS_CRD_DIR to the upstream CRDs (see tests/README.md)")
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    assert run_main(*verb, repo=repo).rc == 0
    _moved_out_of_models(repo)
    before = snapshot(repo)
    result = run_main(*verb, repo=repo)
    assert result.rc == 2
    assert f"environments/{ENV}/{MODEL}.yaml:1:1: " in result.stderr
    assert snapshot(repo) == before


def test_spec_moved_out_of_models_keeps_its_rendered_files(repo: Path, run_main: Any) -> None:
    """The silent failure this rule exists for: the model's output must not be deleted."""
    rendered = repo / "environments" / ENV / "rendered" / "models"
    files = sorted(p.name for p in rendered.iterdir() if p.name.startswith(f"{MODEL}."))
    assert files
    _moved_out_of_models(repo)
    assert run_main("render", repo=repo).rc == 2
    assert sorted(p.name for p in rendered.iterdir() if p.name.startswith(f"{MODEL}.")) == files


def test_stray_files_come_with_the_specs_problems(repo: Path, run_main: Any) -> None:
    """One run shows everything wrong: a stray file and a broken spec together."""
    _write("environments/notes.txt", "todo\n")(repo)
    spec = repo / "environments" / ENV / "models" / f"{MODEL}.yaml"
    spec.write_text(spec.read_text().replace("framework: sklearn", "framework: cobol"))
    result = run_main("render", repo=repo)
    assert result.rc == 2
    assert "environments/notes.txt:1:1:" in result.stderr
    assert f"environments/{ENV}/models/{MODEL}.yaml:" in result.stderr
    assert "spec.framework" in result.stderr


ALLOWED = [
    ("readmes", ["environments/README.md", f"environments/{ENV}/README.md",
                 f"environments/{ENV}/models/README.md"]),
    ("gitkeep", ["environments/.gitkeep", f"environments/{ENV}/models/.gitkeep"]),
    ("editor-and-finder-leftovers", [f"environments/{ENV}/.DS_Store",
                                     f"environments/{ENV}/models/.{MODEL}.yaml.swp",
                                     f"environments/{ENV}/models/{MODEL}.yaml~"]),
    ("render-staging-folder", [f"environments/{ENV}/.rendered.new-x1y2/models/a.yaml"]),
    ("root-models-folder-without-specs", ["models/README.md", "models/model.pkl"]),
]


@pytest.mark.parametrize("files", [c[1] for c in ALLOWED], ids=[c[0] for c in ALLOWED])
def test_allowed_files_pass(repo: Path, run_main: Any, files: list[str]) -> None:
    for rel in files:
        _write(rel, "x\n")(repo)
    (repo / "environments" / ENV / "empty-folder").mkdir()
    result = run_main("render", "--check", repo=repo)
    assert result.rc == 0, result.stderr

