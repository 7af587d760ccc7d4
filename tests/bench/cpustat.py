"""CPU accounting for the benchmarks: the host's steal, and the CPU a process tree used.

On a shared VM the hypervisor may run someone else on our vCPUs; that time shows as steal in
/proc/stat and as latency in every measurement. The suites sample steal around exactly the
intervals they time, per arm, and decline to judge an arm that ran while the host was busy.
Steal does not show other processes inside this VM competing for its CPUs, so the meters also
count busy CPU time and subtract what the measured processes used: the rest is "others", printed
beside steal. CPU time per process comes from /proc/<pid>/stat, so a server's cost per request
can be read apart from the wall time a client sees.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

STEAL_LIMIT_PERCENT = 0.5   # above this an arm is "not judged"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CpuSample(NamedTuple):
    """Jiffies of all CPUs since boot: time stolen by the host, all time accounted, and time
    this VM's CPUs were busy (user, nice, system, irq, softirq)."""

    steal: int
    total: int
    busy: int = 0


def sample() -> CpuSample:
    """The first line of /proc/stat; zeros where it is missing (steal then reads as zero)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return CpuSample(0, 0)
    fields += [0] * (8 - len(fields))
    return CpuSample(fields[7], sum(fields[:8]), sum(fields[i] for i in (0, 1, 2, 5, 6)))


class StealMeter:
    """Steal summed over any number of intervals (an arm's turns, an arm's runs)."""

    def __init__(self) -> None:
        self.steal = 0
        self.total = 0
        self.busy = 0
        self.own_seconds = 0.0   # CPU the measured processes used in these intervals

    def add(self, before: CpuSample, after: CpuSample, own_seconds: float) -> None:
        self.add_jiffies(after.steal - before.steal, after.total - before.total,
                         after.busy - before.busy, own_seconds)

    def add_jiffies(self, steal: int, total: int, busy: int, own_seconds: float) -> None:
        self.steal += steal
        self.total += total
        self.busy += busy
        self.own_seconds += own_seconds

    @property
    def percent(self) -> float:
        return 100 * self.steal / self.total if self.total else 0.0

    @property
    def others_percent(self) -> float:
        """CPU busy with anything but the measured processes, in % of all CPU time."""
        others = self.busy - self.own_seconds * CLOCK_TICKS
        return max(0.0, 100 * others / self.total) if self.total else 0.0

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
