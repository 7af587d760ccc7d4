"""The benchmark's own machinery judged without timing anything: steal and contention
accounting (tests/bench/cpustat.py), arguments reaching a suite (run.py), and the policy suite
running each version with its own verbs (bench_policy.own_metadata).

No assertion here is about how fast something is; the tables `make bench` prints are read by
people, and these tests only prove the numbers in them are taken from the right places.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
import cpustat
from bench_policy import own_metadata
from run import split_arguments


def meter(steal: int, total: int, busy: int = 0, own_seconds: float = 0.0) -> cpustat.StealMeter:
    measured = cpustat.StealMeter()
    measured.add_jiffies(steal, total, busy, own_seconds)
    return measured


def test_an_arm_above_the_steal_limit_is_not_judged_either_way() -> None:
    limit = cpustat.STEAL_LIMIT_PERCENT
    busy_host = meter(steal=int(limit * 100) + 1, total=10_000)
    assert cpustat.verdict(True, busy_host).startswith("not judged (steal ")
    assert cpustat.verdict(False, busy_host).startswith("not judged (steal ")
    quiet_host = meter(steal=int(limit * 100) - 1, total=10_000)
    assert cpustat.verdict(True, quiet_host) == "ok"
    assert cpustat.verdict(False, quiet_host) == "MISSED"


def test_steal_sums_over_intervals_and_others_excludes_the_measured_processes() -> None:
    measured = cpustat.StealMeter()
    measured.add(cpustat.CpuSample(0, 0, 0), cpustat.CpuSample(2, 1000, 400), 0.0)
    measured.add(cpustat.CpuSample(10, 5000, 900), cpustat.CpuSample(12, 6000, 1300),
                 300 / cpustat.CLOCK_TICKS)
    assert (measured.steal, measured.total, measured.busy) == (4, 2000, 800)
    assert measured.percent == pytest.approx(0.2)
    # of 800 busy jiffies, 300 were the measured processes': the other 500 are 25 % of all
    assert measured.others_percent == pytest.approx(25.0)
    assert meter(0, 0).percent == 0.0 and meter(0, 0).others_percent == 0.0


def test_proc_stat_is_read_as_cumulative_jiffies() -> None:
    first = cpustat.sample()
    subprocess.run([sys.executable, "-c", "sum(range(10**6))"], check=True)
    second = cpustat.sample()
    assert second.total > first.total >= first.busy + first.steal
    assert second.busy >= first.busy and second.steal >= first.steal


def test_a_process_tree_and_its_cpu_include_children() -> None:
    child = subprocess.Popen([sys.executable, "-c",
                              "import time\nwhile time.process_time() < 0.2: pass\n"
                              "print('spent', flush=True)\ntime.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "spent\n"
        tree = cpustat.process_tree(os.getpid())
        assert tree[0] == os.getpid() and child.pid in tree
        after = cpustat.process_seconds(tree)
        assert after[child.pid] >= 0.15   # /proc counts whole clock ticks of user and system
        assert cpustat.cpu_used({os.getpid(): 0.0}, after) >= after[child.pid]
        assert cpustat.process_seconds([child.pid, 2**22 + 1]).keys() == {child.pid}
    finally:
        child.kill()
        child.wait()


def test_arguments_after_a_double_dash_go_to_every_suite() -> None:
    assert split_arguments(["policy", "--", "--baseline", "HEAD~1"]) == (
        ["policy"], ["--baseline", "HEAD~1"])
    assert split_arguments(["policy", "sync"]) == (["policy", "sync"], [])
    assert split_arguments(["--"]) == ([], [])


def test_each_arm_sees_the_verbs_of_its_own_pyproject(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    package = tree / "generators" / "armverbs"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (tree / "pyproject.toml").write_text(textwrap.dedent("""\
        [project]
        name = "modelops"
        version = "9.9.9"

        [project.scripts]
        modelops = "armverbs.cli:main"

        [project.entry-points."modelops.verbs"]
        only = "armverbs.verbs:register"
        """))
    metadata = own_metadata(tree, tmp_path / "metadata")
    probe = ("import importlib.metadata as m, json; print(json.dumps(["
             "m.version('modelops'), sorted(e.value for e in "
             "m.entry_points(group='modelops.verbs'))]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=metadata, check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(metadata)}).stdout
    # the interpreter's installed modelops (with its own verbs) is shadowed entirely
    assert json.loads(out) == ["9.9.9", ["armverbs.verbs:register"]]
