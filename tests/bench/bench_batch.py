"""`make bench SUITE=batch`: the batch runner's throughput and memory against two anchors.

Issue 24's target: `modelops batch run` scores at least 0.9× the rows per second of the faster
of (a) a bare tritonclient loop of the same batch size (`batch_bare.py`: parse, stack, infer,
decode, nothing else) and (b) Seldon's own `mlserver infer` batch command (in .venv-mlserver),
on the same input (JSON lines of one-row V2 requests), against the same MLServer, at equal
concurrency and over HTTP (`mlserver infer` has no gRPC). The runner over gRPC is printed too,
not judged. Arms alternate for `--rounds` rounds, each in its own process; rows/s is rows over
the process's wall time, "steady" the same with the wall time of that arm's command on a
one-row input taken off (a batch pays its start-up once), and the target is judged on it;
peak RSS is that process's own (VmHWM from /proc), steal and "others"
(tests/bench/cpustat.py) cover exactly the arm's runs, the measured processes being the arm's
and the server's; "CPU s" is the arm's own process (user + system, median), which on a shared
machine says more than rows/s.

Memory: the runner's peak RSS on a `--small-mb` and a `--big-mb` `.npy` input of wide rows
(256 features, a model trained for them) must not grow with the input: the big run's peak is
judged against the small one's (at most 1.25× + 16 MiB).

    python tests/bench/bench_batch.py [--rows 100000] [--batch-size 100] [--concurrency 4]
                                      [--rounds 2] [--small-mb 16] [--big-mb 1024]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpustat
from batch_support import MODELOPS, write_jsonl
from serving import MLSERVER, MLSERVER_PYTHON, MLServer, train_models

HERE = Path(__file__).resolve().parent
TARGET = 0.9
WIDE_FEATURES = 256
MEMORY_SLACK_KIB = 16 * 1024

_TRAIN_WIDE = """
import json, sys
from pathlib import Path
import joblib, numpy as np
from sklearn.linear_model import LogisticRegression

folder = Path(sys.argv[1]) / "wide"
folder.mkdir(parents=True)
rng = np.random.default_rng(5)
X = rng.normal(size=(2000, int(sys.argv[2])))
joblib.dump(LogisticRegression(max_iter=200).fit(X, (X[:, 0] > 0).astype(int)),
            folder / "model.joblib")
