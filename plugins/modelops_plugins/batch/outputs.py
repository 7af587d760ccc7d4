"""The run folder: output shards, the state a rerun resumes from, and the manifest.

    <output>/<run-id>/_run.json          what defines the run (checked on every rerun)
    <output>/<run-id>/part-00000.jsonl   one output line per input record, in input order
    <output>/<run-id>/_state/part-00000.json   that shard's counts and failures
    <output>/<run-id>/_manifest.json     written last: status, counts, failures, timings

A shard is written under a temporary name and renamed once complete, so it is either whole or
absent; its state is written just before the rename, so a shard that exists always has one.
A rerun finds the shards that exist and writes only the others. A folder whose manifest says
`complete` is never written to again: outputs go to a new run folder, never over an earlier
run's. Output lines are V2 response bodies (what `modelops shadow compare --recorded` reads)
with the record's number under `parameters.record`; a record that failed has `error` instead
of `outputs`. Names starting with `_` or `.` are what Spark and Hadoop readers skip.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from modelops.errors import UsageError

from modelops_plugins.batch.sources import filesystem
from modelops_plugins.batch.tensors import Array

RUN_FILE = "_run.json"
MANIFEST = "_manifest.json"
STATE_DIR = "_state"
COMPLETE = "complete"
_compact = json.JSONEncoder(separators=(",", ":")).encode


def part_name(index: int) -> str:
    return f"part-{index:05d}.jsonl"


@dataclass
class Failure:
    file: str
    record: int
    error: str


@dataclass
class ShardState:
    index: int
    file: str
    first_record: int
    last_record: int
    records: int
    failed: int
    failures: list[Failure] = field(default_factory=list)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ShardState:
        failures = [Failure(**f) for f in body.pop("failures", [])]
        return cls(**body, failures=failures)


def result_lines(model: str, numbers: Sequence[int], rows: Sequence[int],
                 outputs: Sequence[tuple[str, str, Array]],
                 request_ids: Sequence[str] | None = None) -> list[str] | None:
    """One V2 response body per record, cutting each output by the records' row counts; None
    when an output does not have one row per input row. Written by hand: this runs once per
    record, and the parts every record shares are encoded once per request."""
    total = sum(rows)
    columns = []
    for name, datatype, array in outputs:
        if array.ndim == 0 or array.shape[0] != total:
            return None
        trailing = "".join(f",{int(d)}" for d in array.shape[1:])
        columns.append((f'{{"name":{_compact(name)},"datatype":"{datatype}","shape":[',
                        f'{trailing}],"data":[', math.prod(array.shape[1:]),
                        _encoded(datatype, array)))
    head = f'{{"model_name":{_compact(model)},'
    if not request_ids and all(count == 1 for count in rows):
        return _one_row_lines(head, numbers, columns)
    lines = []
    start = 0
    for index, (number, count) in enumerate(zip(numbers, rows, strict=True)):
        request_id = request_ids[index] if request_ids else ""
        shown_id = f'"id":{_compact(request_id)},' if request_id else ""
        tensors = ",".join(
            f"{prefix}{count}{middle}{','.join(values[start * width:(start + count) * width])}]}}"
            for prefix, middle, width, values in columns)
        lines.append(f'{head}{shown_id}"parameters":{{"record":{number}}},'
                     f'"outputs":[{tensors}]}}\n')
        start += count
    return lines


def _one_row_lines(head: str, numbers: Sequence[int],
                   columns: list[tuple[str, str, int, list[str]]]) -> list[str]:
    """The common case, a row per record and no ids: each line is one format of its parts."""
    cells = []
    for prefix, middle, width, values in columns:
        data = values if width == 1 else [",".join(values[i * width:(i + 1) * width])
                                          for i in range(len(numbers))]
        cells.append((f"{prefix}1{middle}", data))
    if len(cells) == 1:
        (opening, data), = cells
        return [f'{head}"parameters":{{"record":{number}}},"outputs":[{opening}{value}]}}]}}\n'
                for number, value in zip(numbers, data, strict=True)]
    return [f'{head}"parameters":{{"record":{number}}},"outputs":['
            + ",".join(f"{opening}{data[i]}]}}" for opening, data in cells) + "]}\n"
            for i, number in enumerate(numbers)]


def _encoded(datatype: str, array: Array) -> list[str]:
    """Each value of an output as JSON text, converted once for the whole request."""
    if datatype.startswith(("INT", "UINT")):
        return list(map(str, array.reshape(-1).tolist()))
    if datatype.startswith("FP") and bool(np.isfinite(array).all()):
        return list(map(repr, array.reshape(-1).tolist()))   # what json writes for a float
    return [_compact(v) for v in _values(datatype, array)]


def whole_line(model: str, number: int, request_id: str,
               outputs: Sequence[tuple[str, str, Array]]) -> str:
    """A record sent alone whose outputs are not one row per input row: kept whole."""
    body: dict[str, Any] = {"model_name": model}
    if request_id:
        body["id"] = request_id
    body["parameters"] = {"record": number}
    body["outputs"] = [{"name": name, "datatype": datatype,
                        "shape": [int(d) for d in array.shape],
                        "data": _values(datatype, array)} for name, datatype, array in outputs]
    return _compact(body) + "\n"


def _values(datatype: str, array: Array) -> list[Any]:
    flat = array.reshape(-1)
    if datatype == "BYTES":
        return [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in flat]
    values: list[Any] = flat.tolist()
    return values


def failure_line(record: int, error: str) -> str:
    return _compact({"parameters": {"record": record}, "error": error}) + "\n"


class ShardWriter:
    """One shard's lines, under a temporary name until `commit`."""

    def __init__(self, folder: RunFolder, index: int) -> None:
        self.folder = folder
        self.index = index
        self.final = folder.join(part_name(index))
        self.temporary = folder.join(f".{part_name(index)}.tmp")
        self.handle = folder.fs.open(self.temporary, "wb")

    def write(self, lines: Iterable[str]) -> None:
        self.handle.write("".join(lines).encode())

    def commit(self, state: ShardState) -> None:
        self.handle.flush()
        fileno = getattr(self.handle, "fileno", None)
        if fileno is not None:
            with contextlib.suppress(OSError, ValueError):
                os.fsync(fileno())
        self.handle.close()
        self.folder.write_json(posixpath.join(STATE_DIR, f"{part_name(self.index)}.json"),
                               asdict(state))
        self.folder.fs.mv(self.temporary, self.final)

    def discard(self) -> None:
        self.handle.close()
        if self.folder.fs.exists(self.temporary):
            self.folder.fs.rm(self.temporary)


