"""`modelops smoke` end to end against a real server: the cases every server's tests share.

Each server's test file (test_smoke_kserve.py, test_smoke_triton.py) starts its server and calls
these with its own model, so the same behaviour is demanded of every server: the smoke runs as the
PostSync Job runs it (the real `modelops` console script), passes over HTTP and gRPC, and fails
with exit 1 and a located message on a wrong model name, a wrong input shape and a stopped server.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from conftest import CliResult, run_cli
from server_process import ServerProcess, session_members

PROTOCOLS = ["http", "grpc"]
INPUT = "predict"  # the input every test server's model declares (FP64 [-1, features])


def write_request(folder: Path, shape: list[int], name: str = "request.json") -> Path:
    """A V2 request of FP64 values shaped `shape` for the `predict` input."""
    count = math.prod(shape)
    body = {"inputs": [{"name": INPUT, "datatype": "FP64", "shape": shape,
                        "data": np.linspace(-1, 1, count).round(3).tolist()}]}
    path = folder / name
    path.write_text(json.dumps(body))
    return path


def checks(stdout: str) -> dict[str, tuple[str, str]]:
    """The report's check lines as {check: (status, detail)}."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"  (PASS|FAIL|SKIP)  (.+?)(?:\s{2,}(.*))?$", line)
        if match:
            found[match[2].strip()] = (match[1], match[3] or "")
    return found


def url_of(server: ServerProcess, protocol: str) -> str:
    return server.grpc_url if protocol == "grpc" else server.http_url


def smoke(server: ServerProcess, protocol: str, model: str, *args: str) -> CliResult:
    return run_cli("smoke", "--url", url_of(server, protocol), "--protocol", protocol,
                   "--model", model, *args)


def passes(server: ServerProcess, protocol: str, model: str,
           request: Path) -> dict[str, tuple[str, str]]:
    """Every check passes with the Job's options; the report, for the server's own details."""
    result = smoke(server, protocol, model, "--payload", str(request), "--max-latency-ms", "5000")
    assert result.rc == 0, result.stdout + result.stderr
    report = checks(result.stdout)
    assert [status for status, _ in report.values()] == ["PASS"] * 8, result.stdout
    assert result.stdout.endswith("smoke: OK (8 passed, 0 failed, 0 skipped or not run)\n")
    return report


def fails_on_a_wrong_model_name(server: ServerProcess, protocol: str, wrong: str) -> None:
    result = smoke(server, protocol, wrong)
    assert result.rc == 1, result.stdout + result.stderr
    report = checks(result.stdout)
    assert report["server ready"][0] == "PASS"
    assert report["model ready"] == ("FAIL", f"{wrong!r} is not ready: unknown to the server, "
                                             "still loading, or failed to load")
    assert report["inference"] == ("SKIP", "not run: the model is not ready")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.endswith("smoke: FAILED (2 passed, 1 failed, 5 skipped or not run)\n")


def fails_on_a_wrong_input_shape(server: ServerProcess, protocol: str, model: str,
                                 folder: Path) -> str:
    """[1, 3] sent to a model declaring [-1, 4]: the metadata check names the mismatch and the
    inference fails; returns the inference line's detail (the server's own answer)."""
    result = smoke(server, protocol, model, "--payload", str(write_request(folder, [1, 3])))
    assert result.rc == 1, result.stdout + result.stderr
    report = checks(result.stdout)
    assert report["request fits metadata"] == (
        "FAIL", f"input '{INPUT}' has shape [1, 3], the model declares [-1, 4]")
    status, detail = report["inference"]
    assert status == "FAIL"
    assert report["outputs"] == ("SKIP", "not run: inference failed")
    assert "Traceback" not in result.stdout + result.stderr
    return detail


def stopped_server_leaves_nothing(start: Callable[[], ServerProcess], model: str) -> None:
    """A second server passes, is stopped by PID (nothing of its session left), then the smoke
    cannot reach it over either protocol."""
    server = start()
    try:
        assert smoke(server, "grpc", model).rc == 0
    finally:
        server.stop()
    assert session_members(server.process.pid) == []
    for protocol in PROTOCOLS:
        after = smoke(server, protocol, model)
        assert after.rc == 1, after.stdout + after.stderr
        status, detail = checks(after.stdout)["server live"]
        assert status == "FAIL"
        assert detail.startswith(f"cannot reach {url_of(server, protocol)}: ")
