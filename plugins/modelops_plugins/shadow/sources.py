"""Where the two sets of outputs come from: live endpoints, or V2 responses recorded earlier.

Live: the same requests go to the current and the previous model (two endpoints, or two model
names behind one), one request at a time in the same order, and every response is kept so the
run can be recorded and compared again offline. Recorded: files of V2 response bodies, as one
JSON object, a JSON array, or JSON lines (what Seldon's Kafka output topics hold, one message
per line once exported).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from modelops.errors import UsageError

from modelops_plugins import tabular
from modelops_plugins.smoke import wire
from modelops_plugins.smoke.client import ClientError, V2Client
from modelops_plugins.textfiles import read_text

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


class SourceError(Exception):
    """A live call failed; the comparison cannot be made."""


def read_documents(path: Path, what: str) -> list[Any]:
    """JSON values from a file: one value, a top-level array of them, or JSON lines."""
    text = read_text(path, what)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        documents = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{number}:{exc.colno}: not JSON (nor JSON lines): "
                                 f"{exc.msg}") from None
        return documents
    return value if isinstance(value, list) else [value]


def read_responses(path: Path) -> list[wire.InferenceResponse]:
    documents = read_documents(path, "response file")
    if not documents:
        raise UsageError(f"{path}: no responses")
    try:
        return [wire.parse_response(doc, f"response {i + 1}") for i, doc in enumerate(documents)]
    except wire.WireError as exc:
        raise UsageError(f"{path}: not V2 inference responses: {exc}") from None


def output_values(responses: list[wire.InferenceResponse], output: str | None,
                  source: str) -> tuple[str, str, list[Any]]:
    """(output name, datatype, every value) of one output across all responses."""
    names = [o["name"] for o in responses[0]["outputs"]]
    name = output or (names[0] if names else None)
    if name is None:
        raise UsageError(f"{source}: the responses have no outputs")
    values: list[Any] = []
    datatype = ""
    for i, response in enumerate(responses):
        tensor = next((o for o in response["outputs"] if o["name"] == name), None)
        if tensor is None:
            raise UsageError(f"{source}: response {i + 1} has no output {name!r} (outputs: "
                             f"{', '.join(o['name'] for o in response['outputs'])})")
        if datatype and tensor["datatype"] != datatype:
            raise UsageError(f"{source}: output {name!r} is {datatype} in response 1 and "
                             f"{tensor['datatype']} in response {i + 1}")
        datatype = tensor["datatype"]
        values.extend(tensor["data"])
    return name, datatype, values


def write_responses(path: Path, responses: list[wire.InferenceResponse]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in responses),
                    encoding="utf-8")


@dataclass(frozen=True)
class Target:
    client: V2Client
    model: str
    label: str  # "current" or "previous", for messages


def load_requests(path: Path, target: Target, *, input_name: str | None,
                  datatype: str | None, batch_size: int) -> list[wire.InferenceRequest]:
    """V2 requests from a .json/.jsonl file of requests, or batches of .npy/.csv rows."""
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        documents = read_documents(path, "request file")
        if not documents:
            raise UsageError(f"{path}: no requests")
        try:
            return [wire.check_sendable(wire.parse_request(doc, f"request {i + 1}"),
                                        f"request {i + 1}")
                    for i, doc in enumerate(documents)]
        except wire.WireError as exc:
            raise UsageError(f"{path}: not V2 inference requests: {exc}") from None
    if suffix not in tabular.SUFFIXES:
        raise UsageError(f"{path}: expected V2 requests (.json, .jsonl) or rows (.npy, .csv)")
    rows = tabular.load_rows(path)
    if input_name is None or datatype is None:
        try:
            declared = target.client.metadata(target.model)["inputs"]
        except ClientError as exc:
            raise SourceError(f"{target.label} model {target.model!r}: metadata: {exc}; "
                               "give --input-name and --datatype") from None
        if not declared:
            raise UsageError(f"{target.label} model {target.model!r} declares no inputs; give "
                             "--input-name and --datatype")
        input_name = input_name or declared[0]["name"]
        datatype = datatype or declared[0]["datatype"]
    if datatype not in wire.FLOAT_TYPES:
        raise UsageError(f"--datatype {datatype}: rows from {path.name} are numbers; use "
                         f"{', '.join(sorted(wire.FLOAT_TYPES))}")
    return list(_batches(rows, input_name, datatype, batch_size))


def _batches(rows: np.ndarray[Any, Any], name: str, datatype: str,
             size: int) -> Iterator[wire.InferenceRequest]:
    for start in range(0, len(rows), size):
        batch = rows[start:start + size]
        yield wire.InferenceRequest(inputs=[wire.Tensor(
            name=name, datatype=datatype, shape=[int(d) for d in batch.shape],
            data=batch.reshape(-1).tolist())])


def collect(target: Target, requests: list[wire.InferenceRequest]) -> list[wire.InferenceResponse]:
    responses = []
    for i, request in enumerate(requests):
        try:
            responses.append(target.client.infer(target.model, request))
        except ClientError as exc:
            raise SourceError(f"{target.label} model {target.model!r} at {target.client.url}, "
                               f"request {i + 1} of {len(requests)}: {exc}") from None
    return responses
