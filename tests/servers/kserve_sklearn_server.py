"""A KServe ModelServer serving scikit-learn classifiers, for the tests and the smoke benchmark.

KServe 0.21 ships no scikit-learn runtime in its Python package, so this wraps each model in a
`kserve.Model` the way a custom KServe predictor does: every folder of `--models` holding a
`model.joblib` is served under the folder's name, declaring in its V2 metadata one FP64 input
`predict` of shape [-1, n_features] and one INT64 output `predict` of shape [-1] (the class of
each row). It runs in `.venv-kserve` (tests/kserve_serving.py starts it), never in the project's
venv: its pins clash with the project's. KServe's own options (`--http_port`, `--grpc_port`,
`--workers`, ...) are read by KServe itself from the command line.

    .venv-kserve/bin/python kserve_sklearn_server.py --models DIR --http_port P --grpc_port Q
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import joblib
import kserve
import numpy as np
from kserve import InferOutput, InferRequest, InferResponse

INPUT = "predict"
OUTPUT = "predict"


class SklearnClassifier(kserve.Model):  # type: ignore[misc]
    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name)
        self.path = path
        self.estimator: Any = None

    def load(self) -> bool:
        self.estimator = joblib.load(self.path)
        self.ready = True
        return True

    def get_input_types(self) -> list[dict[str, Any]]:
        features = int(self.estimator.n_features_in_)
        return [{"name": INPUT, "datatype": "FP64", "shape": [-1, features]}]

    def get_output_types(self) -> list[dict[str, Any]]:
        return [{"name": OUTPUT, "datatype": "INT64", "shape": [-1]}]

    def predict(self, payload: InferRequest, headers: dict[str, str] | None = None,
                response_headers: dict[str, str] | None = None) -> InferResponse:
        tensor = payload.get_input_by_name(INPUT)
        if tensor is None:
            raise kserve.errors.InvalidInput(f"the request has no input {INPUT!r}")
        labels = np.asarray(self.estimator.predict(tensor.as_numpy()), dtype=np.int64)
        output = InferOutput(name=OUTPUT, shape=list(labels.shape), datatype="INT64")
        output.set_data_from_numpy(labels, binary_data=False)
        return InferResponse(response_id=payload.id or "", model_name=self.name,
                             infer_outputs=[output])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True,
                        help="folder of model folders, each with a model.joblib")
    ours, _kserve_options = parser.parse_known_args()
    models = []
    for folder in sorted(p for p in ours.models.iterdir() if (p / "model.joblib").is_file()):
        model = SklearnClassifier(folder.name, folder / "model.joblib")
        model.load()
        models.append(model)
    kserve.ModelServer().start(models)


if __name__ == "__main__":
    main()
