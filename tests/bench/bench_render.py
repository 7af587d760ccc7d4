"""`make bench SUITE=render`: wall time and peak memory of render, check and validate at scale.

Each command runs as its own process (as users run it) inside a fresh wrapper process, so the
wrapper's RUSAGE_CHILDREN peak is exactly that command's peak RSS. Every measurement is the
median of `--runs` runs. Synthetic repositories are written under bench-out/ (same filesystem
as the checkout; /tmp here was several times slower for small-file writes).

    python tests/bench/bench_render.py [--sizes 200 1000] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import make_repo

ROOT = Path(__file__).resolve().parents[2]
MODELOPS = str(Path(sys.executable).parent / "modelops")
TARGETS = {"render": 3.0, "check+validate": 6.0}
MEASURE_SCRIPT = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "wall = time.perf_counter() - t\n"
    "print(rc, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def measure(args: list[str]) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", MEASURE_SCRIPT, *args], check=True,
                         capture_output=True, text=True).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"bench: {' '.join(args)} exited {out[0]}")
    return float(out[1]), int(out[2]) / 1024


def bench_size(count: int, runs: int, crds: str) -> dict[str, dict[str, float]]:
    repo = make_repo(ROOT / "bench-out" / f"n{count}", ROOT, count)
    base = [MODELOPS, "--repo", str(repo)]
    commands = {
        "render (cold)": base + ["render"],
        "render (again)": base + ["render"],
        "render --check": base + ["render", "--check"],
        "validate": base + ["validate", "--crds", crds],
    }
    results: dict[str, dict[str, float]] = {}
    for label, args in commands.items():
        walls, peaks = [], []
        for _ in range(runs):
            if label == "render (cold)":
                for env in (repo / "environments").iterdir():
                    subprocess.run(["rm", "-rf", str(env / "rendered")], check=True)
            wall, peak = measure(args)
            walls.append(wall)
            peaks.append(peak)
        results[label] = {"seconds": statistics.median(walls), "peak_mib": max(peaks)}
    objects = sum(1 for _ in (repo / "environments").glob("*/rendered/*/*.yaml"))
    results["check+validate"] = {
        "seconds": results["render --check"]["seconds"] + results["validate"]["seconds"],
        "peak_mib": max(results["render --check"]["peak_mib"],
                        results["validate"]["peak_mib"]),
    }
    results["objects"] = {"seconds": 0.0, "peak_mib": 0.0, "count": objects}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    crds = os.environ.get("MODELOPS_CRD_DIR", str(ROOT.parent / "shared" / "crds"))
    started = time.time()
    report = {str(n): bench_size(n, args.runs, crds) for n in args.sizes}
    if args.json:
        print(json.dumps({"runs": args.runs, "load_average": os.getloadavg()[0],
                          "results": report}, indent=2))
        return 0
    print(f"modelops bench: N models × 3 environments, median of {args.runs} runs "
          f"(load average {os.getloadavg()[0]:.2f}, {time.time() - started:.0f} s total)\n")
    print(f"{'N':>6}  {'objects':>7}  {'command':<16} {'wall s':>7} {'peak MiB':>9}  target")
    for n, results in report.items():
        objects = int(results["objects"]["count"])
        for label, row in results.items():
            if label == "objects":
                continue
            target = TARGETS.get(label.split(" (")[0]) if n == "1000" else None
            verdict = "" if target is None else (f"<= {target:g} s " +
                                                 ("ok" if row["seconds"] <= target else "MISSED"))
            print(f"{n:>6}  {objects:>7}  {label:<16} {row['seconds']:>7.2f} "
                  f"{row['peak_mib']:>9.0f}  {verdict}")
    if {"200", "1000"} <= report.keys():
        print()
        for label in ("render (cold)", "render --check", "validate", "check+validate"):
            ratio = report["1000"][label]["seconds"] / report["200"][label]["seconds"]
            print(f"scaling 1000/200 {label:<16} {ratio:5.2f}x  (target <= 6x: "
                  f"{'ok' if ratio <= 6 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
