"""CPU accounting for the benchmarks: the host's steal, and the CPU a process tree used.

On a shared VM the hypervisor may run someone else on our vCPUs; that time shows as steal in
/proc/stat and as latency in every measurement. The suites sample steal around exactly the
intervals they time, per arm, and decline to judge an arm that ran while the host was busy.
CPU time per process comes from /proc/<pid>/stat, so a server's cost per request can be read
apart from the wall time a client sees.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

STEAL_LIMIT_PERCENT = 0.5   # above this an arm is "not judged"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CpuSample(NamedTuple):
    """Jiffies of all CPUs since boot: time stolen by the host, and all time accounted."""

    steal: int
    total: int


def sample() -> CpuSample:
    """The first line of /proc/stat; (0, 0) where it is missing (steal then reads as zero)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return CpuSample(0, 0)
    return CpuSample(fields[7] if len(fields) > 7 else 0, sum(fields[:8]))


class StealMeter:
    """Steal summed over any number of intervals (an arm's turns, an arm's runs)."""

    def __init__(self) -> None:
        self.steal = 0
        self.total = 0

    def add(self, before: CpuSample, after: CpuSample) -> None:
        self.steal += after.steal - before.steal
        self.total += after.total - before.total

    def add_jiffies(self, steal: int, total: int) -> None:
        self.steal += steal
        self.total += total

    @property
    def percent(self) -> float:
        return 100 * self.steal / self.total if self.total else 0.0

    @property
    def judged(self) -> bool:
        return self.percent <= STEAL_LIMIT_PERCENT


def verdict(passed: bool, steal: StealMeter) -> str:
    """"ok" or "MISSED" for a timed target, unless the host stole too much to say."""
    if not steal.judged:
        return f"not judged (steal {steal.percent:.2f} %)"
    return "ok" if passed else "MISSED"


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant (threads' children included)."""
    found = [pid]
    for parent in found:
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                found += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def process_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each live process in `pids`, in seconds."""
    seconds = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()   # after "(comm)", which may hold spaces
        seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes used between two `process_seconds` readings.

    A process that appeared in between counts from zero; one that ended counts nothing after
    its last reading.
    """
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())
