"""The smoke client reads gRPC outputs sent in typed `contents` fields (as KServe sends them),
not only raw bytes (as MLServer and Triton do), and an output it cannot decode is a failed
inference with a message, never an internal error. Real protobuf messages, no server; the
servers themselves are in test_smoke_kserve.py, test_smoke_triton.py and test_serving.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from modelops_plugins.smoke import client
from tritonclient.grpc import InferResult, service_pb2


def response(*outputs: dict[str, Any], raw: list[bytes] | None = None) -> InferResult:
    message = service_pb2.ModelInferResponse(model_name="m", id="req-1")
    for spec in outputs:
        tensor = message.outputs.add(name=spec["name"], datatype=spec["datatype"],
                                     shape=spec["shape"])
        for field, values in spec.get("contents", {}).items():
            getattr(tensor.contents, field).extend(values)
    message.raw_output_contents.extend(raw or [])
    return InferResult(message)


def test_typed_contents_of_each_kind_are_read() -> None:
    result = response(
        {"name": "label", "datatype": "INT64", "shape": [3], "contents": {"int64_contents":
                                                                          [2, 0, 1]}},
        {"name": "score", "datatype": "FP32", "shape": [1, 2],
         "contents": {"fp32_contents": [0.5, 0.25]}},
        {"name": "flag", "datatype": "BOOL", "shape": [2], "contents": {"bool_contents":
                                                                        [True, False]}},
        {"name": "text", "datatype": "BYTES", "shape": [1], "contents": {"bytes_contents":
                                                                         [b"cat"]}},
    )
    decoded = client.grpc_response(result)
    assert decoded["id"] == "req-1"
    assert [(t["name"], t["datatype"], t["shape"], t["data"]) for t in decoded["outputs"]] == [
        ("label", "INT64", [3], [2, 0, 1]), ("score", "FP32", [1, 2], [0.5, 0.25]),
        ("flag", "BOOL", [2], [True, False]), ("text", "BYTES", [1], ["cat"])]


def test_raw_bytes_are_still_read_through_tritonclient() -> None:
    raw = np.array([[1.5], [2.5]], dtype=np.float64).tobytes()
    result = response({"name": "y", "datatype": "FP64", "shape": [2, 1]}, raw=[raw])
    decoded = client.grpc_response(result)
    assert decoded["outputs"][0]["data"] == [1.5, 2.5]


def test_an_output_that_does_not_fit_its_shape_is_a_client_error() -> None:
    result = response({"name": "label", "datatype": "INT64", "shape": [2],
                       "contents": {"int64_contents": [1]}})
    with pytest.raises(client.ClientError, match=r"output 'label' INT64 cannot be decoded: "
                                                 r"cannot reshape array of size 1"):
        client.grpc_response(result)
