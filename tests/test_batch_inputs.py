"""The batch runner's inputs, without a server: which files a URI names, each format read into
numbered records, shards and batches, stacking records into requests and cutting outputs back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from batch_support import request_line, write_jsonl
from modelops.errors import UsageError
from modelops_plugins.batch import outputs, shards, sources, tensors
from modelops_plugins.batch.records import InputFileError, TensorChoice, open_reader
from modelops_plugins.smoke import wire

FP64 = TensorChoice("predict", "FP64")


def test_a_file_is_its_own_input_with_its_format(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [[1, 2, 3, 4]])
    (found,) = sources.resolve(str(path), None)
    assert (found.display, found.format, found.size) == (str(path), "jsonl",
                                                         path.stat().st_size)


def test_a_prefix_is_read_sorted_leaving_out_markers_and_hidden_files(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "sub/c.csv", "_SUCCESS", ".a.csv.crc", "_tmp/x.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1,2\n")
    found = sources.resolve(str(tmp_path), None)
    assert [f.display for f in found] == [f"{tmp_path}/{n}" for n in ("a.csv", "b.csv",
                                                                      "sub/c.csv")]


@pytest.mark.parametrize(("names", "fragment"), [
    (["a.csv", "notes.txt"], "notes.txt: unknown input format"),
    (["a.csv", "b.npy"], "mixes formats (csv, npy)"),
    ([], "no files under this prefix"),
])
def test_a_prefix_never_skips_a_file_silently(tmp_path: Path, names: list[str],
                                              fragment: str) -> None:
    for name in names:
        (tmp_path / name).write_text("1\n")
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        sources.resolve(str(tmp_path), None)


def test_input_format_overrides_extensions(tmp_path: Path) -> None:
    (tmp_path / "rows.txt").write_text("1,2\n")
    assert [f.format for f in sources.resolve(str(tmp_path), "csv")] == ["csv"]


def test_missing_input_and_schemes_without_their_extra_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or prefix"):
        sources.resolve(str(tmp_path / "absent.jsonl"), None)
    for uri, extra in (("gs://bucket/x.jsonl", "gcs"), ("s3://bucket/x.jsonl", "s3")):
        try:
            __import__({"gcs": "gcsfs", "s3": "s3fs"}[extra])
        except ImportError:
            with pytest.raises(UsageError, match=rf"\[{extra}\] extra"):
                sources.resolve(uri, None)
    with pytest.raises(UsageError, match="Protocol not known"):
        sources.resolve("nosuchscheme://x/y.jsonl", None)


def _source(path: Path) -> sources.InputFile:
    (found,) = sources.resolve(str(path), None)
    return found


def test_json_lines_are_numbered_by_line_and_bad_lines_fail_alone(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(request_line([1, 2, 3, 4]) + "\n" + "{not json\n"
                    + json.dumps({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 2],
                                              "data": [1]}]}) + "\n"
                    + request_line([5, 6, 7, 8]))
    reader = open_reader(_source(path), None)
    records = reader.read(10)
    assert [r.number for r in records] == [1, 3, 4, 5]   # line 2 is blank
    decoded = [reader.decode(r) for r in records]
    assert isinstance(decoded[0], tensors.RecordInputs)
    assert decoded[0].tensors[0].shape == (1, 4)
    assert isinstance(decoded[1], str) and decoded[1].startswith("not JSON")
    assert decoded[2] == ("not a V2 inference request: record.inputs[0].data: 1 value(s) for "
                          "shape [1, 2] (2 expected)")
    assert isinstance(decoded[3], tensors.RecordInputs)
    reader.close()


def test_csv_header_rows_and_bad_cells(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a,b,c\n1,2,3\n4,x,6\n7,8\n\n9,10,11\n")
    reader = open_reader(_source(path), FP64)
    records = reader.read(10)
    assert [r.number for r in records] == [2, 3, 4, 6]
    decoded = [reader.decode(r) for r in records]
    assert isinstance(decoded[0], tensors.RecordInputs)
    assert decoded[0].tensors[0] == tensors.Tensor("predict", "FP64", (1, 3), [1.0, 2.0, 3.0])
    assert decoded[1] == "'x' is not a FP64 value"
    assert decoded[2] == "2 column(s); the first record has 3"
    reader.close()
    headerless = tmp_path / "plain.csv"
    headerless.write_text("1,2\n3,4\n")
    reader = open_reader(_source(headerless), TensorChoice("predict", "INT64"))
    assert [r.number for r in reader.read(10)] == [1, 2]
    reader.close()


def test_npy_rows_by_offset_skip_and_truncation(tmp_path: Path) -> None:
    array = np.arange(30, dtype=np.float32).reshape(10, 3)
    path = tmp_path / "rows.npy"
    np.save(path, array)
    reader = open_reader(_source(path), TensorChoice("predict", None))
    assert reader.skip(4) == 4
    records = reader.read(3)
    assert [r.number for r in records] == [5, 6, 7]
    decoded = reader.decode(records[0])
    assert isinstance(decoded, tensors.RecordInputs)
    tensor = decoded.tensors[0]
    assert (tensor.datatype, tensor.shape) == ("FP32", (1, 3))
    assert np.array_equal(tensor.data, array[4:5])
    assert reader.skip(10) == 3 and reader.read(5) == []
    reader.close()
    path.write_bytes(path.read_bytes()[:-5])
    reader = open_reader(_source(path), TensorChoice("predict", "FP64"))
    with pytest.raises(InputFileError, match="ends before row 10 of 10"):
        reader.read(10)
    reader.close()


def test_npy_that_cannot_be_read_by_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.npy"
    np.save(path, np.asfortranarray(np.ones((3, 2))))
    with pytest.raises(InputFileError, match="Fortran-ordered"):
        open_reader(_source(path), FP64)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InputFileError, match=r"not a \.npy array"):
        open_reader(_source(tmp_path / "junk.npy"), FP64)


def _events(files: list[sources.InputFile], done: dict[int, tuple[str, int]] | None = None,
            shard_size: int = 4, batch_size: int = 3) -> list[shards.Event]:
    return list(shards.events(files, shard_size=shard_size, batch_size=batch_size,
                              done=done or {}, choice=FP64))


def test_shards_never_span_files_and_batches_stay_in_their_shard(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("".join(f"{i},0\n" for i in range(6)))
    (tmp_path / "b.csv").write_text("".join(f"{i},1\n" for i in range(3)))
    files = sources.resolve(str(tmp_path), None)
    summary = []
    for event in _events(files):
        if isinstance(event, shards.Batch):
            summary.append(("batch", event.index, [r.number for r in event.records]))
        elif isinstance(event, shards.ShardEnd):
            summary.append(("end", event.index, Path(event.source.path).name, event.records))
    assert summary == [("batch", 0, [1, 2, 3]), ("batch", 0, [4]), ("end", 0, "a.csv", 4),
                       ("batch", 1, [5, 6]), ("end", 1, "a.csv", 2),
                       ("batch", 2, [1, 2, 3]), ("end", 2, "b.csv", 3)]


def test_done_shards_are_skipped_and_a_changed_input_is_caught(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("".join(f"{i},0\n" for i in range(6)))
    files = sources.resolve(str(tmp_path), None)
    shown = files[0].display
    events = _events(files, done={0: (shown, 4)})
    assert isinstance(events[0], shards.ShardSkipped) and events[0].records == 4
    assert [r.number for e in events if isinstance(e, shards.Batch) for r in e.records] == [5, 6]
    with pytest.raises(InputFileError, match="the input changed since this run started"):
        _events(files, done={1: (shown, 4)})


def _record(rows: int, value: float, *, name: str = "predict") -> tensors.RecordInputs:
    return tensors.RecordInputs((tensors.Tensor(name, "FP64", (rows, 2), [value] * 2 * rows),))


def test_records_stack_along_the_first_dimension_and_outputs_are_cut_back() -> None:
    records = [_record(1, 1.0), _record(2, 2.0), _record(1, 3.0)]
    assert len({r.key for r in records}) == 1
    ((name, datatype, array),) = tensors.merge(records)
    assert (name, datatype, array.shape) == ("predict", "FP64", (4, 2))
    assert array[:, 0].tolist() == [1.0, 2.0, 2.0, 3.0]
    answer = [("label", "INT64", np.array([[10], [20], [21], [30]]))]
    lines = outputs.result_lines("m", [5, 6, 9], [r.rows or 0 for r in records], answer,
                                 ["", "b", ""])
    assert lines is not None
    bodies = [json.loads(line) for line in lines]
    assert [(b["parameters"]["record"], b["outputs"][0]["shape"], b["outputs"][0]["data"])
            for b in bodies] == [(5, [1, 1], [10]), (6, [2, 1], [20, 21]), (9, [1, 1], [30])]
    assert [b.get("id") for b in bodies] == [None, "b", None]
    assert all(wire.parse_response(b) for b in bodies)
    assert outputs.result_lines("m", [1, 2], [1, 2],
                                [("sum", "FP64", np.array([1.0]))]) is None
    two = outputs.result_lines("m", [3, 4], [1, 1], [
        ("label", "INT64", np.array([[1], [2]])),
        ("scores", "FP32", np.array([[0.5, 0.25], [np.nan, 1.0]], dtype=np.float32))])
    assert two is not None
    first = json.loads(two[0])["outputs"]
    assert [(o["name"], o["shape"], o["data"]) for o in first] == [
        ("label", [1, 1], [1]), ("scores", [1, 2], [0.5, 0.25])]
    assert json.loads(two[1])["outputs"][1]["data"][1] == 1.0
    assert '"data":[NaN,1.0]' in two[1]   # what json writes for a NaN, as for the rest


def test_uniform_batches_stack_as_read(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [[1, 2, 3, 4], [5, 6, 7, 8]])
    reader = open_reader(_source(path), None)
    records = reader.read(2)
    uniform = reader.decode_uniform(records)
    assert uniform is not None and uniform.count == 2
    ((name, datatype, array),) = uniform.tensors
    assert (name, datatype, array.tolist()) == ("predict", "FP64", [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert uniform.template().key == ((("predict", "FP64", (4,)),), (), "")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(request_line([1, 2, 3, 4]) + request_line([1, 2]))
    reader = open_reader(_source(mixed), None)
    assert reader.decode_uniform(reader.read(2)) is None
    reader.close()


def test_plain_json_lines_decode_like_the_strict_parser(tmp_path: Path) -> None:
    """The fast path and the strict parser agree on what they both accept, and anything the
    fast path leaves alone still gets the strict parser's verdict."""
    cases = [
        {"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 2], "data": [1, 2.5]}]},
        {"inputs": [{"name": "a", "datatype": "INT64", "shape": [2], "data": [1.0, 2]}]},
        {"inputs": [{"name": "a", "datatype": "INT64", "shape": [2], "data": [1.5, 2]}]},
        {"inputs": [{"name": "a", "datatype": "FP64", "shape": [1, 2], "data": [[1, 2]]}]},
        {"inputs": [{"name": "a", "datatype": "FP64", "shape": [2], "data": [True, 1]}]},
        {"inputs": [{"name": "a", "datatype": "BYTES", "shape": [1], "data": ["x"]}]},
        {"id": "r1", "inputs": [{"name": "a", "datatype": "BOOL", "shape": [1],
                                 "data": [False]}]},
        {"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]},
                    {"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}]},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    reader = open_reader(_source(path), None)
    decoded = [reader.decode(r) for r in reader.read(len(cases))]
    reader.close()
    for case, got in zip(cases, decoded, strict=True):
        try:
            expected = tensors.from_request(wire.parse_request(case, "record"))
        except wire.WireError as exc:
            assert got == f"not a V2 inference request: {exc}"
            continue
        assert isinstance(got, tensors.RecordInputs), got
        assert [(t.name, t.datatype, t.shape, list(t.data)) for t in got.tensors] == \
            [(t.name, t.datatype, t.shape, list(t.data)) for t in expected.tensors]
        assert (got.request_id, got.key) == (expected.request_id, expected.key)
    assert [isinstance(d, str) for d in decoded] == [False, False, True, False, True, False,
                                                     False, True]


def test_records_that_differ_do_not_stack() -> None:
    assert _record(1, 1.0).key != _record(1, 1.0, name="other").key
    unequal = tensors.RecordInputs((tensors.Tensor("a", "FP64", (1, 2), [1, 2]),
                                    tensors.Tensor("b", "FP64", (2, 2), [1, 2, 3, 4])))
    assert unequal.key is None


def test_records_are_checked_against_the_declared_inputs() -> None:
    metadata = wire.parse_metadata({"name": "m", "inputs": [
        {"name": "predict", "datatype": "FP64", "shape": [-1, 2]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1, 1]}]})
    contract = tensors.Contract(metadata)
    assert contract.outputs == ("label",)
    assert contract.problem(_record(3, 0.0)) is None
    wide = tensors.RecordInputs((tensors.Tensor("predict", "FP64", (1, 3), [0.0] * 3),))
    assert contract.problem(wide) == ("input 'predict' has shape [1, 3], the model declares "
                                      "[-1, 2]")
    assert "not one the model declares" in str(contract.problem(_record(1, 0.0, name="x")))
    assert tensors.Contract(None).problem(wide) is None
