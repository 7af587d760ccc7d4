"""The batch runner's run folder, error classes, retries, progress and usage errors, without a
server: what a rerun resumes or refuses, which failures are retried, and bad usage exiting 2
with one line and nothing written.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from batch_support import run_batch, write_jsonl
from modelops.errors import UsageError
from modelops_plugins.batch import outputs
from modelops_plugins.batch.client import CallError, CallStats, Retries, classify, with_retries
from modelops_plugins.batch.progress import Progress
from tritonclient.utils import InferenceServerException

IDENTITY = {"model": "m", "input": "in.jsonl", "shardSize": 10}


def _state(index: int) -> outputs.ShardState:
    return outputs.ShardState(index, "in.jsonl", 1 + index * 10, 10 + index * 10, 10, 1,
                              [outputs.Failure("in.jsonl", 3 + index * 10, "bad")])


def test_a_shard_is_whole_or_absent_and_a_rerun_resumes_the_written_ones(tmp_path: Path) -> None:
    folder = outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)
    assert json.loads((tmp_path / "r1" / "_run.json").read_text()) == IDENTITY
    writer = folder.begin(0)
    writer.write(["line\n"])
    assert not (tmp_path / "r1" / "part-00000.jsonl").exists()   # only the temporary name
    writer.commit(_state(0))
    assert (tmp_path / "r1" / "part-00000.jsonl").read_text() == "line\n"
    unfinished = folder.begin(1)
    unfinished.write(["half\n"])
    unfinished.handle.close()   # the process died here
    again = outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)
    assert list(again.done) == [0] and again.done[0] == _state(0)
    assert sorted(p.name for p in (tmp_path / "r1").iterdir()) == [
        "_run.json", "_state", "part-00000.jsonl"]


def test_a_shard_without_its_state_is_written_again(tmp_path: Path) -> None:
    folder = outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)
    writer = folder.begin(0)
    writer.commit(_state(0))
    (tmp_path / "r1" / "_state" / "part-00000.jsonl.json").unlink()
    assert outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY).done == {}


def test_a_complete_run_is_never_written_over(tmp_path: Path) -> None:
    folder = outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)
    folder.write_json(outputs.MANIFEST, {"status": "interrupted"})
    outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)   # resumable
    folder.write_json(outputs.MANIFEST, {"status": "complete"})
    with pytest.raises(UsageError, match="holds a complete run"):
        outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)


def test_a_run_started_with_other_arguments_is_refused_once_it_wrote_a_shard(
        tmp_path: Path) -> None:
    outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)
    changed = {**IDENTITY, "shardSize": 20}
    folder = outputs.RunFolder.open(str(tmp_path), "r1", changed)   # nothing written yet
    assert json.loads((tmp_path / "r1" / "_run.json").read_text()) == changed
    folder.begin(0).commit(_state(0))
    with pytest.raises(UsageError, match="was started with shardSize 20, not 10"):
        outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)


def test_state_files_not_written_by_the_runner_are_refused(tmp_path: Path) -> None:
    folder = outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)
    folder.begin(0).commit(_state(0))
    (tmp_path / "r1" / "_state" / "part-00000.jsonl.json").write_text('{"index": "x"}')
    with pytest.raises(UsageError, match="is not a shard state"):
        outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)
    (tmp_path / "r1" / "_manifest.json").write_text("[1]")
    (tmp_path / "r1" / "_state" / "part-00000.jsonl.json").write_text("{")
    with pytest.raises(UsageError, match="not JSON"):
        outputs.RunFolder.open(str(tmp_path), "r1", IDENTITY)


def test_output_lines_are_v2_responses_with_the_record_number() -> None:
    import numpy as np
    from modelops_plugins.smoke import wire

    (line,) = outputs.result_lines("m", [7], [1], [("label", "INT64", np.array([[2]]))],
                                   ["req-1"]) or [""]
    body = json.loads(line)
    assert wire.parse_response(body)["outputs"][0]["data"] == [2]
    assert body["parameters"] == {"record": 7} and body["id"] == "req-1"
    whole = json.loads(outputs.whole_line("m", 8, "", [("sum", "FP64", np.array([1.5]))]))
    assert whole["outputs"][0]["shape"] == [1] and whole["parameters"] == {"record": 8}
    assert json.loads(outputs.failure_line(8, "nope")) == {"parameters": {"record": 8},
                                                           "error": "nope"}


@pytest.mark.parametrize(("exc", "kind"), [
    (InferenceServerException("bad input", status="400"), "rejected"),
    (InferenceServerException("not found", status="404"), "rejected"),
    (InferenceServerException("busy", status="429"), "unavailable"),
    (InferenceServerException("boom", status="500"), "server"),
    (InferenceServerException("gateway", status="503"), "unavailable"),
    (InferenceServerException("x", status="StatusCode.INVALID_ARGUMENT"), "rejected"),
    (InferenceServerException("x", status="StatusCode.INTERNAL"), "server"),
    (InferenceServerException("x", status="StatusCode.UNAVAILABLE"), "unavailable"),
    (InferenceServerException("x", status="StatusCode.DEADLINE_EXCEEDED"), "unavailable"),
    (ConnectionRefusedError(), "unavailable"),
    (TimeoutError(), "unavailable"),
    (aiohttp.ServerDisconnectedError(), "unavailable"),
])
def test_failures_are_classified(exc: Exception, kind: str) -> None:
    assert classify(exc, "h:1").kind == kind


def test_the_servers_own_words_are_kept() -> None:
    wrapped = InferenceServerException(
        "an exception occurred in the client while decoding the response: 'error'\n"
        "response: Internal Server Error", status="500")
    assert classify(wrapped, "h:1").message == "HTTP 500: Internal Server Error"


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = Retries(retries=5, base=1.0, cap=4.0)
    for attempt, ceiling in ((0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)):
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d < ceiling for d in delays) and len(delays) > 1


def _flaky(failures: list[BaseException]) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "answer"

    return calls, call


def test_unanswered_calls_are_retried_and_rejections_are_not() -> None:
    stats = CallStats()
    calls, call = _flaky([ConnectionRefusedError(), InferenceServerException("x", status="503")])
    assert asyncio.run(with_retries(call, Retries(3, 0.001), stats, "h:1")) == "answer"
    assert (len(calls), stats.retries, stats.requests) == (3, 2, 1)
    calls, call = _flaky([InferenceServerException("bad", status="400")])
    with pytest.raises(CallError, match="HTTP 400: bad"):
        asyncio.run(with_retries(call, Retries(3, 0.001), CallStats(), "h:1"))
    assert len(calls) == 1
    calls, call = _flaky([ConnectionRefusedError()] * 5)
    with pytest.raises(CallError, match=r"connection refused \(after 3 attempts\)"):
        asyncio.run(with_retries(call, Retries(2, 0.001), CallStats(), "h:1"))
    calls, call = _flaky([InferenceServerException("boom", status="500")] * 5)
    with pytest.raises(CallError):
        asyncio.run(with_retries(call, Retries(2, 0.001), CallStats(), "h:1",
                                 retry_server_errors=False))
    assert len(calls) == 1


def test_progress_is_plain_lines_off_a_terminal_and_a_bar_on_one() -> None:
    stream = io.StringIO()
    progress = Progress(1000, stream=stream, interval=3600)
    progress.advance(10, 1, 500)
    assert stream.getvalue() == ""   # between shards: at most one line per interval
    progress.shard_written("part-00000.jsonl")
    progress.skipped("part-00001.jsonl", 20, 800)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("batch: part-00000.jsonl written; 10 records (50 % of the "
                               "input), 1 failed")
    assert lines[1] == "batch: part-00001.jsonl: written by an earlier attempt (20 records), " \
                       "skipped"
    bar_stream = io.StringIO()
    bar = Progress(1000, stream=bar_stream, bar=True)
    bar.advance(10, 0, 1000)
    bar.close()
    assert "100%" in bar_stream.getvalue()


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--timeout", "0"], "--timeout must be greater than zero"),
    (["--url", "http://h:1"], "expected HOST:PORT without a scheme"),
    (["--header", "novalue"], "expected KEY=VALUE"),
    (["--datatype", "FLOAT"], "is not a V2 datatype"),
    (["--datatype", "FP32"], "JSON lines carry their own V2 inputs"),
    (["--run-id", "../escape"], "--run-id '../escape'"),
    (["--input-format", "xml"], "invalid choice"),
])
def test_bad_usage_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, extra: list[str],
                                                            fragment: str) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [[1, 2, 3, 4]])
    args = {"--url": "127.0.0.1:9", "--model": "m", "--input": str(source),
            "--output": str(tmp_path / "out")}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    result = run_batch(*[item for pair in args.items() for item in pair])
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["missing", "unknown format", "output inside input"])
def test_bad_input_exits_2_naming_it(tmp_path: Path, case: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "in.jsonl", [[1, 2, 3, 4]])
    source, output, fragment = {
        "missing": (str(tmp_path / "nope.jsonl"), str(tmp_path / "out"), "no such file"),
        "unknown format": (str(tmp_path / "x.parquet"), str(tmp_path / "out"),
                           "x.parquet: unknown input format"),
        "output inside input": (str(data), str(data / "scores"), "is inside --input"),
    }[case]
    if case == "unknown format":
        Path(source).write_text("x")
    result = run_batch("--url", "127.0.0.1:9", "--model", "m", "--input", source,
                       "--output", output)
    assert result.returncode == 2 and fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not Path(output).exists()


def test_an_unreachable_server_stops_the_run_resumably(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [[1, 2, 3, 4]])
    from serving import free_ports

    (port,) = free_ports(1)
    result = run_batch("--url", f"127.0.0.1:{port}", "--model", "m", "--input", str(source),
                       "--output", str(tmp_path / "out"), "--retries", "1", "--run-id", "r")
    assert result.returncode == 1, result.stderr
    assert "cannot reach" in result.stderr and "rerun the same command to resume" in \
        result.stderr
    body = json.loads((tmp_path / "out" / "r" / "_manifest.json").read_text())
    assert body["status"] == "interrupted" and body["records"]["written"] == 0
