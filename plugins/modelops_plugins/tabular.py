"""Rows of numbers from `.npy` or `.csv` files: drift reference windows and shadow inputs.

Both are exported from notebooks and warehouses by hand, so the loader is strict in the ways
that matter downstream (two dimensions, numeric, finite) and names the file and the first bad
cell instead of letting numpy or alibi-detect fail later with a shape error.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from modelops.errors import UsageError

SUFFIXES = (".npy", ".csv")


def load_rows(path: Path) -> npt.NDArray[np.float64]:
    """A 2-D float array (rows × features); a header row in a CSV is skipped."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: expected a .npy or .csv file")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    rows = _load_npy(path) if suffix == ".npy" else _load_csv(path)
    if rows.ndim == 1:
        rows = rows.reshape(-1, 1)
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] == 0:
        raise UsageError(f"{path}: expected rows × features, got an array of shape "
                         f"{list(rows.shape)}")
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        row, col = (int(v) for v in bad[0])
        raise UsageError(f"{path}: row {row + 1}, column {col + 1}: {rows[row, col]} is not a "
                         f"finite number ({len(bad)} such cell(s))")
    return rows


def _load_npy(path: Path) -> npt.NDArray[np.float64]:
    try:
        raw: Any = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UsageError(f"{path}: not a numpy .npy array: {exc}") from None
    if not isinstance(raw, np.ndarray) or raw.dtype.kind not in "biuf":
        raise UsageError(f"{path}: expected a numeric array")
    return raw.astype(np.float64)


def _load_csv(path: Path) -> npt.NDArray[np.float64]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            lines = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: cannot read as CSV: {exc}") from None
    if lines and not _numeric(lines[0]):
        lines = lines[1:]  # a header row
    if not lines:
        raise UsageError(f"{path}: no data rows")
    width = len(lines[0])
    values = np.empty((len(lines), width), dtype=np.float64)
    for i, row in enumerate(lines):
        if len(row) != width:
            raise UsageError(f"{path}: data row {i + 1} has {len(row)} column(s), the first "
                             f"has {width}")
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise UsageError(f"{path}: data row {i + 1}, column {j + 1}: {cell!r} is "
                                 "not a number") from None
    return values


def _numeric(row: list[str]) -> bool:
    try:
        for cell in row:
            float(cell)
    except ValueError:
        return False
    return True
