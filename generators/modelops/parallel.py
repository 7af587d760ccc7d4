"""Splitting a long list of independent work items across forked workers.

At 1,000 models × 3 environments the CLI handles ~18,000 files. Workers are forked, so they
inherit everything the parent loaded (specs, plans, compiled schemas) without pickling; each
gets a contiguous slice of indexes into a list the caller prepared before the fork, and sends
back only small results. Below `threshold` items a fork costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
WORKERS = max(1, min(2, os.cpu_count() or 1))


def map_slices(task: Callable[[tuple[int, int]], T], count: int,
               threshold: int = 3000) -> list[T]:
    """Run `task` over [0, count) in slices: in this process, or one slice per worker."""
    if count < threshold or WORKERS == 1:
        return [task((0, count))]
    step = -(-count // WORKERS)
    bounds = [(lo, min(lo + step, count)) for lo in range(0, count, step)]
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        return pool.map(task, bounds)
