"""`modelops batch run` against a real KServe ModelServer (its own venv, loopback, stopped by
PID), the endpoint a batch CronJob calls for a model served by KServe.

The same records scored over V2 REST and V2 gRPC give the same answers, every record once and
in input order; a model the server does not serve fails the run with a clear message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from batch_support import manifest, only_run, output_lines, rows, run_batch
from kserve_serving import KSERVE_PYTHON, KServeServer, train_kserve_models

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not KSERVE_PYTHON.exists(), reason="no .venv-kserve: run `make setup`"),
]
ROWS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KServeServer]:
    models = tmp_path_factory.mktemp("kserve-batch") / "models"
    train_kserve_models(models)
    started = KServeServer.start(models, cwd=models.parent)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kserve-batch-input") / "rows.npy"
    np.save(path, rows(ROWS, seed=11))
    return path


def score(server: KServeServer, source: Path, out: Path, protocol: str) -> list[int]:
    url = server.grpc_url if protocol == "grpc" else server.http_url
    result = run_batch("--url", url, "--protocol", protocol, "--model", "iris",
                       "--input", str(source), "--output", str(out), "--batch-size", "200",
                       "--concurrency", "4", "--progress", "lines")
    assert result.returncode == 0, result.stderr
    run = only_run(out)
    body = manifest(run)
    assert body["status"] == "complete"
    assert body["records"] == {"written": ROWS, "scored": ROWS, "failed": 0}
    lines = output_lines(run)
    assert [line["parameters"]["record"] for line in lines] == list(range(1, ROWS + 1))
    return [int(line["outputs"][0]["data"][0]) for line in lines]


def test_both_protocols_score_every_record_once_in_order_alike(
        server: KServeServer, source: Path, tmp_path: Path) -> None:
    over_http = score(server, source, tmp_path / "http", "http")
    over_grpc = score(server, source, tmp_path / "grpc", "grpc")
    assert over_http == over_grpc
    assert set(over_http) <= {0, 1, 2} and len(set(over_http)) > 1


def test_a_model_the_server_does_not_serve_fails_clearly(
        server: KServeServer, source: Path, tmp_path: Path) -> None:
    result = run_batch("--url", server.http_url, "--model", "no-such-model",
                       "--input", str(source), "--output", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "no-such-model" in result.stderr
    assert "Traceback" not in result.stderr