(folder / "model-settings.json").write_text(json.dumps({
    "name": "wide", "implementation": "mlserver_sklearn.SKLearnModel",
    "parameters": {"uri": "./model.joblib", "version": "v1"},
    "inputs": [{"name": "predict", "datatype": "FP64", "shape": [-1, int(sys.argv[2])]}],
    "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1, 1]}]}))
"""


@dataclass
class Arm:
    name: str
    judged: bool = True
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)   # the arm's process, user + system
    startup: list[float] = field(default_factory=list)   # wall time of the same on one row
    peak_kib: int = 0
    steal: cpustat.StealMeter = field(default_factory=cpustat.StealMeter)
    errors: list[str] = field(default_factory=list)

    def rows_per_second(self, rows: int) -> float:
        return rows / statistics.median(self.seconds) if self.seconds else 0.0

    def steady_rows_per_second(self, rows: int) -> float:
        """Rows/s once started: the one-row run's wall time taken off (start-up, imports,
        connecting, exit), which a long batch pays once."""
        if not self.seconds or not self.startup:
            return 0.0
        return rows / max(1e-9, statistics.median(self.seconds)
                          - statistics.median(self.startup))


class PeakMemory(threading.Thread):
    """The process's own peak RSS (VmHWM), read from /proc until it exits. `wait4`'s
    ru_maxrss would also count the pages the child shared with this process between fork
    and exec; VmHWM starts again at exec, so the last reading is the program's own peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.kib = 0
        self.done = threading.Event()

    def run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self.done.is_set():
            try:
                text = status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self.kib = int(line.split()[1])
            self.done.wait(0.02)


def timed_process(argv: list[str], arm: Arm, server: MLServer, log: Path) -> int:
    """Run one arm's process to its end; its wall time, peak RSS, steal and CPU go to `arm`."""
    server_pids = cpustat.process_tree(server.process.pid)
    server_before = cpustat.process_seconds(server_pids)
    before = cpustat.sample()
    started = time.perf_counter()
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT)
    peak = PeakMemory(process.pid)
    peak.start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    peak.done.set()
    peak.join()
    after = cpustat.sample()
    client = usage.ru_utime + usage.ru_stime
    own = client + cpustat.cpu_used(server_before, cpustat.process_seconds(server_pids))
    arm.cpu.append(client)
    arm.steal.add(before, after, own)
    arm.seconds.append(elapsed)
    arm.peak_kib = max(arm.peak_kib, peak.kib)
    return process.returncode


def output_rows(path: Path) -> tuple[int, int]:
    """(lines, lines that are errors) of an output file or a runner's run folder."""
    files = sorted(path.glob("part-*.jsonl")) if path.is_dir() else [path]
    lines = errors = 0
    for file in files:
        with file.open("rb") as handle:
            for line in handle:
                lines += 1
                errors += b'"error"' in line
    return lines, errors


def arm_command(name: str, server: MLServer, source: Path, out: Path,
                args: argparse.Namespace) -> tuple[list[str], Path | None]:
    """The arm's command line, and where its output lines go (None: it writes none)."""
    common = ["--batch-size", str(args.batch_size), "--concurrency", str(args.concurrency)]
    if name.startswith("runner"):
        protocol = "grpc" if "grpc" in name else "http"
        url = server.grpc_url if protocol == "grpc" else server.http_url
        return ([str(MODELOPS), "batch", "run", "--url", url, "--protocol", protocol,
                 "--model", "iris", "--input", str(source), "--output", str(out), "--run-id",
                 "bench", "--progress", "lines", *common], out / "bench")
    if name.startswith("bare"):
        return ([sys.executable, str(HERE / "batch_bare.py"), server.http_url, "iris",
                 str(source), *common], None)
    return ([str(MLSERVER), "infer", "-u", server.http_url, "-m", "iris", "-i", str(source),
             "-o", str(out), "-w", str(args.concurrency), "-s", str(args.batch_size), "-t",
             "rest"], out)


def run_round(arms: dict[str, Arm], server: MLServer, source: Path, one_row: Path, work: Path,
              rows: int, args: argparse.Namespace, round_number: int) -> None:
    for name, arm in arms.items():
        slug = "".join(c if c.isalnum() else "-" for c in name)
        out = work / f"out-{round_number}-{slug}"
        argv, written = arm_command(name, server, source, out, args)
        log = out.with_suffix(".log")
        code = timed_process(argv, arm, server, log)
        if code != 0:
            arm.errors.append(f"exit {code}: {log.read_text(errors='replace')[-300:]}")
            continue
        if written is None:
            scored = int(log.read_text().split()[-1])
            errors = rows - scored
        else:
            lines, errors = output_rows(written)
            errors += abs(rows - lines)
        if errors:
            arm.errors.append(f"{errors} row(s) missing or failed")
        scratch = Arm(name)   # the same command on one row: its fixed cost
        out = work / f"one-{round_number}-{slug}"
        if timed_process(arm_command(name, server, one_row, out, args)[0], scratch, server,
                         out.with_suffix(".log")) == 0:
            arm.startup.append(scratch.seconds[0])


def memory_rows(server: MLServer, work: Path, args: argparse.Namespace) -> list[tuple[str, int,
                                                                                       int, float]]:
    """(label, input MiB, peak RSS KiB, seconds) of the runner on a small and a big input."""
    found = []
    row_bytes = WIDE_FEATURES * 8
    for label, mib in (("small", args.small_mb), ("big", args.big_mb)):
        if mib <= 0:
            continue
        count = mib * 1024 * 1024 // row_bytes
        path = work / f"wide-{label}.npy"
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64,
                                          shape=(count, WIDE_FEATURES))
        rng = np.random.default_rng(1)
        for start in range(0, count, 50_000):
            stop = min(count, start + 50_000)
            array[start:stop] = rng.normal(size=(stop - start, WIDE_FEATURES))
        array.flush()
        del array
        arm = Arm(f"runner {label}")
        out = work / f"wide-out-{label}"
        code = timed_process([str(MODELOPS), "batch", "run", "--url", server.grpc_url,
                              "--protocol", "grpc", "--model", "wide", "--input", str(path),
                              "--output", str(out), "--run-id", "bench", "--progress", "lines",
                              "--batch-size", str(args.batch_size), "--concurrency",
                              str(args.concurrency)], arm, server, out.with_suffix(".log"))
        lines, errors = output_rows(out / "bench")
        if code != 0 or errors or lines != count:
            raise SystemExit(f"bench: the {label} memory run failed (exit {code}, {lines} of "
                             f"{count} lines, {errors} errors)")
        found.append((label, path.stat().st_size // (1024 * 1024), arm.peak_kib,
                      arm.seconds[0]))
        path.unlink()
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small-mb", type=int, default=16)
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--parallel-workers", type=int, default=0,
                        help="MLServer's parallel_workers (0: inference in the server process)")
    args = parser.parse_args(argv)
    if not MLSERVER.exists():
        print(f"bench: {MLSERVER} is missing: run `make setup`", file=sys.stderr)
        return 2
    arms = {name: Arm(name) for name in ("runner (http)", "bare tritonclient (http)",
                                         "mlserver infer (rest)")}
    arms["runner (grpc)"] = Arm("runner (grpc)", judged=False)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        models = work / "models"
        train_models(models)
        subprocess.run([str(MLSERVER_PYTHON), "-c", _TRAIN_WIDE, str(models),
                        str(WIDE_FEATURES)], check=True)
        data = np.random.default_rng(3).normal(size=(args.rows, 4))
        source = write_jsonl(work / "rows.jsonl", data)
        one_row = write_jsonl(work / "one-row.jsonl", data[:1])
        server = MLServer.start(models, cwd=work, parallel_workers=args.parallel_workers)
        try:
            for round_number in range(args.rounds):
                run_round(arms, server, source, one_row, work, args.rows, args, round_number)
            memory = memory_rows(server, work, args)
        finally:
            server.stop()
    print(f"MLServer 1.7 (parallel_workers {args.parallel_workers}); {args.rows:,} one-row "
          f"JSON-lines requests of 4 FP64, batch size {args.batch_size}, concurrency "
          f"{args.concurrency}, {args.rounds} round(s); medians; \"steady\" takes off the "
          "arm's wall time on one row (its start-up)")
    print(f"{'arm':<26}{'rows/s':>8}{'start s':>8}{'steady':>9}{'CPU s':>7}{'peak RSS':>10}"
          f"{'steal':>7}{'others':>8}  result")
    anchors = [arms[n].steady_rows_per_second(args.rows)
               for n in ("bare tritonclient (http)", "mlserver infer (rest)")]
    faster = max(anchors)
    for name, arm in arms.items():
        steady = arm.steady_rows_per_second(args.rows)
        if arm.errors:
            result = f"ERROR: {arm.errors[0]}"
        elif name == "runner (http)":
            ratio = steady / faster if faster else 0.0
            result = (f"{ratio:.2f}× the faster anchor, steady (target ≥ {TARGET}): "
                      f"{cpustat.verdict(ratio >= TARGET, arm.steal)}")
        else:
            result = "anchor" if arm.judged else "not judged (other protocol)"
        cpu = statistics.median(arm.cpu) if arm.cpu else 0.0
        startup = statistics.median(arm.startup) if arm.startup else 0.0
        print(f"{name:<26}{arm.rows_per_second(args.rows):>8,.0f}{startup:>8.2f}"
              f"{steady:>9,.0f}{cpu:>7.2f}{arm.peak_kib / 1024:>8.0f}Mi"
              f"{arm.steal.percent:>6.2f}%{arm.steal.others_percent:>7.1f}%  {result}")
    if memory:
        print(f"\nrunner peak RSS by input size ({WIDE_FEATURES}-feature .npy rows over gRPC, "
              "same batch size and concurrency)")
        for label, mib, peak, seconds in memory:
            print(f"  {label:<6}{mib:>7,} MiB input  peak RSS {peak / 1024:>6.0f} MiB  "
                  f"({mib / seconds:,.1f} MiB/s)")
        if len(memory) == 2:
            small, big = memory[0][2], memory[1][2]
            grows = big > small * 1.25 + MEMORY_SLACK_KIB
            print(f"  memory {'GROWS' if grows else 'does not grow'} with the input "
                  f"({big / small:.2f}× for {memory[1][1] / max(memory[0][1], 1):,.0f}× the "
                  "input)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
