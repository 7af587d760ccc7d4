"""What Seldon Core 2 needs to place a model: runtimes, capabilities and requirements.

A Model lands on a Server only when every entry of `Model.spec.requirements` is one of the
Server's capabilities. The capability lists below are the defaults of Seldon's `mlserver` and
`triton` ServerConfigs (`SELDON_SERVER_CAPABILITIES`, Seldon Core 2.10); a pool may add to them
with `extraCapabilities`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "mlserver": ("mlserver", "alibi-detect", "alibi-explain", "huggingface", "lightgbm",
                 "mlflow", "python", "sklearn", "spark-mlib", "xgboost"),
    "triton": ("triton", "dali", "fil", "onnx", "openvino", "python", "pytorch", "tensorflow",
               "tensorrt"),
}

# The inference container Seldon's ServerConfig names for each runtime, and its HTTP port.
INFERENCE_CONTAINER = {"mlserver": "mlserver", "triton": "triton"}
INFERENCE_HTTP_PORT = 9000
AGENT_CONTAINER = "agent"


@dataclass(frozen=True)
class FrameworkPlacement:
    runtime: str
    requirements: tuple[str, ...]


FRAMEWORKS: dict[str, FrameworkPlacement] = {
    "sklearn": FrameworkPlacement("mlserver", ("sklearn",)),
    "xgboost": FrameworkPlacement("mlserver", ("xgboost",)),
    "lightgbm": FrameworkPlacement("mlserver", ("lightgbm",)),
    "huggingface": FrameworkPlacement("mlserver", ("huggingface",)),
    "mlflow": FrameworkPlacement("mlserver", ("mlflow",)),
    "python": FrameworkPlacement("mlserver", ("python",)),
    "onnx": FrameworkPlacement("triton", ("onnx",)),
    "tensorflow": FrameworkPlacement("triton", ("tensorflow",)),
    "pytorch": FrameworkPlacement("triton", ("pytorch",)),
}

DRIFT_REQUIREMENTS = ("mlserver", "alibi-detect")
EXPLAINER_REQUIREMENTS = ("mlserver", "alibi-explain")


def capabilities(runtime: str, extra: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return DEFAULT_CAPABILITIES[runtime] + tuple(c for c in extra
                                                 if c not in DEFAULT_CAPABILITIES[runtime])
