"""A real MLServer for tests and benchmarks: trained models, free ports, stopped by PID.

MLServer lives in its own virtual environment (`.venv-mlserver`, made by `make setup`): it
conflicts with the project's pins, and `mlserver` cannot share a process with
`tritonclient.grpc`. So the models are trained by that venv's Python (the scikit-learn that
will load them with joblib) and the server runs as a subprocess on 127.0.0.1
(`server_process.py`: its own session, stopped by PID with no worker left behind).

    server = MLServer.start(models_dir, cwd=tmp)    # waits until every model is ready
    server.http_url, server.grpc_url, server.metrics_url
    server.stop()                                   # SIGTERM the PID; no leftover workers
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from server_process import ServerProcess, free_ports

REPO_ROOT = Path(__file__).resolve().parent.parent
MLSERVER_VENV = REPO_ROOT / ".venv-mlserver"
MLSERVER = MLSERVER_VENV / "bin" / "mlserver"
MLSERVER_PYTHON = MLSERVER_VENV / "bin" / "python"
FEATURES = 4

# Trains three classifiers on one synthetic 3-class problem; "other" is deliberately wrong
# (its labels are rotated), so it answers differently on the same inputs.
_TRAIN = """
import json, sys
from pathlib import Path
import joblib, numpy as np
from sklearn.linear_model import LogisticRegression

out = Path(sys.argv[1])
rng = np.random.default_rng(7)
X = rng.normal(size=(1500, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
models = {"iris": y, "iris-copy": y, "iris-other": (y + 1) % 3}
for name, labels in models.items():
    folder = out / name
    folder.mkdir(parents=True)
    clf = LogisticRegression(max_iter=500).fit(X, labels)
    joblib.dump(clf, folder / "model.joblib")
    settings = {"name": name, "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "v1"},
                "inputs": [{"name": "predict", "datatype": "FP64", "shape": [-1, 4]}],
                "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1, 1]}]}
    (folder / "model-settings.json").write_text(json.dumps(settings))
"""


MODELS = ("iris", "iris-copy", "iris-other")


def train_models(out: Path, *, wait: bool = True,
                 python: Path = MLSERVER_PYTHON) -> subprocess.Popen[bytes]:
    """Train MODELS into `out` with the Python of the server that loads them (its scikit-learn
    and joblib), MLServer's unless told otherwise."""
    process = subprocess.Popen([str(python), "-c", _TRAIN, str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if wait and process.wait(timeout=120) != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"training failed: {error}")
    return process


class MLServer(ServerProcess):
    kind = "MLServer"

    @classmethod
    def start(cls, models: Path, *, cwd: Path, parallel_workers: int = 1,
              timeout: float = 90.0) -> MLServer:
        """Start MLServer on `models` (one folder per model) and wait for every model."""
        if not MLSERVER.exists():
            raise RuntimeError(f"{MLSERVER} is missing: run `make setup` (it makes "
                               ".venv-mlserver)")
        http, grpc, metrics = free_ports(3)
        names = sorted(p.name for p in models.iterdir() if (p / "model-settings.json").exists())
        settings = {"host": "127.0.0.1", "http_port": http, "grpc_port": grpc,
                    "metrics_port": metrics, "parallel_workers": parallel_workers,
                    "metrics_dir": str(cwd / "metrics"), "debug": False}
        (models / "settings.json").write_text(json.dumps(settings))
        return cls.launch([str(MLSERVER), "start", str(models)], cwd=cwd,
                          ports=(http, grpc, metrics), timeout=timeout,
                          ready=[f"http://127.0.0.1:{http}/v2/models/{n}/ready" for n in names])


def infer_json(url: str, model: str, body: dict[str, Any]) -> dict[str, Any]:
    """A plain HTTP V2 call, independent of the code under test."""
    request = urllib.request.Request(f"http://{url}/v2/models/{model}/infer",
                                     data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result
