"""Build, save and describe a KSDrift detector as an MLServer model folder.

The folder holds exactly what serving needs: alibi-detect's `save_detector` output
(`config.toml`, `x_ref.npy`) and a `model-settings.json` for `mlserver_alibi_detect`. Seldon's
agent finds that file at the top of `storageUri`, rewrites its `name` and `version` and keeps
only a subset of fields (name, implementation, parameters.uri/version/format/content_type and a
few `extra` keys; scheduler/pkg/agent/repository/mlserver), so the settings here stay inside
that subset and the detector's own defaults (batch KS test, Bonferroni correction) do the rest.

The platform rules (DESIGN.md): p-value at most 0.01, because 0.05 floods on-call with false
positives; a reference window of 5,000 to 10,000 rows, enough for a stable empirical
distribution and small enough to keep the detector's memory and per-batch cost flat.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from modelops.errors import UsageError

MIN_ROWS = 5_000
MAX_ROWS = 10_000
MAX_P_VALUE = 0.01
RUNTIME = "mlserver_alibi_detect.AlibiDetectRuntime"
SETTINGS_FILE = "model-settings.json"


@dataclass(frozen=True)
class Built:
    out: Path
    rows: int
    features: int
    p_value: float
    files: tuple[str, ...]


def check_reference(rows: npt.NDArray[Any], source: str) -> None:
    count = rows.shape[0]
    if not MIN_ROWS <= count <= MAX_ROWS:
        raise UsageError(f"{source}: the reference window has {count} rows; it must have "
                         f"{MIN_ROWS:,} to {MAX_ROWS:,} (fewer gives an unstable reference, "
                         "more only costs memory and time per batch)")


def check_p_value(p_value: float) -> None:
    if not 0 < p_value <= MAX_P_VALUE:
        raise UsageError(f"--p-value {p_value:g}: must be above 0 and at most {MAX_P_VALUE} "
                         "(0.05 floods on-call with false positives)")


def model_settings(name: str) -> dict[str, Any]:
    """What MLServer's alibi-detect runtime needs; the artifacts sit beside the file."""
    return {"name": name, "implementation": RUNTIME, "parameters": {"uri": "./"}}


def build(rows: npt.NDArray[Any], out: Path, *, p_value: float, name: str,
          source: str) -> Built:
    """Fit KSDrift on `rows` and write the folder atomically: all of it or nothing."""
    check_reference(rows, source)
    check_p_value(p_value)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: already exists and is not an empty folder; detector "
                         "artifacts are immutable, so build into a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # alibi-detect imports it
    from alibi_detect.cd import KSDrift
    from alibi_detect.saving import save_detector

    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        detector = KSDrift(np.ascontiguousarray(rows, dtype=np.float32), p_val=p_value)
        save_detector(detector, str(staging))
        (staging / SETTINGS_FILE).write_text(
            json.dumps(model_settings(name), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = tuple(sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()))
    return Built(out, rows.shape[0], rows.shape[1], p_value, files)
