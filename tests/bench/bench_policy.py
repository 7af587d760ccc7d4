"""`make bench SUITE=policy`: the CI gate at scale, this code beside a baseline commit's.

A change to the policies or their engine must not make CI pay for it, and this machine's disk
varies too much from run to run for two separate runs to be compared. So one run measures both:
the baseline (`--baseline REF`) is checked out with `git worktree add` into tmpfs, the synthetic
repository (N models × 3 environments) is written to tmpfs for each arm (the same model specs;
the arm's own sample environments, schemas and `policies/`) and rendered by the arm's own code,
and then the arms alternate, round after round:

- `modelops check` (the full gate: render check, strict validation, policies, plan), a
  subprocess running `python -m modelops.cli` with PYTHONPATH on the arm's tree;
- `modelops check --base HEAD~1` after one model's artifact bump (the usual pull request);
- the policy stage alone, in process (tests/bench/policy_stage.py in a subprocess per arm and
  round, the engine compiled and the input built before the clock starts).

Each arm's steal is summed over exactly the intervals it was timed. Verdict per command:
"not slower" when the current median is within `--tolerance` of the baseline's, else
"slower"; "not judged" when either arm saw more steal than cpustat allows. The current arm's
absolute times are also held against the gate's targets. The worktree and the tmpfs copies are
removed at the end, also when the run fails.

    python tests/bench/bench_policy.py [--models 1000] [--rounds 3] [--baseline REF]
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))
from bench_render import MEASURE_SCRIPT, ROOT
from cpustat import StealMeter, sample, verdict
from synthetic import make_repo

BASELINE = "4b4b15d"   # the last commit before the policies were made plain Rego
TMPFS = Path("/dev/shm")
ENVIRONMENTS_GLOB = "environments/*/environment.yaml"
TARGETS = {"check": 10.0, "check --base (one model)": 1.5, "policy stage": 3.0}
STAGE = Path(__file__).parent / "policy_stage.py"
_WHICH = (  # the files the arm's interpreter takes modelops and every verb module from
    "import importlib.metadata as m, importlib.util as u, json, modelops, modelops_plugins\n"
    "verbs = [e.module for e in m.entry_points(group='modelops.verbs')]\n"
    "print(json.dumps([modelops.__file__, modelops_plugins.__file__,\n"
    "                  *(u.find_spec(v).origin for v in verbs)]))\n"
)


class Arm(NamedTuple):
    """One version of the code: its name, its source tree, the repository it judges, and the
    directory holding its own package metadata (see `own_metadata`), where its processes run:
    never in a checkout, whose egg-info would be found first."""

    name: str
    tree: Path
    repo: Path
    metadata: Path

    def env(self) -> dict[str, str]:
        path = os.pathsep.join(str(p) for p in (self.tree / "generators", self.tree / "plugins",
                                                self.metadata))
        return {**os.environ, "PYTHONPATH": path}

    def modelops(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "modelops.cli", "--repo", str(self.repo), *args]

    def run(self, command: list[str]) -> str:
        """`command` with the arm's code, in its metadata directory; its standard output."""
        done = subprocess.run(command, env=self.env(), cwd=self.metadata, check=False,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench: {self.name}: {' '.join(command[1:])} exited "
                             f"{done.returncode}:\n{done.stderr.strip()}")
        return done.stdout


def own_metadata(tree: Path, directory: Path) -> Path:
    """A `modelops` distribution's metadata for `tree`, entry points from its pyproject.toml.

    Verbs are found through entry points, and the interpreter's installed `modelops` (an
    editable install of some other checkout) would hand the arm another version's verb list.
    importlib.metadata takes the first distribution of a name on sys.path, so this one, on
    PYTHONPATH, shadows the installed one.
    """
    project = tomllib.loads((tree / "pyproject.toml").read_text())["project"]
    info = directory / f"modelops-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: modelops\n"
                                   f"Version: {project['version']}\n")
    groups = {"console_scripts": project.get("scripts", {}),
              **project.get("entry-points", {})}
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
        + "\n" for group, entries in groups.items()))
    return directory


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout


