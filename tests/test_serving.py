"""End to end against a real MLServer: smoke, drift detectors and shadow comparison.

One MLServer (from `.venv-mlserver`, on loopback, free ports) serves sklearn models trained
here and a KS detector built by `modelops drift build`; it starts once for the module and is
stopped by PID at the end, checking that no worker outlives it. The commands run as users and
the PostSync Job run them: the real `modelops` console script, exit codes and reports.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_cli
from modelops import monitoring
from repo_builder import build_repo, environment, model
from serving import FEATURES, MLSERVER, MLServer, infer_json, train_models
from smoke_cases import checks as lines
from smoke_cases import url_of
from smoke_cases import write_request as payload

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MLSERVER.exists(), reason="no .venv-mlserver: run `make setup`"),
]

REFERENCE_ROWS = 5000
BATCH = 100


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serving")


@pytest.fixture(scope="module")
def reference(work: Path) -> np.ndarray[Any, Any]:
    rows = np.random.default_rng(11).normal(size=(REFERENCE_ROWS, FEATURES))
    np.save(work / "reference.npy", rows)
    return rows


@pytest.fixture(scope="module")
def server(work: Path, reference: np.ndarray[Any, Any]) -> Iterator[MLServer]:
    models = work / "models"
    models.mkdir()
    # Training (MLServer's venv) and `drift build` (the project's) run side by side.
    training = train_models(models, wait=False)
    built = run_cli("drift", "build", "--reference", str(work / "reference.npy"),
                    "--out", str(models / "iris-drift"))
    assert built.rc == 0, built.stderr
    assert training.wait(timeout=120) == 0, training.stderr.read() if training.stderr else ""
    mlserver = MLServer.start(models, cwd=work)
    print(f"\nMLServer startup (4 models incl. the drift detector): "
          f"{mlserver.startup_seconds:.1f} s")
    yield mlserver
    mlserver.stop()


# ---------------------------------------------------------------- smoke


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_smoke_passes(server: MLServer, tmp_path: Path, protocol: str) -> None:
    """A served model passes every check over both protocols, with the Job's options."""
    result = run_cli("smoke", "--url", url_of(server, protocol), "--model", "iris",
                     "--protocol", protocol, "--payload", str(payload(tmp_path, [2, 4])),
                     "--header", "seldon-model=iris", "--max-latency-ms", "5000")
    assert result.rc == 0, result.stdout + result.stderr
    report = lines(result.stdout)
    assert [status for status, _ in report.values()] == ["PASS"] * 8, result.stdout
    assert report["outputs"][1] == "predict INT64 [2, 1]"
    assert report["request fits metadata"][1] == "predict FP64 [2, 4]"
    assert re.fullmatch(r"[0-9.]+ ms <= 5000 ms", report["latency"][1])
    assert result.stdout.endswith("smoke: OK (8 passed, 0 failed, 0 skipped or not run)\n")


def test_smoke_builds_its_request_from_metadata(server: MLServer) -> None:
    """Without a payload (a spec with no smoke inputs), zeros shaped by the metadata are sent."""
    result = run_cli("smoke", "--url", server.http_url, "--model", "iris-other")
    assert result.rc == 0, result.stdout
    report = lines(result.stdout)
    assert report["inference"] == ("PASS", "predict FP64 [1, 4] -> predict")
    assert report["latency"][0] == "SKIP" and "no threshold given" in report["latency"][1]


def test_smoke_takes_request_and_threshold_from_the_spec(server: MLServer,
                                                         tmp_path: Path) -> None:
    """`--from-spec live/churner` sends spec.smoke and checks the env's 500 ms."""
    smoke = {"inputs": [{"name": "predict", "datatype": "FP64", "shape": [1, 4],
                         "data": [0.5, -1, 2, 0.25]}]}
    repo = build_repo(tmp_path / "repo", environment("live", model("churner", smoke=smoke),
                                                     alerts={"p99LatencyMs": 500}),
                      commit=False)
    result = run_cli("smoke", "--from-spec", "live/churner", "--url", server.http_url,
                     "--model", "iris", repo=repo)
    assert result.rc == 0, result.stdout + result.stderr
    report = lines(result.stdout)
    assert report["request fits metadata"] == ("PASS", "predict FP64 [1, 4]")
    assert re.fullmatch(r"[0-9.]+ ms <= 500 ms", report["latency"][1])


