"""Records as V2 input tensors: checked against the model and stacked into one request.

A batch request stacks its records along the first dimension, the way MLServer's own adaptive
batching does, so a model scores N records in one call. Records can only be stacked when they
agree on everything but that dimension (input names, datatypes, trailing dimensions, requested
outputs, request parameters); a batch is therefore sent as one request per such group, and a
record that cannot be stacked at all (a scalar input, inputs of unequal length) goes alone.
The response is cut back into one answer per record by the same row counts (`outputs`); a
model whose outputs do not have one row per input row cannot be cut, and its records are then
sent one by one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from modelops_plugins.smoke import wire

Array = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Tensor:
    """One input or output: a flat list (from JSON or CSV) or an array (from .npy, outputs)."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: list[Any] | Array


class RecordInputs:
    """What one record sends. `rows` is the shared first dimension (None when the inputs do
    not share one) and `key` what must be equal for records to stack (None: never stacked);
    both are worked out once, when the record is decoded."""

    __slots__ = ("key", "outputs", "parameters", "request_id", "rows", "tensors")

    def __init__(self, tensors: tuple[Tensor, ...], outputs: tuple[str, ...] = (),
                 request_id: str = "", parameters: str = "") -> None:
        self.tensors = tensors
        self.outputs = outputs
        self.request_id = request_id
        self.parameters = parameters   # the request's parameters as canonical JSON, or ""
        firsts = {t.shape[0] if t.shape else None for t in tensors}
        self.rows: int | None = firsts.pop() if len(firsts) == 1 else None
        self.key: tuple[Any, ...] | None = None if self.rows is None else (
            tuple((t.name, t.datatype, t.shape[1:]) for t in tensors), outputs, parameters)


@dataclass(frozen=True)
class Uniform:
    """A batch whose records are each one row of the same inputs, stacked as it was read:
    the common case, sent without a per-record object. `tensors` are (name, datatype, array
    of shape [records, ...])."""

    tensors: list[tuple[str, str, Array]]

    @property
    def count(self) -> int:
        return int(self.tensors[0][2].shape[0])

    def template(self) -> RecordInputs:
        """What each of its records looks like, for the checks made per record."""
        return RecordInputs(tuple(Tensor(name, datatype, (1, *array.shape[1:]), [])
                                  for name, datatype, array in self.tensors))


def from_request(request: wire.InferenceRequest) -> RecordInputs:
    return RecordInputs(
        tensors=tuple(Tensor(t["name"], t["datatype"], tuple(t["shape"]), t["data"])
                      for t in request["inputs"]),
        outputs=tuple(o["name"] for o in request.get("outputs", [])),
        request_id=request.get("id", ""),
        parameters=json.dumps(request["parameters"], sort_keys=True)
        if "parameters" in request else "")


class Contract:
    """The inputs a model declares in its metadata; records are checked before being sent, so
    a wrong shape is reported against its record instead of failing a whole batch (MLServer
    answers a scikit-learn shape error with a bare HTTP 500)."""

    def __init__(self, metadata: wire.ModelMetadata | None) -> None:
        self.declared = {t["name"]: t for t in (metadata or {"inputs": []})["inputs"]}
        self.outputs = tuple(t["name"] for t in (metadata or {"outputs": []})["outputs"])
        self._verdicts: dict[tuple[Any, ...], str | None] = {}

    def problem(self, record: RecordInputs) -> str | None:
        """Why the record does not fit the declared inputs, or None (remembered per shape)."""
        if not self.declared:
            return None
        if record.key is None:
            return self._problem(record)
        key = (record.key, record.rows)
        if key not in self._verdicts:
            if len(self._verdicts) > 1024:
                self._verdicts.clear()
            self._verdicts[key] = self._problem(record)
        return self._verdicts[key]

    def _problem(self, record: RecordInputs) -> str | None:
        for tensor in record.tensors:
            spec = self.declared.get(tensor.name)
            if spec is None:
                return (f"input {tensor.name!r} is not one the model declares "
                        f"({', '.join(self.declared)})")
            if tensor.datatype != spec["datatype"]:
                return (f"input {tensor.name!r} is {tensor.datatype}, the model declares "
                        f"{spec['datatype']}")
            if spec["shape"] and not wire.shape_matches(list(tensor.shape), spec["shape"]):
                return (f"input {tensor.name!r} has shape {list(tensor.shape)}, the model "
                        f"declares {spec['shape']}")
        missing = sorted(set(self.declared) - {t.name for t in record.tensors})
        if missing:
            return f"missing input(s) the model declares: {', '.join(missing)}"
        return None


def merge(records: Sequence[RecordInputs]) -> list[tuple[str, str, Array]]:
    """The inputs of records sharing one signature, stacked along the first dimension."""
    first = records[0]
    merged = []
    for position, tensor in enumerate(first.tensors):
        parts = [r.tensors[position].data for r in records]
        rows = sum(r.tensors[position].shape[0] if r.tensors[position].shape else 1
                   for r in records)
        shape = (rows, *tensor.shape[1:]) if tensor.shape else ()
        if tensor.datatype == "BYTES":
            flat = [v.encode() if isinstance(v, str) else v for v in chain.from_iterable(parts)]
            array: Array = np.empty(len(flat), dtype=object)
            array[:] = flat
            array = array.reshape(shape)
        elif all(isinstance(p, np.ndarray) for p in parts):
            array = np.concatenate([np.asarray(p).reshape(-1) for p in parts]).reshape(shape)
        else:
            array = np.asarray(list(chain.from_iterable(parts)),
                               dtype=wire.NUMPY_TYPES[tensor.datatype]).reshape(shape)
        merged.append((tensor.name, tensor.datatype, array))
    return merged
