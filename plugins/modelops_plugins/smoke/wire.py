"""V2 (Open Inference Protocol) bodies as typed dicts, parsed strictly from JSON.

Smoke payloads come from files people write and from the spec; shadow comparison reads
responses recorded elsewhere. Both are JSON from outside, so they are checked here once, with
the JSON path of the first problem in the message, and every later step can rely on the shape
(`data` flat, its length equal to the product of `shape`, `datatype` a V2 type).
"""

from __future__ import annotations

import math
from typing import Any, NotRequired, TypedDict

import numpy as np
import numpy.typing as npt

# V2 datatypes and the numpy dtype each travels as (BYTES as Python objects).
NUMPY_TYPES: dict[str, str] = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
    "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "FP16": "float16", "FP32": "float32", "FP64": "float64", "BYTES": "object",
}
FLOAT_TYPES = frozenset({"FP16", "FP32", "FP64"})


class Tensor(TypedDict):
    """An input or output tensor; `data` is always flat (row-major)."""

    name: str
    datatype: str
    shape: list[int]
    data: list[Any]
    parameters: NotRequired[dict[str, Any]]


class RequestedOutput(TypedDict):
    name: str
    parameters: NotRequired[dict[str, Any]]


class InferenceRequest(TypedDict):
    inputs: list[Tensor]
    outputs: NotRequired[list[RequestedOutput]]
    id: NotRequired[str]
    parameters: NotRequired[dict[str, Any]]


class InferenceResponse(TypedDict):
    model_name: str
    outputs: list[Tensor]
    model_version: NotRequired[str]
    id: NotRequired[str]
    parameters: NotRequired[dict[str, Any]]


class TensorMetadata(TypedDict):
    """A declared tensor: `shape` may hold -1 for a variable dimension."""

    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(TypedDict):
    name: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    platform: NotRequired[str]
    versions: NotRequired[list[str]]


