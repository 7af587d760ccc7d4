"""`modelops batch run` against a real MLServer (its own venv, loopback, stopped by PID).

100,000 rows scored, the runner killed by PID half-way and run again: no record lost or
duplicated, outputs in input order and equal to what the model answers one plain request. A
malformed line and a wrong shape fail alone, named by file and line; a record only the server
can refuse is found by splitting the batch; a server stopped mid-run stops the run resumably,
and the same command completes it once the server is back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from batch_support import (
    manifest,
    only_run,
    output_lines,
    parts,
    request_line,
    rows,
    run_batch,
    start_batch,
    write_jsonl,
)
from serving import MLSERVER, MLServer, infer_json, train_models

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MLSERVER.exists(), reason="no .venv-mlserver: run `make setup`"),
]
ROWS = 100_000


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The serving models plus `iris-bare`: iris without declared inputs or outputs, so the
    runner cannot check records before sending them."""
    folder = tmp_path_factory.mktemp("batch-models") / "models"
    train_models(folder)
    bare = folder / "iris-bare"
    bare.mkdir()
    shutil.copy(folder / "iris" / "model.joblib", bare / "model.joblib")
    (bare / "model-settings.json").write_text(json.dumps({
        "name": "iris-bare", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"}}))
    return folder


@pytest.fixture(scope="module")
def server(models: Path) -> Iterator[MLServer]:
    started = MLServer.start(models, cwd=models.parent, parallel_workers=0)
    yield started
    started.stop()


def predictions(url: str, data: np.ndarray[Any, Any]) -> list[int]:
    """What the model answers, in one plain HTTP request (not through the runner)."""
    body = infer_json(url, "iris", {"inputs": [{"name": "predict", "datatype": "FP64",
                                                "shape": list(data.shape),
                                                "data": data.reshape(-1).tolist()}]})
    return [int(v) for v in body["outputs"][0]["data"]]


def test_killed_half_way_then_rerun_scores_every_record_once_in_order(
        server: MLServer, tmp_path: Path) -> None:
    data = rows(ROWS)
    source = tmp_path / "rows.npy"
    np.save(source, data)
    out = tmp_path / "out"
    args = ("--url", server.grpc_url, "--protocol", "grpc", "--model", "iris",
            "--input", str(source), "--output", str(out), "--progress", "lines")
    runner = start_batch(*args, log=tmp_path / "first.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and runner.poll() is None:
        if out.exists() and any(out.iterdir()) and len(parts(only_run(out))) >= 3:
            break
        time.sleep(0.02)
    assert runner.poll() is None, "the runner finished before it could be killed"
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait(10)
    run = only_run(out)
    written_before = len(parts(run))
    assert 3 <= written_before < 10
    assert not (run / "_manifest.json").exists()

    again = run_batch(*args)
    assert again.returncode == 0, again.stderr
    assert only_run(out) == run   # the same arguments resume the same run
    body = manifest(run)
    assert body["status"] == "complete"
    assert body["records"] == {"written": ROWS, "scored": ROWS, "failed": 0}
    assert body["timings"]["recordsThisAttempt"] == ROWS - written_before * 10_000
    assert again.stderr.count("written by an earlier attempt") == written_before
    lines = output_lines(run)
    assert [line["parameters"]["record"] for line in lines] == list(range(1, ROWS + 1))
    scored = [line["outputs"][0]["data"][0] for line in lines]
    assert scored == predictions(server.http_url, data)
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_a_malformed_line_and_a_wrong_shape_fail_alone_named_by_file_and_line(
        server: MLServer, tmp_path: Path) -> None:
    data = rows(60, seed=5)
    lines = [request_line(r) for r in data]
    lines[16] = '{"inputs": [oops\n'
    lines[22] = request_line([0.1] * 5)
    source = tmp_path / "records.jsonl"
    source.write_text("".join(lines))
    args = ("--url", server.http_url, "--model", "iris", "--input", str(source),
            "--batch-size", "8")
    result = run_batch(*args, "--output", str(tmp_path / "tolerant"), "--max-failures", "5")
    assert result.returncode == 1, result.stderr
    assert f"{source}:17: not JSON" in result.stderr
    assert (f"{source}:23: input 'predict' has shape [1, 5], the model declares [-1, 4]"
            in result.stderr)
    run = only_run(tmp_path / "tolerant")
    body = manifest(run)
    assert body["status"] == "complete"
    assert [(f["file"], f["record"]) for f in body["failures"]] == [(str(source), 17),
                                                                    (str(source), 23)]
    outputs = output_lines(run)
    assert [o["parameters"]["record"] for o in outputs] == list(range(1, 61))
    assert [i + 1 for i, o in enumerate(outputs) if "error" in o] == [17, 23]
    good = [i for i in range(60) if i not in (16, 22)]
    assert [outputs[i]["outputs"][0]["data"][0] for i in good] == \
        predictions(server.http_url, data[good])

    strict = run_batch(*args, "--output", str(tmp_path / "strict"))
    assert strict.returncode == 1
    stopped = manifest(only_run(tmp_path / "strict"))
    assert stopped["status"] == "stopped" and "--max-failures 0" in stopped["reason"]


def test_a_record_only_the_server_refuses_is_found_by_splitting_the_batch(
        server: MLServer, tmp_path: Path) -> None:
    data = rows(250, seed=9)
    sent = data.copy()
    sent[129, 2] = np.nan   # stacks with its neighbours; scikit-learn refuses it on the server
    source = write_jsonl(tmp_path / "records.jsonl", sent)
    result = run_batch("--url", server.grpc_url, "--protocol", "grpc", "--model", "iris-bare",
                       "--input", str(source), "--output", str(tmp_path / "out"),
                       "--max-failures", "1", "--retries", "1")
    assert result.returncode == 1, result.stderr
    body = manifest(only_run(tmp_path / "out"))
    ((record, error),) = [(f["record"], f["error"]) for f in body["failures"]]
    assert record == 130 and error.startswith("gRPC INTERNAL: Input X contains NaN")
    outputs = output_lines(only_run(tmp_path / "out"))
    good = [i for i in range(250) if i != 129]
    assert [outputs[i]["outputs"][0]["data"][0] for i in good] == \
        predictions(server.http_url, data[good])


def test_a_server_stopped_mid_run_stops_it_and_the_same_command_completes_it(
        models: Path, server: MLServer, tmp_path: Path) -> None:
    count = 12_000
    data = rows(count, seed=11)
    source = write_jsonl(tmp_path / "rows.jsonl", data)
    out = tmp_path / "out"
    own = MLServer.start(models, cwd=tmp_path, parallel_workers=0)
    try:
        common = ("--model", "iris", "--input", str(source), "--output", str(out),
                  "--shard-size", "2000", "--retries", "2")
        runner = start_batch("--url", own.http_url, *common, "--batch-size", "10",
                             "--concurrency", "1", log=tmp_path / "run.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and runner.poll() is None:
            if out.exists() and any(out.iterdir()) and parts(only_run(out)):
                break
            time.sleep(0.02)
        assert runner.poll() is None, (tmp_path / "run.log").read_text()
    finally:
        own.stop()
    assert runner.wait(60) == 1
    log = (tmp_path / "run.log").read_text()
    assert "cannot reach" in log and "rerun the same command to resume" in log
    run = only_run(out)
    body = manifest(run)
    assert body["status"] == "interrupted" and "cannot reach" in body["reason"]
    assert 0 < body["records"]["written"] < count

    # The server back, as after a restart on other ports: the module's own.
    again = run_batch("--url", server.http_url, *common, "--batch-size", "500")
    assert again.returncode == 0, again.stderr
    assert only_run(out) == run
    assert manifest(run)["status"] == "complete"
    lines = output_lines(run)
    assert [line["parameters"]["record"] for line in lines] == list(range(1, count + 1))
    assert [line["outputs"][0]["data"][0] for line in lines] == \
        predictions(server.http_url, data)


def test_csv_rows_take_the_models_declared_input(server: MLServer, tmp_path: Path) -> None:
    data = rows(30, seed=13)
    source = tmp_path / "rows.csv"
    source.write_text("a,b,c,d\n" + "".join(",".join(repr(float(v)) for v in row) + "\n"
                                            for row in data))
    result = run_batch("--url", server.http_url, "--model", "iris", "--input", str(source),
                       "--output", str(tmp_path / "out"), "--batch-size", "7")
    assert result.returncode == 0, result.stderr
    lines = output_lines(only_run(tmp_path / "out"))
    assert [line["parameters"]["record"] for line in lines] == list(range(2, 32))  # line 1: header
    assert [line["outputs"][0]["data"][0] for line in lines] == \
        predictions(server.http_url, data)


def test_a_file_that_is_not_its_format_stops_the_run_as_bad_input(server: MLServer,
                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    np.save(folder / "a.npy", rows(50, seed=17))
    (folder / "b.npy").write_bytes(b"not numpy at all")
    result = run_batch("--url", server.grpc_url, "--protocol", "grpc", "--model", "iris",
                       "--input", str(folder), "--output", str(tmp_path / "out"),
                       "--shard-size", "20")
    assert result.returncode == 2, result.stderr
    assert f"{folder}/b.npy: not a .npy array" in result.stderr
    assert "Traceback" not in result.stderr
    run = only_run(tmp_path / "out")
    body = manifest(run)
    assert body["status"] == "bad input" and body["records"]["written"] == 50
    assert [p.name for p in parts(run)] == ["part-00000.jsonl", "part-00001.jsonl",
                                           "part-00002.jsonl"]
