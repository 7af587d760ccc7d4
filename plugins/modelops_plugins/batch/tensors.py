"""Records as V2 input tensors: checked against the model, merged into one request, split back.

A batch request stacks its records along the first dimension, the way MLServer's own adaptive
batching does, so a model scores N records in one call. Records can only be stacked when they
agree on everything but that dimension (input names, datatypes, trailing dimensions, requested
outputs, request parameters); a batch is therefore sent as one request per such group, and a
record that cannot be stacked at all (a scalar input, inputs of unequal length) goes alone.
The response is cut back into one answer per record by the same row counts; a model whose
outputs do not have one row per input row cannot be cut, and its records are sent one by one.
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


@dataclass(frozen=True, slots=True)
class RecordInputs:
    """What one record sends; `rows` is the shared first dimension, None when unstackable."""

    tensors: tuple[Tensor, ...]
    outputs: tuple[str, ...] = ()
    request_id: str = ""
    parameters: str = ""   # the request's parameters as canonical JSON ("" for none)

    @property
    def rows(self) -> int | None:
        firsts = {t.shape[0] if t.shape else None for t in self.tensors}
        if len(firsts) != 1:
            return None
        return firsts.pop()

    def signature(self) -> tuple[Any, ...] | None:
        """Records with equal signatures stack into one request; None: never stacked."""
        if self.rows is None:
            return None
        return (tuple((t.name, t.datatype, t.shape[1:]) for t in self.tensors), self.outputs,
                self.parameters)


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

    def problem(self, record: RecordInputs) -> str | None:
        if not self.declared:
            return None
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


def split(outputs: Sequence[tuple[str, str, Array]],
          rows: Sequence[int]) -> list[list[Tensor]] | None:
    """Each record's share of the outputs, by its row count; None when an output does not
    have exactly one row per input row."""
    total = sum(rows)
    for _, _, array in outputs:
        if array.ndim == 0 or array.shape[0] != total:
            return None
    shares: list[list[Tensor]] = [[] for _ in rows]
    start = 0
    for index, count in enumerate(rows):
        for name, datatype, array in outputs:
            part = array[start:start + count]
            shares[index].append(Tensor(name, datatype, tuple(int(d) for d in part.shape),
                                        part))
        start += count
    return shares


def whole(outputs: Sequence[tuple[str, str, Array]]) -> list[Tensor]:
    return [Tensor(name, datatype, tuple(int(d) for d in array.shape), array)
            for name, datatype, array in outputs]
