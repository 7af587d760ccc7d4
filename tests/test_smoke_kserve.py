"""`modelops smoke` against a real KServe ModelServer, and the KServe metrics the alerts read.

One KServe 0.21 ModelServer (from `.venv-kserve`, free ports) serves scikit-learn classifiers
trained here by that venv's Python, over V2 REST and V2 gRPC; it starts once for the module and
is stopped by PID at the end, checking that nothing of it outlives it. The smoke cases are
smoke_cases.py's, the ones every test server must meet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import smoke_cases as case
from kserve_serving import KSERVE_PYTHON, KServeServer, train_kserve_models
from modelops import kserve_metrics
from serving import infer_json

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not KSERVE_PYTHON.exists(), reason="no .venv-kserve: run `make setup`"),
]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kserve") / "models"
    folder.mkdir()
    train_kserve_models(folder)
    return folder


@pytest.fixture(scope="module")
def server(models: Path) -> Iterator[KServeServer]:
    kserve = KServeServer.start(models, cwd=models.parent)
    yield kserve
    kserve.stop()


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_passes(server: KServeServer, tmp_path: Path, protocol: str) -> None:
    report = case.passes(server, protocol, "iris", case.write_request(tmp_path, [3, 4]))
    assert report["model metadata"][1] == "inputs predict FP64 [-1, 4]; outputs predict INT64 [-1]"
    assert report["outputs"][1] == "predict INT64 [3]"


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_builds_its_request_from_kserve_metadata(server: KServeServer,
                                                       protocol: str) -> None:
    result = case.smoke(server, protocol, "iris-other")
    assert result.rc == 0, result.stdout + result.stderr
    assert case.checks(result.stdout)["inference"] == ("PASS", "predict FP64 [1, 4] -> predict")


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_fails_clearly_on_a_wrong_model_name(server: KServeServer, protocol: str) -> None:
    case.fails_on_a_wrong_model_name(server, protocol, "irsi")


@pytest.mark.parametrize("protocol", case.PROTOCOLS)
def test_smoke_fails_clearly_on_a_wrong_input_shape(server: KServeServer, tmp_path: Path,
                                                    protocol: str) -> None:
    """Over HTTP the model's own error comes back; KServe's gRPC server hides it behind
    INTERNAL, so there the metadata check is what names the cause."""
    detail = case.fails_on_a_wrong_input_shape(server, protocol, "iris", tmp_path)
    if protocol == "http":
        assert detail == ("HTTP 500: ValueError : X has 3 features, but LogisticRegression is "
                          "expecting 4 features as input.")
    else:
        assert detail.startswith("gRPC INTERNAL: ")


def test_a_stopped_server_leaves_nothing_and_fails_the_smoke(models: Path,
                                                            tmp_path: Path) -> None:
    case.stopped_server_leaves_nothing(lambda: KServeServer.start(models, cwd=tmp_path), "iris")


# ---------------------------------------------------------------- metrics


def test_every_kserve_metric_the_alerts_read_is_exported(server: KServeServer) -> None:
    """After an inference, each KServe series of kserve_metrics.METRICS is on the real
    /metrics with exactly its labels, the model's own name in `model_name`."""
    body = {"inputs": [{"name": "predict", "datatype": "FP64", "shape": [1, 4],
                        "data": [0.1, 0.2, 0.3, 0.4]}]}
    assert infer_json(server.http_url, "iris-copy", body)["model_name"] == "iris-copy"
    series = server.series()
    ours = {n: m for n, m in kserve_metrics.METRICS.items()
            if m.exporter == kserve_metrics.KSERVE_SERVER}
    assert ours
    for name, metric in ours.items():
        samples = [s for s in series.get(name, []) if s.get("model_name") == "iris-copy"]
        assert samples, f"{name} not exported for model_name=iris-copy"
        assert all(set(s) == set(metric.labels) for s in samples), (name, samples[0])


def test_kserve_counts_a_failed_predict_in_the_predict_histogram(server: KServeServer,
                                                                 tmp_path: Path) -> None:
    """KServe has no error counter: a failing predict is observed like any other (what the
    module docstring tells the alert rules)."""
    def predicts() -> float:
        return sum(value for name, labels, value in server.samples()
                   if name == f"{kserve_metrics.KSERVE_PREDICT_SECONDS}_count"
                   and labels.get("model_name") == "iris")

    before = predicts()
    failed = case.smoke(server, "http", "iris", "--payload",
                        str(case.write_request(tmp_path, [1, 3])))
    assert failed.rc == 1
    assert predicts() == before + 1
