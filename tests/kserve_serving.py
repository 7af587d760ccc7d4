"""A real KServe ModelServer for tests and benchmarks: sklearn models, free ports, stop by PID.

KServe 0.21 lives in `.venv-kserve` (`make setup`): its starlette and python-dateutil pins
clash with the project's and MLServer's. The models are trained by that venv's Python (the
scikit-learn that loads them) and served by `servers/kserve_sklearn_server.py`, a
`kserve.Model` per model folder, over V2 REST and V2 gRPC. KServe serves its Prometheus
metrics on the REST port and listens on every interface (it has no address option); only
127.0.0.1 is used.

    train_kserve_models(models_dir)                 # MODELS, as for MLServer
    server = KServeServer.start(models_dir, cwd=tmp)   # waits until every model is ready
    server.http_url, server.grpc_url, server.metrics_url
    server.stop()                                   # SIGTERM the PID; nothing left running
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from server_process import ServerProcess, free_ports
from serving import REPO_ROOT, train_models

KSERVE_VENV = REPO_ROOT / ".venv-kserve"
KSERVE_PYTHON = KSERVE_VENV / "bin" / "python"
SERVER_SCRIPT = Path(__file__).resolve().parent / "servers" / "kserve_sklearn_server.py"


def train_kserve_models(out: Path, *, wait: bool = True) -> subprocess.Popen[bytes]:
    """serving.MODELS trained by KServe's Python, one folder each with its model.joblib."""
    return train_models(out, wait=wait, python=KSERVE_PYTHON)


class KServeServer(ServerProcess):
    kind = "KServe"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/metrics"

    @classmethod
    def start(cls, models: Path, *, cwd: Path, timeout: float = 90.0) -> KServeServer:
        """Serve every folder of `models` that holds a model.joblib, under the folder's name."""
        if not KSERVE_PYTHON.exists():
            raise RuntimeError(f"{KSERVE_PYTHON} is missing: run `make setup` (it makes "
                               ".venv-kserve)")
        http, grpc = free_ports(2)
        names = sorted(p.name for p in models.iterdir() if (p / "model.joblib").is_file())
        command = [str(KSERVE_PYTHON), str(SERVER_SCRIPT), "--models", str(models),
                   "--http_port", str(http), "--grpc_port", str(grpc), "--workers", "1",
                   "--enable_latency_logging", "false"]
        return cls.launch(command, cwd=cwd, ports=(http, grpc, http), timeout=timeout,
                          ready=[f"http://127.0.0.1:{http}/v2/models/{n}/ready" for n in names])