@contextmanager
def baseline_tree(ref: str, scratch: Path) -> Iterator[Path]:
    """The baseline commit checked out (detached) under `scratch`; removed afterwards."""
    tree = scratch / "baseline-tree"
    git(ROOT, "worktree", "add", "--detach", str(tree), ref)
    try:
        # bytecode compiled now, so the first timed round pays no compilation
        compileall.compile_dir(tree / "generators", quiet=1)
        compileall.compile_dir(tree / "plugins", quiet=1)
        yield tree
    finally:
        git(ROOT, "worktree", "remove", "--force", str(tree))
        git(ROOT, "worktree", "prune")


def which_code(arm: Arm) -> str:
    """Where the arm's interpreter imports modelops from; refuses to go on unless that and
    every verb module are the arm's own tree."""
    files = json.loads(arm.run([sys.executable, "-c", _WHICH]))
    for file in files:
        if not Path(file).resolve().is_relative_to(arm.tree.resolve()):
            raise SystemExit(f"bench: the {arm.name} arm imports {file}, not its own tree "
                             f"{arm.tree}")
    return str(files[0])


def prepare(arm: Arm, models: int) -> None:
    """The synthetic repository on tmpfs for the arm: the same model specs for every arm, the
    arm's own sample environments, schemas and policies, rendered by the arm's own code and
    committed; then one model's artifact bumped and committed (for --base)."""
    make_repo(arm.repo, arm.tree, models)
    shutil.copytree(arm.tree / "policies", arm.repo / "policies")
    render = arm.modelops("render")
    arm.run(render)
    git(arm.repo, "add", "-A")
    git(arm.repo, "commit", "-qm", "base")
    env = sorted(p.parent for p in arm.repo.glob(ENVIRONMENTS_GLOB))[0]
    spec = sorted((env / "models").glob("*.yaml"))[models // 2]
    lines = spec.read_text().splitlines(keepends=True)
    artifact = next(i for i, line in enumerate(lines) if line.startswith("    uri: "))
    lines[artifact] = lines[artifact].rstrip("\n") + "-bumped\n"
    spec.write_text("".join(lines))
    arm.run(render)
    git(arm.repo, "commit", "-qam", f"bump {spec.stem} in {env.name}")


class Timing(NamedTuple):
    seconds: float
    cpu: float   # user + system seconds of the measured process(es)
    peak_mib: float
    detail: str


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_command(arm: Arm, args: list[str], steal: StealMeter) -> Timing:
    """One `modelops` run of the arm, its wall time, peak RSS, and the steal around it."""
    before, cpu = sample(), children_cpu()
    out = arm.run([sys.executable, "-c", MEASURE_SCRIPT, *arm.modelops(*args)]).split()
    after = sample()
    cpu = children_cpu() - cpu   # the command and its measuring wrapper
    steal.add(before, after, cpu)
    if out[0] != "0":   # the gate exits non-zero on findings: the arms would not be comparable
        raise SystemExit(f"bench: {arm.name}: modelops {' '.join(args)} exited {out[0]}")
    return Timing(float(out[1]), cpu, int(out[2]) / 1024, "")


def timed_stage(arm: Arm, envs: list[str], steal: StealMeter) -> Timing:
    result = json.loads(arm.run([sys.executable, str(STAGE), str(arm.repo), *envs]))
    steal.add_jiffies(result["steal"], result["total"], result["busy"], result["cpu"])
    return Timing(result["seconds"], result["cpu"], float("nan"),
                  f"{result['objects']} objects, {result['findings']} findings")


def judged(current: StealMeter, baseline: StealMeter, ratio: float, tolerance: float) -> str:
    worst = max(current, baseline, key=lambda m: m.percent)
    if not worst.judged:
        return f"not judged (steal {worst.percent:.2f} %)"
    return "not slower" if ratio <= 1 + tolerance else "slower"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per arm, the arms interleaved in each (default 3)")
    parser.add_argument("--baseline", default=BASELINE, metavar="REF",
                        help=f"the code to compare against (default {BASELINE})")
    parser.add_argument("--tolerance", type=float, default=0.05,
                        help="current/baseline median ratio still 'not slower' is 1 + this")
    args = parser.parse_args()
    crds = os.environ.get("MODELOPS_CRD_DIR", str(ROOT.parent / "shared" / "crds"))
    started = time.time()
    load_before = os.getloadavg()[0]
    current_commit = git(ROOT, "rev-parse", "--short", "HEAD").strip()
    dirty = " + uncommitted changes" if git(ROOT, "status", "--porcelain").strip() else ""
    commands = {"check": ["check", "--crds", crds],
                "check --base (one model)": ["check", "--crds", crds, "--base", "HEAD~1"]}
    rows = [*commands, "policy stage"]
    timings: dict[tuple[str, str], list[Timing]] = {}
    steal = {(row, name): StealMeter() for row in rows for name in ("baseline", "current")}
    with tempfile.TemporaryDirectory(prefix="modelops-bench-", dir=TMPFS) as scratch_dir, \
            baseline_tree(args.baseline, Path(scratch_dir)) as base_tree:
        scratch = Path(scratch_dir)
        arms = [Arm(name, tree, scratch / f"repo-{name}",
                    own_metadata(tree, scratch / f"metadata-{name}"))
                for name, tree in (("baseline", base_tree), ("current", ROOT))]
        imported = {arm.name: which_code(arm) for arm in arms}
        for arm in arms:
            prepare(arm, args.models)
        envs = sorted(p.parent.name for p in arms[1].repo.glob(ENVIRONMENTS_GLOB))
        for _ in range(args.rounds):
            for arm in arms:   # interleaved: a slow spell of the host hits both arms alike
                for label, command in commands.items():
                    timings.setdefault((label, arm.name), []).append(
                        timed_command(arm, command, steal[(label, arm.name)]))
                timings.setdefault(("policy stage", arm.name), []).append(
                    timed_stage(arm, envs, steal[("policy stage", arm.name)]))
        baseline_commit = git(base_tree, "rev-parse", "--short", "HEAD").strip()

    print(f"modelops bench policy: {args.models} models x {len(envs)} environments on tmpfs, "
          f"baseline {args.baseline} ({baseline_commit}) vs current {current_commit}{dirty}, "
          f"{args.rounds} rounds interleaved; load average {load_before:.2f} before, "
          f"{time.time() - started:.0f} s total")
    for name, file in imported.items():
        print(f"  {name:<8} runs modelops from {file}")
    print(f"\nverdict: 'not slower' when the median ratio current/baseline <= "
          f"{1 + args.tolerance:.2f}; 'not judged' when an arm saw steal above the limit. "
          "CPU s: median user + system of the measured processes; others %: CPU this VM spent "
          "on anything else meanwhile (contention that steal does not show)\n")
    print(f"{'command':<26} {'arm':<9} {'median s':>9} {'min s':>7} {'CPU s':>6} "
          f"{'peak MiB':>9} {'steal %':>8} {'others %':>8}  detail")
    verdicts = []
    for row in rows:
        medians = {}
        for name in ("baseline", "current"):
            runs = timings[(row, name)]
            medians[name] = statistics.median(t.seconds for t in runs)
            peak = max(t.peak_mib for t in runs)
            print(f"{row:<26} {name:<9} {medians[name]:>9.3f} "
                  f"{min(t.seconds for t in runs):>7.3f} "
                  f"{statistics.median(t.cpu for t in runs):>6.2f} "
                  f"{'-' if math.isnan(peak) else f'{peak:.0f}':>9} "
                  f"{steal[(row, name)].percent:>8.2f} "
                  f"{steal[(row, name)].others_percent:>8.1f}  {runs[0].detail}")
        ratio = medians["current"] / medians["baseline"]
        cpu_ratio = (statistics.median(t.cpu for t in timings[(row, "current")])
                     / statistics.median(t.cpu for t in timings[(row, "baseline")]))
        verdicts.append((row, ratio, cpu_ratio,
                         judged(steal[(row, "current")], steal[(row, "baseline")], ratio,
                                args.tolerance),
                         medians["current"], steal[(row, "current")]))
    print()
    for row, ratio, cpu_ratio, outcome, current, current_steal in verdicts:
        target = TARGETS.get(row)
        absolute = "" if target is None else (
            f"; current <= {target:g} s: {verdict(current <= target, current_steal)}")
        print(f"{row:<26} current/baseline {ratio:5.2f} (CPU {cpu_ratio:4.2f})  "
              f"{outcome}{absolute}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