def test_smoke_through_a_pipeline_route_skips_what_the_gateway_lacks(server: MLServer,
                                                                     tmp_path: Path) -> None:
    """With seldon-model=<x>.pipeline, server and metadata checks are skipped with the reason
    (Seldon's pipeline gateway serves only infer and ready); ready and inference still run."""
    result = run_cli("smoke", "--url", server.grpc_url, "--protocol", "grpc", "--model", "iris",
                     "--header", "seldon-model=iris-pipeline.pipeline",
                     "--payload", str(payload(tmp_path, [3, 4])), "--max-latency-ms", "5000")
    assert result.rc == 0, result.stdout + result.stderr
    report = lines(result.stdout)
    gateway = "Seldon's pipeline gateway serves only infer and ready"
    assert report["server live"] == report["server ready"] == report["model metadata"] == (
        "SKIP", gateway)
    assert report["model ready"][0] == report["inference"][0] == report["outputs"][0] == "PASS"
    assert report["request fits metadata"] == ("SKIP", "no metadata to compare with")
    assert "(seldon-model=iris-pipeline.pipeline)" in result.stdout.splitlines()[0]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_smoke_fails_clearly_on_a_wrong_model_name(server: MLServer, protocol: str) -> None:
    result = run_cli("smoke", "--url", url_of(server, protocol), "--model", "irsi",
                     "--protocol", protocol)
    assert result.rc == 1, result.stdout + result.stderr
    report = lines(result.stdout)
    assert report["server ready"][0] == "PASS"
    assert report["model ready"] == ("FAIL", "'irsi' is not ready: unknown to the server, "
                                             "still loading, or failed to load")
    assert report["inference"] == ("SKIP", "not run: the model is not ready")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.endswith("smoke: FAILED (2 passed, 1 failed, 5 skipped or not run)\n")


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_smoke_fails_clearly_on_a_wrong_input_shape(server: MLServer, tmp_path: Path,
                                                    protocol: str) -> None:
    result = run_cli("smoke", "--url", url_of(server, protocol), "--model", "iris",
                     "--protocol", protocol, "--payload", str(payload(tmp_path, [1, 3])))
    assert result.rc == 1, result.stdout + result.stderr
    report = lines(result.stdout)
    assert report["request fits metadata"] == (
        "FAIL", "input 'predict' has shape [1, 3], the model declares [-1, 4]")
    status, detail = report["inference"]
    assert status == "FAIL"
    assert "X has 3 features, but LogisticRegression is expecting 4 features" in detail
    assert detail.startswith("gRPC INTERNAL: " if protocol == "grpc" else "HTTP 500: ")
    assert report["outputs"] == ("SKIP", "not run: inference failed")


def test_smoke_fails_clearly_when_the_server_is_stopped(server: MLServer, work: Path,
                                                       tmp_path: Path) -> None:
    """A second MLServer passes, is stopped by PID (no workers left), then fails the smoke."""
    models = tmp_path / "models"
    shutil.copytree(work / "models" / "iris", models / "iris")
    small = MLServer.start(models, cwd=tmp_path, parallel_workers=0)
    try:
        before = run_cli("smoke", "--url", small.http_url, "--model", "iris")
        assert before.rc == 0, before.stdout
    finally:
        small.stop()
    for protocol, url in (("http", small.http_url), ("grpc", small.grpc_url)):
        after = run_cli("smoke", "--url", url, "--model", "iris", "--protocol", protocol)
        assert after.rc == 1, after.stdout + after.stderr
        status, detail = lines(after.stdout)["server live"]
        assert status == "FAIL"
        assert detail.startswith(f"cannot reach {url}: ")
        assert "refused" in detail.lower()
        assert "smoke: FAILED (0 passed, 1 failed, 7 skipped or not run)" in after.stdout


# ---------------------------------------------------------------- drift


def detect(server: MLServer, rows: np.ndarray[Any, Any]) -> int:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": list(rows.shape),
                        "data": rows.reshape(-1).tolist()}]}
    outputs = {o["name"]: o for o in infer_json(server.http_url, "iris-drift", body)["outputs"]}
    assert set(outputs) == {"is_drift", "p_val", "distance", "threshold"}
    assert outputs["p_val"]["shape"] == [1, FEATURES]
    return int(outputs["is_drift"]["data"][0])


