"""A `spec.batch` whose meaning cannot be decided is a located load error; nothing is written.

Each case writes one broken spec into a rendered repository built here and runs `modelops
render` (in process; the first case as the console script): exit 2, one line naming the file,
the line of the field, the field and what to do, no traceback, and the repository byte for
byte as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult, run_cli, snapshot
from repo_builder import PREFIX, build_repo, environment, model, write_spec

SMOKE = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}
TWO_INPUTS = {"inputs": [{"name": "a", "datatype": "FP32", "shape": [1], "data": [1]},
                         {"name": "b", "datatype": "INT64", "shape": [1], "data": [2]}]}
GOOD = {"schedule": "0 3 * * *", "input": f"{PREFIX}in/rows.csv", "output": f"{PREFIX}out/"}


def batch(**fields: Any) -> dict[str, Any]:
    return {**GOOD, **fields}


# (case id, the model's spec overrides, field reported, key whose line is reported, words)
CASES = [
    ("prefix-without-format", {"smoke": SMOKE, "batch": batch(input=f"{PREFIX}in/")},
     "spec.batch.input", "input", "needs spec.batch.format"),
    ("unknown-extension", {"smoke": SMOKE, "batch": batch(input=f"{PREFIX}in/rows.parquet")},
     "spec.batch.input", "input", "cannot tell the format"),
    ("format-contradicts-extension", {"smoke": SMOKE, "batch": batch(format="npy")},
     "spec.batch.format", "format", "contradicts the input's extension"),
    ("csv-without-tensor", {"batch": batch()},
     "spec.batch", "batch", "csv rows need a tensor inputName"),
    ("npy-without-datatype", {"batch": batch(input=f"{PREFIX}in/x.npy", inputName="x")},
     "spec.batch", "batch", "npy rows need a tensor datatype"),
    ("ambiguous-smoke-tensor", {"smoke": TWO_INPUTS, "batch": batch()},
     "spec.batch", "batch", "exactly one input"),
    ("tensor-name-on-jsonl", {"batch": batch(input=f"{PREFIX}in/r.jsonl", inputName="x")},
     "spec.batch.inputName", "inputName", "applies to csv and npy rows only"),
    ("output-is-the-input-prefix", {"smoke": SMOKE, "batch": batch(
        input=f"{PREFIX}data/", format="csv", output=f"{PREFIX}data/")},
     "spec.batch.output", "output", "overlaps the input"),
    ("output-contains-the-input", {"smoke": SMOKE, "batch": batch(
        input=f"{PREFIX}data/in/rows.csv", output=f"{PREFIX}data/")},
     "spec.batch.output", "output", "overlaps the input"),
    ("output-inside-the-input", {"smoke": SMOKE, "batch": batch(
        input=f"{PREFIX}data", format="csv", output=f"{PREFIX}data/scores/")},
     "spec.batch.output", "output", "overlaps the input"),
    ("input-off-the-allowlist", {"smoke": SMOKE, "batch": batch(input="gs://elsewhere/x.csv")},
     "spec.batch.input", "input", "is not under an allowed prefix"),
    ("output-off-the-allowlist", {"smoke": SMOKE, "batch": batch(output="s3://other/out/")},
     "spec.batch.output", "output", "is not under an allowed prefix"),
    ("schedule-not-cron", {"smoke": SMOKE, "batch": batch(schedule="every night")},
     "spec.batch.schedule", "schedule", "is not a cron schedule"),
    ("output-not-a-prefix", {"smoke": SMOKE, "batch": batch(output=f"{PREFIX}out")},
     "spec.batch.output", "output", "must end with '/'"),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    smoke_batch = {"smoke": SMOKE, "batch": GOOD}
    return build_repo(tmp_path_factory.mktemp("batch-errors") / "repo",
                      environment("qa", model("scorer", **smoke_batch), model("other")))


def copy_of(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    for path in sorted(pristine.rglob("*")):
        if ".git" in path.relative_to(pristine).parts:
            continue
        dest = target / path.relative_to(pristine)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    return target


def line_of(path: Path, key: str) -> int:
    """The 1-based line of `key:` under `batch:`; for `batch` itself, where its mapping starts
    (the line after `batch:`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, text in enumerate(lines) if text.strip() == "batch:")
    if key == "batch":
        return start + 2
    return next(i for i in range(start, len(lines))
                if re.match(rf"\s+{re.escape(key)}:", lines[i])) + 1


@pytest.mark.parametrize(("spec", "field", "key", "words"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_a_broken_batch_is_located_and_nothing_is_written(
        pristine: Path, tmp_path: Path, run_main: Callable[..., CliResult],
        spec: dict[str, Any], field: str, key: str, words: str) -> None:
    repo = copy_of(pristine, tmp_path)
    path = write_spec(repo, "qa", model("broken", **spec))
    before = snapshot(repo)
    run = run_cli if spec is CASES[0][1] else run_main
    result = run("render", repo=repo)
    assert result.rc == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    shown = "environments/qa/models/broken.yaml"
    located = [line for line in result.stderr.splitlines()
               if line.startswith(f"{shown}:{line_of(path, key)}:") and f": {field}: " in line]
    assert located, result.stderr
    assert any(words in line for line in located), located
    assert snapshot(repo) == before


def test_a_name_too_long_for_a_cronjob_is_located(
        pristine: Path, tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    repo = copy_of(pristine, tmp_path)
    name = "m" * 47  # 'batch-' + 47 characters is one more than Kubernetes' 52
    path = write_spec(repo, "qa", model(name, smoke=SMOKE, batch=GOOD))
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert result.rc == 2
    line = next(i for i, text in enumerate(path.read_text().splitlines())
                if text.strip().startswith("name:")) + 1
    assert f"models/{name}.yaml:{line}:" in result.stderr
    assert "metadata.name: too long for a batch schedule" in result.stderr
    assert "use at most 46" in result.stderr
    assert snapshot(repo) == before
    # One character shorter renders.
    path.unlink()
    write_spec(repo, "qa", model(name[:-1], smoke=SMOKE, batch=GOOD))
    assert run_main("render", repo=repo).rc == 0


def test_every_problem_of_one_batch_is_reported_together(
        pristine: Path, tmp_path: Path, run_main: Callable[..., CliResult]) -> None:
    repo = copy_of(pristine, tmp_path)
    write_spec(repo, "qa", model("broken", batch=batch(input=f"{PREFIX}data/x.csv",
                                                       output=f"{PREFIX}data/", format="npy")))
    result = run_main("render", repo=repo)
    assert result.rc == 2
    for field in ("spec.batch.format:", "spec.batch:", "spec.batch.output:"):
        assert field in result.stderr, result.stderr
