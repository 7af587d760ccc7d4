"""`modelops smoke` against a real Triton Inference Server, and the Triton metrics the alerts read.

One Triton 2.51 (pytriton's bundled `tritonserver` from `.venv-kserve`, CPU, free ports) serves a
Python-backend linear model whose repository (config.pbtxt, 1/model.py, weights) is written here;
it starts once for the module and is stopped by PID at the end, checking that no backend stub
outlives it. The smoke cases are smoke_cases.py's, the ones every test server must meet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import smoke_cases as case
from kserve_serving import KSERVE_PYTHON
from modelops import kserve_metrics
from server_process import session_members
from serving import infer_json
from triton_serving import TritonServer, write_linear_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not KSERVE_PYTHON.exists(), reason="no .venv-kserve (Triton comes with "
                       "it): run `make setup`"),
]

WEIGHTS = np.array([[0.5, 1.0], [-1.0, 0.0], [0.25, 2.0], [2.0, -0.5]])
MODEL = "linear"


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("triton") / "repository"
    write_linear_model(folder, MODEL, WEIGHTS)
    return folder


@pytest.fixture(scope="module")
def server(repository: Path) -> Iterator[TritonServer]:
    triton = TritonServer.start(repository, cwd=repository.parent)
    yield triton
    triton.stop()


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_passes(server: TritonServer, tmp_path: Path, protocol: str) -> None:
    report = case.passes(server, protocol, MODEL, case.write_request(tmp_path, [3, 4]))
    assert report["model metadata"][1] == "inputs predict FP64 [-1, 4]; outputs score FP64 [-1, 2]"
    assert report["outputs"][1] == "score FP64 [3, 2]"


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_builds_its_request_from_triton_metadata(server: TritonServer,
                                                       protocol: str) -> None:
    result = case.smoke(server, protocol, MODEL)
    assert result.rc == 0, result.stdout + result.stderr
    assert case.checks(result.stdout)["inference"] == ("PASS", "predict FP64 [1, 4] -> score")


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_fails_clearly_on_a_wrong_model_name(server: TritonServer, protocol: str) -> None:
    case.fails_on_a_wrong_model_name(server, protocol, "linaer")


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_fails_clearly_on_a_wrong_input_shape(server: TritonServer, tmp_path: Path,
                                                    protocol: str) -> None:
    """Triton refuses the request itself, naming the input, the model and both shapes."""
    detail = case.fails_on_a_wrong_input_shape(server, protocol, MODEL, tmp_path)
    assert detail.startswith("HTTP 400: " if protocol == "http" else "gRPC INVALID_ARGUMENT: ")
    assert "unexpected shape for input 'predict' for model 'linear'" in detail
    assert "Expected [-1,4], got [1,3]" in detail


def test_a_stopped_server_leaves_nothing_and_fails_the_smoke(repository: Path,
                                                            tmp_path: Path) -> None:
    """Its Python-backend stub (a process of the server's session) goes with it."""
    def start() -> TritonServer:
        second = TritonServer.start(repository, cwd=tmp_path)
        assert len(session_members(second.process.pid)) >= 2  # server and model stub
        return second

    case.stopped_server_leaves_nothing(start, MODEL)


# ---------------------------------------------------------------- metrics


def test_the_served_model_is_the_one_written(server: TritonServer) -> None:
    rows = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -0.5, 0.0, 1.0]])
    body = {"inputs": [{"name": "predict", "datatype": "FP64", "shape": [2, 4],
                        "data": rows.reshape(-1).tolist()}]}
    output = infer_json(server.http_url, MODEL, body)["outputs"][0]
    assert output["shape"] == [2, 2]
    assert np.allclose(output["data"], (rows @ WEIGHTS).reshape(-1))


def test_every_triton_metric_the_alerts_read_is_exported(server: TritonServer) -> None:
    """After an inference, each Triton series of kserve_metrics.METRICS is on the real /metrics
    with exactly its labels, the model's name in `model` and its version in `version`."""
    assert case.smoke(server, "http", MODEL).rc == 0
    series = server.series()
    ours = {n: m for n, m in kserve_metrics.METRICS.items()
            if m.exporter == kserve_metrics.TRITON}
    assert ours
    for name, metric in ours.items():
        samples = [s for s in series.get(name, []) if s.get("model") == MODEL]
        assert samples, f"{name} not exported for model={MODEL}"
        assert all(set(s) == set(metric.labels) and s["version"] == "1" for s in samples), (
            name, samples[0])


def test_triton_counts_successes_and_not_a_refused_shape(server: TritonServer,
                                                         tmp_path: Path) -> None:
    """One smoke adds one success and one inference; a request Triton refuses for its shape
    counts in neither the success nor the failure counter (what the module docstring says)."""
    def counters() -> tuple[float, ...]:
        totals = dict.fromkeys((kserve_metrics.TRITON_REQUEST_SUCCESS,
                                kserve_metrics.TRITON_REQUEST_FAILURE,
                                kserve_metrics.TRITON_INFERENCE_COUNT), 0.0)
        for name, labels, value in server.samples():
            if name in totals and labels.get("model") == MODEL:
                totals[name] += value
        return tuple(totals.values())

    success, failure, inferences = counters()
    assert case.smoke(server, "grpc", MODEL).rc == 0
    assert counters() == (success + 1, failure, inferences + 1)
    refused = case.smoke(server, "http", MODEL, "--payload",
                         str(case.write_request(tmp_path, [1, 3])))
    assert refused.rc == 1
    assert counters() == (success + 1, failure, inferences + 1)
