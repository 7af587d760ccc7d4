"""`make bench SUITE=serving_targets`: one smoke run against MLServer, KServe and Triton.

Why: the PostSync Job's smoke test and its latency check run against whichever server a model
is deployed on; this shows what a smoke run and its timed inference cost on each real server,
per protocol, on the same machine. It starts the three servers the tests use: MLServer 1.7
(`.venv-mlserver`, parallel_workers 0) and a KServe 0.21 ModelServer (`.venv-kserve`) serving
the same kind of scikit-learn classifier, and Triton 2.51 (pytriton's binary, CPU) a
Python-backend linear model; each takes a 1×4 FP64 `predict` input. Then the six arms (server ×
protocol) take turns in blocks of `--block` runs until each has `--runs`, so all see the same
machine load. A run is `checks.run`, exactly the smoke's eight checks (live, ready, model ready,
metadata, request check, one inference, outputs, latency) through the client the Job uses,
connected once per arm.

Each row: p50/p99 of the whole run and of the inference alone (what `--max-latency-ms` judges),
the server's CPU per run (its process tree, user + system), and over that arm's own blocks the
host's steal and "others" (CPU this VM spent on anything but the bench and that server).

    python tests/bench/bench_serving_targets.py [--runs 300] [--block 25]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cpustat import StealMeter, cpu_used, process_seconds, process_tree, sample
from kserve_serving import KServeServer, train_kserve_models
from modelops_plugins.smoke import checks, wire
from modelops_plugins.smoke.client import V2Client, connect
from server_process import ServerProcess
from serving import MLServer, train_models
from triton_serving import TritonServer, write_linear_model

REQUEST = wire.parse_request({"inputs": [{"name": "predict", "datatype": "FP64",
                                          "shape": [1, 4], "data": [0.1, -0.4, 1.2, 0.3]}]})
WARMUP = 20


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Arm:
    server_name: str
    server: ServerProcess
    protocol: str
    model: str
    client: V2Client
    runs: list[float] = field(default_factory=list)
    inferences: list[float] = field(default_factory=list)
    steal: StealMeter = field(default_factory=StealMeter)
    server_cpu_seconds: float = 0.0

    def run_block(self, count: int) -> None:
        server_pids, bench_pids = process_tree(self.server.process.pid), [os.getpid()]
        server_before, bench_before = process_seconds(server_pids), process_seconds(bench_pids)
        steal_before = sample()
        for _ in range(count):
            started = time.perf_counter()
            report = checks.run(self.client, self.model, REQUEST, max_latency_ms=None)
            self.runs.append((time.perf_counter() - started) * 1000)
            if not report.ok or report.latency_ms is None:
                raise SystemExit(f"bench: smoke failed on {self.server_name} over "
                                 f"{self.protocol}:\n{report.format()}")
            self.inferences.append(report.latency_ms)
        steal_after = sample()
        server_used = cpu_used(server_before, process_seconds(server_pids))
        bench_used = cpu_used(bench_before, process_seconds(bench_pids))
        self.steal.add(steal_before, steal_after, server_used + bench_used)
        self.server_cpu_seconds += server_used


def start_servers(work: Path) -> dict[str, tuple[ServerProcess, str]]:
    """The three servers, each with its model's name; trained and started one after another."""
    mlserver_models, kserve_models, repository = (work / "mlserver", work / "kserve",
                                                  work / "triton")
    for folder in (mlserver_models, kserve_models):
        folder.mkdir()
    train_models(mlserver_models)
    train_kserve_models(kserve_models)
    write_linear_model(repository, "linear", np.linspace(-1, 1, 4).reshape(4, 1))
    servers: dict[str, tuple[ServerProcess, str]] = {}
    try:
        servers["MLServer 1.7"] = (MLServer.start(mlserver_models, cwd=work,
                                                  parallel_workers=0), "iris")
        servers["KServe 0.21"] = (KServeServer.start(kserve_models, cwd=work), "iris")
        servers["Triton 2.51"] = (TritonServer.start(repository, cwd=work), "linear")
    except BaseException:
        for server, _ in servers.values():
            server.stop()
        raise
    return servers


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="smoke runs per arm")
    parser.add_argument("--block", type=int, default=25, help="runs per turn of an arm")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        servers = start_servers(Path(tmp))
        arms = []
        try:
            for name, (server, model) in servers.items():
                for protocol in ("http", "grpc"):
                    url = server.grpc_url if protocol == "grpc" else server.http_url
                    arms.append(Arm(name, server, protocol, model,
                                    connect(protocol, url)))  # type: ignore[arg-type]
            for arm in arms:
                for _ in range(WARMUP):
                    checks.run(arm.client, arm.model, REQUEST, max_latency_ms=None)
            while any(len(arm.runs) < args.runs for arm in arms):
                for arm in arms:
                    arm.run_block(min(args.block, args.runs - len(arm.runs)))
        finally:
            for arm in arms:
                arm.client.close()
            for server, _ in servers.values():
                server.stop()
    print(f"smoke runs (8 checks, client connected once per arm) against real servers, "
          f"{args.runs} per arm in turns of {args.block}; 1×4 FP64 request; load average "
          f"{load_before:.2f} before")
    print("startup to ready: " + ", ".join(f"{name} {server.startup_seconds:.1f} s"
                                           for name, (server, _) in servers.items()))
    print(f"\n{'server':<14}{'protocol':<9}{'runs':>5}{'run p50':>9}{'run p99':>9}"
          f"{'infer p50':>10}{'infer p99':>10}{'server CPU ms/run':>19}{'steal %':>9}"
          f"{'others %':>9}")
    for arm in arms:
        print(f"{arm.server_name:<14}{arm.protocol:<9}{len(arm.runs):>5}"
              f"{percentile(arm.runs, 0.5):>9.2f}{percentile(arm.runs, 0.99):>9.2f}"
              f"{percentile(arm.inferences, 0.5):>10.2f}{percentile(arm.inferences, 0.99):>10.2f}"
              f"{1000 * arm.server_cpu_seconds / len(arm.runs):>19.2f}"
              f"{arm.steal.percent:>9.2f}{arm.steal.others_percent:>9.1f}")
    print("(all times in ms; run = the whole smoke, infer = its timed inference)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