class WireError(ValueError):
    """A body that is not a valid V2 message; the text names the JSON path."""


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"{where}: expected an object, got {_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise WireError(f"{where}: expected a non-empty string, got {_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise WireError(f"{where}: expected a list, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}" if len(value) < 40 else "a string"
    return {"dict": "an object", "list": "a list"}.get(type(value).__name__, type(value).__name__)


def _unknown(body: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise WireError(f"{where}: unknown field {extra[0]!r}; V2 allows "
                        f"{', '.join(sorted(allowed))}")


def _shape(value: Any, where: str, *, wildcard: bool) -> list[int]:
    lowest = -1 if wildcard else 0
    dims = []
    for i, raw in enumerate(_list(value, where)):
        dim = raw
        if isinstance(raw, str) and wildcard:  # gRPC metadata as JSON carries int64 as text
            try:
                dim = int(raw)
            except ValueError:
                raise WireError(f"{where}[{i}]: expected an integer, got {_kind(raw)}") from None
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < lowest:
            raise WireError(f"{where}[{i}]: expected an integer >= {lowest}, got {_kind(dim)}")
        dims.append(dim)
    return dims


def _datatype(value: Any, where: str) -> str:
    name = _string(value, where)
    if name not in NUMPY_TYPES:
        raise WireError(f"{where}: {name!r} is not a V2 datatype ({', '.join(NUMPY_TYPES)})")
    return name


def flatten(data: Any) -> list[Any]:
    """Nested lists (the JSON form tensors often take) to one flat row-major list."""
    if not isinstance(data, list):
        return [data]
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _element_ok(datatype: str, item: Any) -> bool:
    if datatype == "BYTES":
        return isinstance(item, str | bytes)
    if datatype == "BOOL":
        return isinstance(item, bool)
    if isinstance(item, bool) or not isinstance(item, int | float):
        return False
    if datatype in FLOAT_TYPES:
        return True
    return float(item).is_integer()


def parse_tensor(value: Any, where: str) -> Tensor:
    body = _object(value, where)
    _unknown(body, {"name", "datatype", "shape", "data", "parameters"}, where)
    for key in ("name", "datatype", "shape", "data"):
        if key not in body:
            raise WireError(f"{where}: missing {key!r}")
    datatype = _datatype(body["datatype"], f"{where}.datatype")
    shape = _shape(body["shape"], f"{where}.shape", wildcard=False)
    data = flatten(body["data"])
    if len(data) != math.prod(shape):
        raise WireError(f"{where}.data: {len(data)} value(s) for shape {shape} "
                        f"({math.prod(shape)} expected)")
    for i, item in enumerate(data):
        if not _element_ok(datatype, item):
            raise WireError(f"{where}.data[{i}]: {_kind(item)} is not a {datatype} value")
    tensor = Tensor(name=_string(body["name"], f"{where}.name"), datatype=datatype,
                    shape=shape, data=data)
    if "parameters" in body:
        tensor["parameters"] = _object(body["parameters"], f"{where}.parameters")
    return tensor


def parse_request(value: Any, where: str = "request") -> InferenceRequest:
    body = _object(value, where)
    _unknown(body, {"id", "parameters", "inputs", "outputs"}, where)
    if "inputs" not in body:
        raise WireError(f"{where}: missing 'inputs'")
    inputs = [parse_tensor(t, f"{where}.inputs[{i}]")
              for i, t in enumerate(_list(body["inputs"], f"{where}.inputs"))]
    if not inputs:
        raise WireError(f"{where}.inputs: at least one input is needed")
    _no_duplicates([t["name"] for t in inputs], f"{where}.inputs")
    request = InferenceRequest(inputs=inputs)
    if "outputs" in body:
        outputs: list[RequestedOutput] = []
        for i, item in enumerate(_list(body["outputs"], f"{where}.outputs")):
            entry = _object(item, f"{where}.outputs[{i}]")
            _unknown(entry, {"name", "parameters"}, f"{where}.outputs[{i}]")
            output = RequestedOutput(name=_string(entry.get("name"),
                                                  f"{where}.outputs[{i}].name"))
            if "parameters" in entry:
                output["parameters"] = _object(entry["parameters"],
                                               f"{where}.outputs[{i}].parameters")
            outputs.append(output)
        _no_duplicates([o["name"] for o in outputs], f"{where}.outputs")
        request["outputs"] = outputs
    if "id" in body:
        request["id"] = _string(body["id"], f"{where}.id")
    if "parameters" in body:
        request["parameters"] = _object(body["parameters"], f"{where}.parameters")
    return request


def parse_response(value: Any, where: str = "response") -> InferenceResponse:
    body = _object(value, where)
    _unknown(body, {"model_name", "model_version", "id", "parameters", "outputs"}, where)
    if "outputs" not in body:
        raise WireError(f"{where}: missing 'outputs'")
    outputs = [parse_tensor(t, f"{where}.outputs[{i}]")
               for i, t in enumerate(_list(body["outputs"], f"{where}.outputs"))]
    response = InferenceResponse(model_name=_string(body.get("model_name"),
                                                    f"{where}.model_name"),
                                 outputs=outputs)
    if body.get("model_version") is not None:
        response["model_version"] = str(body["model_version"])
    if body.get("id") is not None:
        response["id"] = str(body["id"])
    if "parameters" in body:
        response["parameters"] = _object(body["parameters"], f"{where}.parameters")
    return response


def parse_metadata(value: Any, where: str = "metadata") -> ModelMetadata:
    body = _object(value, where)

    def tensors(key: str) -> list[TensorMetadata]:
        found: list[TensorMetadata] = []
        for i, item in enumerate(_list(body.get(key, []), f"{where}.{key}")):
            entry = _object(item, f"{where}.{key}[{i}]")
            found.append(TensorMetadata(
                name=_string(entry.get("name"), f"{where}.{key}[{i}].name"),
                datatype=_datatype(entry.get("datatype"), f"{where}.{key}[{i}].datatype"),
                shape=_shape(entry.get("shape", []), f"{where}.{key}[{i}].shape",
                             wildcard=True)))
        return found

    metadata = ModelMetadata(name=_string(body.get("name"), f"{where}.name"),
                             inputs=tensors("inputs"), outputs=tensors("outputs"))
    if isinstance(body.get("platform"), str):
        metadata["platform"] = body["platform"]
    if isinstance(body.get("versions"), list):
        metadata["versions"] = [str(v) for v in body["versions"]]
    return metadata


def _no_duplicates(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise WireError(f"{where}: {name!r} appears twice")
        seen.add(name)


def check_sendable(request: InferenceRequest, where: str = "request") -> InferenceRequest:
    """Refuse what tritonclient cannot send: per-tensor `parameters` (it has no API for them),
    rather than dropping them silently."""
    for i, tensor in enumerate(request["inputs"]):
        if "parameters" in tensor:
            raise WireError(f"{where}.inputs[{i}].parameters: per-input parameters cannot be "
                            "sent through tritonclient; remove them")
    for i, output in enumerate(request.get("outputs", [])):
        if "parameters" in output:
            raise WireError(f"{where}.outputs[{i}].parameters: per-output parameters cannot be "
                            "sent through tritonclient; remove them")
    return request


def with_outputs(request: InferenceRequest, names: list[str]) -> InferenceRequest:
    """A copy of `request` that asks for these outputs by name."""
    copy = InferenceRequest(inputs=request["inputs"],
                            outputs=[RequestedOutput(name=n) for n in names])
    if "id" in request:
        copy["id"] = request["id"]
    if "parameters" in request:
        copy["parameters"] = request["parameters"]
    return copy


def to_numpy(tensor: Tensor) -> npt.NDArray[Any]:
    """A tensor's data as a numpy array of its shape (BYTES as UTF-8 bytes objects)."""
    dtype = NUMPY_TYPES[tensor["datatype"]]
    if tensor["datatype"] == "BYTES":
        items = [v.encode() if isinstance(v, str) else v for v in tensor["data"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(tensor["shape"])
    return np.asarray(tensor["data"], dtype=dtype).reshape(tensor["shape"])


def from_numpy(name: str, datatype: str, array: npt.NDArray[Any]) -> Tensor:
    """An output tensor read back from a client library, as a flat JSON-able tensor."""
    flat = array.reshape(-1)
    if datatype == "BYTES":
        data: list[Any] = [v.decode(errors="replace") if isinstance(v, bytes) else str(v)
                           for v in flat]
    else:
        data = flat.tolist()
    return Tensor(name=name, datatype=datatype, shape=[int(d) for d in array.shape], data=data)


def shape_matches(shape: list[int], declared: list[int]) -> bool:
    """Whether a concrete shape fits a declared one (-1 matches any size)."""
    return len(shape) == len(declared) and all(d in (-1, s) for s, d in zip(shape, declared,
                                                                             strict=True))


# The typed field of a gRPC tensor's `contents` that carries each V2 datatype (FP16 has none).
_CONTENTS_FIELDS = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents",
    "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
    "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
    "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}


def _from_contents(output: Any) -> Any:
    """A gRPC output tensor sent in its typed `contents` field rather than as raw bytes."""
    field = _CONTENTS_FIELDS.get(output.datatype)
    values = list(getattr(output.contents, field)) if field else []
    dtype = NUMPY_TYPES.get(output.datatype, "object")
    return np.asarray(values, dtype=dtype).reshape([int(d) for d in output.shape])


def grpc_output(result: Any, name: str) -> Any:
    """One output of a tritonclient.grpc InferResult, or None when it has none of that name:
    from the raw bytes where the server sent them (Triton, MLServer), from the typed
    `contents` otherwise (KServe's Python server)."""
    message = result.get_response()
    for position, output in enumerate(message.outputs):
        if output.name == name:
            if position < len(message.raw_output_contents):
                return result.as_numpy(name)
            return _from_contents(output)
    return None