class RunFolder:
    def __init__(self, fs: Any, path: str, display: str) -> None:
        self.fs = fs
        self.path = path
        self.display = display
        self.done: dict[int, ShardState] = {}

    def join(self, name: str) -> str:
        return posixpath.join(self.path, name)

    @classmethod
    def open(cls, output: str, run_id: str, identity: dict[str, Any]) -> RunFolder:
        """The run folder, created or resumed; UsageError when it is complete or was started
        with other arguments."""
        fs, root = filesystem(output, "--output")
        folder = cls(fs, posixpath.join(root, run_id), output.rstrip("/") + "/" + run_id)
        try:
            manifest = folder.read_json(MANIFEST)
            if isinstance(manifest, dict) and manifest.get("status") == COMPLETE:
                raise UsageError(f"{folder.display} holds a complete run (its {MANIFEST} says "
                                 "so); outputs are never written over: choose another "
                                 "--run-id or --output")
            recorded = folder.read_json(RUN_FILE)
            folder._load_done()
            changed = [k for k in sorted(set(recorded or {}) | set(identity))
                       if (recorded or {}).get(k) != identity.get(k)]
            if recorded is not None and changed and (folder.done or manifest is not None):
                key = changed[0]
                raise UsageError(f"{folder.display} was started with {key} "
                                 f"{recorded.get(key)!r}, not {identity.get(key)!r}; rerun "
                                 "with the same arguments to resume it, or choose another "
                                 "--run-id")
            if recorded is None or changed:   # new, or started but nothing written yet
                fs.makedirs(folder.path, exist_ok=True)
                folder.write_json(RUN_FILE, identity)
        except OSError as exc:
            raise UsageError(f"--output {folder.display}: {exc.strerror or exc}") from None
        return folder

    def _load_done(self) -> None:
        if not self.fs.isdir(self.path):
            return
        for path in self.fs.ls(self.path, detail=False):
            name = posixpath.basename(path)
            if name.startswith(".part-") and name.endswith(".tmp"):
                self.fs.rm(path)   # a shard an earlier attempt did not finish
                continue
            if not (name.startswith("part-") and name.endswith(".jsonl")):
                continue
            state = self.read_json(posixpath.join(STATE_DIR, f"{name}.json"))
            if state is not None:
                try:
                    shard = ShardState.from_json(state)
                except (TypeError, AttributeError):
                    raise UsageError(f"{self.display}/{STATE_DIR}/{name}.json is not a shard "
                                     "state `modelops batch run` wrote") from None
                self.done[shard.index] = shard

    def read_json(self, name: str) -> Any:
        path = self.join(name)
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "rb") as handle:
            try:
                return json.loads(handle.read())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise UsageError(f"{self.display}/{name}: not JSON ({exc}); this folder was "
                                 "not written by `modelops batch run`, or was edited") from None

    def write_json(self, name: str, body: Any) -> None:
        path = self.join(name)
        temporary = self.join(posixpath.join(posixpath.dirname(name),
                                             f".{posixpath.basename(name)}.tmp"))
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with self.fs.open(temporary, "wb") as handle:
            handle.write((json.dumps(body, indent=2, sort_keys=True) + "\n").encode())
        self.fs.mv(temporary, path)

    def begin(self, index: int) -> ShardWriter:
        return ShardWriter(self, index)
