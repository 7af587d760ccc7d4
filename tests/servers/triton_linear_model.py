"""A Triton Python-backend model for the tests: a linear model in numpy.

Copied as `<model>/1/model.py` into the model repository tests/triton_serving.py writes, beside
the `weights.npy` it reads ([features, outputs]). Triton itself checks each request against the
model's config.pbtxt (names, datatypes, shapes) before `execute` sees it, so this only multiplies.
Runs inside Triton's Python backend stub, where `triton_python_backend_utils` is importable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        self.input = config["input"][0]["name"]
        self.output = config["output"][0]["name"]
        folder = Path(args["model_repository"]) / args["model_version"]
        self.weights = np.load(folder / "weights.npy")

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            rows = pb_utils.get_input_tensor_by_name(request, self.input).as_numpy()
            scores = (rows @ self.weights).astype(rows.dtype)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor(self.output, scores)]))
        return responses
