"""`make bench SUITE=smoke`: what the smoke client adds on top of bare tritonclient calls.

Why: the smoke test is a thin layer (typed V2 request in, typed response out, output checks)
over tritonclient; this shows that layer costs little next to an inference round trip, per
protocol. It starts its own MLServer (from .venv-mlserver, loopback, parallel_workers 0 so the
server adds as little noise as it can), then per protocol runs, interleaved in blocks so both
see the same machine load:

- smoke: `client.infer` (tritonclient inputs built from the V2 request, response decoded
  into a typed V2 response) plus `checks.output_problems`, exactly the smoke's inference step;
- bare: prebuilt tritonclient inputs, `infer`, `as_numpy` of the output.

    python tests/bench/bench_smoke.py [--requests 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from modelops_plugins.smoke import checks, wire
from modelops_plugins.smoke.client import connect
from serving import MLServer, train_models

REQUEST = wire.parse_request({"inputs": [{"name": "predict", "datatype": "FP64",
                                          "shape": [1, 4], "data": [0.1, -0.4, 1.2, 0.3]}]})
MODEL = "iris"
BLOCK = 50
WARMUP = 50


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def bench_protocol(protocol: str, url: str, requests: int) -> dict[str, list[float]]:
    client = connect(protocol, url)  # type: ignore[arg-type]
    metadata = client.metadata(MODEL)
    request = wire.with_outputs(REQUEST, [t["name"] for t in metadata["outputs"]])

    def smoke() -> None:
        response = client.infer(MODEL, request)
        if checks.output_problems(response, request, metadata):
            raise SystemExit(f"bench: smoke output check failed over {protocol}")

    if protocol == "grpc":
        import tritonclient.grpc as tc

        raw: Any = tc.InferenceServerClient(url)
        inputs = [tc.InferInput("predict", [1, 4], "FP64")]
        inputs[0].set_data_from_numpy(np.asarray([REQUEST["inputs"][0]["data"]]))
        outputs = [tc.InferRequestedOutput("predict")]
    else:
        import tritonclient.http as th

        raw = th.InferenceServerClient(url)
        inputs = [th.InferInput("predict", [1, 4], "FP64")]
        inputs[0].set_data_from_numpy(np.asarray([REQUEST["inputs"][0]["data"]]),
                                      binary_data=False)
        outputs = [th.InferRequestedOutput("predict", binary_data=False)]

    def bare() -> None:
        raw.infer(MODEL, inputs, outputs=outputs).as_numpy("predict")

    samples: dict[str, list[float]] = {"smoke": [], "bare": []}
    for _ in range(WARMUP):
        smoke()
        bare()
    while len(samples["smoke"]) < requests:
        block = min(BLOCK, requests - len(samples["smoke"]))
        samples["smoke"] += [timed(smoke) for _ in range(block)]
        samples["bare"] += [timed(bare) for _ in range(block)]
    full = [timed(lambda: checks.run(client, MODEL, REQUEST, max_latency_ms=None))
            for _ in range(max(10, requests // 10))]
    samples["full smoke run (8 checks)"] = full
    client.close()
    raw.close()
    return samples


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as tmp:
        work = Path(tmp)
        models = work / "models"
        models.mkdir()
        train_models(models)
        server = MLServer.start(models, cwd=work, parallel_workers=0)
        try:
            results = {"http": bench_protocol("http", server.http_url, args.requests),
                       "grpc": bench_protocol("grpc", server.grpc_url, args.requests)}
        finally:
            server.stop()
    rows = []
    for protocol, samples in results.items():
        base = statistics.median(samples["bare"])
        for path, values in samples.items():
            median = statistics.median(values)
            rows.append({"protocol": protocol, "path": path, "n": len(values),
                         "median_ms": median, "p99_ms": percentile(values, 0.99),
                         "overhead_ms": median - base if path == "smoke" else None})
    if args.json:
        print(json.dumps({"startup_s": server.startup_seconds, "rows": rows}, indent=2))
        return 0
    print(f"MLServer 1.7 (parallel_workers 0) ready in {server.startup_seconds:.1f} s; "
          f"{args.requests} requests per protocol and path, 1×4 FP64 sklearn model")
    print(f"{'protocol':<9}{'path':<27}{'n':>5}{'median ms':>11}{'p99 ms':>9}"
          f"{'smoke - bare':>14}")
    for row in rows:
        overhead = (f"{row['overhead_ms']:+.3f} ms" if row["overhead_ms"] is not None else "")
        print(f"{row['protocol']:<9}{row['path']:<27}{row['n']:>5}{row['median_ms']:>11.3f}"
              f"{row['p99_ms']:>9.3f}{overhead:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
