"""Inputs, runs and outputs of `modelops batch run` for the batch tests and the benchmark.

The runner is always run as the real console script in a subprocess, so a traceback, an exit
code or a kill by PID is what a Job would see.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODELOPS = Path(sys.executable).parent / "modelops"


def run_batch(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MODELOPS), "batch", "run", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def start_batch(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen([str(MODELOPS), "batch", "run", *args], stdout=handle,
                                stderr=subprocess.STDOUT)


def request_line(row: Sequence[float], name: str = "predict") -> str:
    return json.dumps({"inputs": [{"name": name, "datatype": "FP64", "shape": [1, len(row)],
                                   "data": [float(v) for v in row]}]}) + "\n"


def write_jsonl(path: Path, rows: Iterable[Sequence[float]]) -> Path:
    path.write_text("".join(request_line(r) for r in rows))
    return path


def rows(count: int, seed: int = 3, features: int = 4) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(size=(count, features))


def parts(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("part-*.jsonl"))


def output_lines(run_dir: Path) -> list[dict[str, Any]]:
    """Every output line of a run, shard after shard."""
    return [json.loads(line) for part in parts(run_dir)
            for line in part.read_text().splitlines()]


def manifest(run_dir: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((run_dir / "_manifest.json").read_text())
    return body


def only_run(output: Path) -> Path:
    """The one run folder under an output prefix."""
    runs = [p for p in output.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]