def test_served_detector_answers_drift_and_no_drift(server: MLServer) -> None:
    """The detector built by `drift build`, served by MLServer: shifted -> 1, same -> 0."""
    rng = np.random.default_rng(12)
    assert detect(server, rng.normal(size=(BATCH, FEATURES))) == 0
    shifted = rng.normal(size=(BATCH, FEATURES))
    shifted[:, 1] += 1.0  # one feature moves by one standard deviation
    assert detect(server, shifted) == 1


def test_detector_false_alarm_rate(server: MLServer, record_property: Any) -> None:
    """Same-distribution batches are flagged about p-value of the time (0.01), never much more."""
    rng = np.random.default_rng(13)
    batches = 300
    alarms = sum(detect(server, rng.normal(size=(BATCH, FEATURES))) for _ in range(batches))
    rate = alarms / batches
    record_property("drift_false_alarm_rate", rate)
    print(f"\ndrift false-alarm rate: {alarms}/{batches} = {rate:.3f} "
          f"(KS, p-value 0.01, Bonferroni over {FEATURES} features, {BATCH}-row batches)")
    assert rate <= 0.03  # binomial(300, 0.01): P(rate > 0.03) < 0.001
    shifted = 0
    for _ in range(20):
        batch = rng.normal(size=(BATCH, FEATURES))
        batch[:, 0] += 0.75
        shifted += detect(server, batch)
    assert shifted >= 19


def test_metrics_the_rules_read_are_the_ones_mlserver_exports(server: MLServer) -> None:
    """seldon_model_drift really exists; model_infer_request_duration has no buckets (why the
    latency alerts use the agent's mean)."""
    detect(server, np.zeros((BATCH, FEATURES)))
    text = server.metrics()
    exported = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, re.M))
    from_mlserver = {name for name, metric in monitoring.METRICS.items()
                     if metric.exporter.startswith("MLServer")}
    assert from_mlserver and from_mlserver <= exported
    assert re.search(r'^seldon_model_drift_count\{model_name="iris-drift",', text, re.M)
    assert "# TYPE model_infer_request_duration summary" in text
    assert not any(name.startswith("model_infer_request_duration_bucket") for name in exported)


# ---------------------------------------------------------------- shadow


@pytest.fixture(scope="module")
def shadow_inputs(work: Path) -> Path:
    path = work / "shadow-inputs.npy"
    np.save(path, np.random.default_rng(14).normal(size=(1000, FEATURES)))
    return path


def shadow(server: MLServer, previous: str, inputs: Path, record: Path,
           protocol: str = "http") -> Any:
    return run_cli("shadow", "compare", "--url", url_of(server, protocol), "--protocol", protocol,
                   "--current", "iris", "--previous", previous, "--inputs", str(inputs),
                   "--record-dir", str(record))


def test_shadow_passes_an_identical_model_live_and_offline(
        server: MLServer, shadow_inputs: Path, tmp_path: Path) -> None:
    live = shadow(server, "iris-copy", shadow_inputs, tmp_path)
    assert live.rc == 0, live.stdout + live.stderr
    assert "1000 current vs 1000 previous value(s)" in live.stdout
    assert "divergence (base 2): 0.0000, threshold 0.1: OK" in live.stdout
    offline = run_cli("shadow", "compare", "--recorded", str(tmp_path / "current.jsonl"),
                      str(tmp_path / "previous.jsonl"))
    assert offline.rc == 0, offline.stdout + offline.stderr
    assert offline.stdout == live.stdout


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_shadow_flags_a_different_model_live_and_offline(
        server: MLServer, shadow_inputs: Path, tmp_path: Path, protocol: str) -> None:
    live = shadow(server, "iris-other", shadow_inputs, tmp_path, protocol)
    assert live.rc == 1, live.stdout + live.stderr
    match = re.search(r"divergence \(base 2\): ([0-9.]+), threshold 0.1: FLAG", live.stdout)
    assert match and float(match[1]) > 0.1, live.stdout
    recorded = [json.loads(line) for line in
                (tmp_path / "previous.jsonl").read_text().splitlines()]
    assert len(recorded) == 10 and recorded[0]["model_name"] == "iris-other"
    offline = run_cli("shadow", "compare", "--recorded", str(tmp_path / "current.jsonl"),
                      str(tmp_path / "previous.jsonl"))
    assert (offline.rc, offline.stdout) == (1, live.stdout)
