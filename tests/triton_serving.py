"""A real Triton Inference Server for tests and benchmarks: a Python-backend model, stop by PID.

The `tritonserver` binary (2.51, CPU, Python backend only) comes from PyPI's nvidia-pytriton,
installed in `.venv-kserve` (`make setup`); the server is started directly, not through
pytriton's Python API, so it is the binary a KServe Triton runtime runs. Its Python backend
embeds the venv's interpreter, so the launch sets what pytriton's own launcher would:

- `LD_LIBRARY_PATH` to that interpreter's lib folder, or the stub loads the system libpython and
  fails (`'_thread.RLock' object has no attribute '_recursion_count'`);
- the venv's `bin` first on `PATH`, so the stub finds the venv's numpy;
- a backend folder holding the stub built for that Python version (pytriton ships one per
  version), linked into the test's folder;
- its own shared-memory prefix, so Tritons started by tests running side by side never meet.

    write_linear_model(repository, "linear", weights)   # config.pbtxt + 1/model.py + weights
    server = TritonServer.start(repository, cwd=tmp)     # waits until every model is ready
    server.http_url, server.grpc_url, server.metrics_url
    server.stop()                                         # SIGTERM; no stub process left
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from kserve_serving import KSERVE_PYTHON, KSERVE_VENV
from server_process import ServerProcess, free_ports

MODEL_SCRIPT = Path(__file__).resolve().parent / "servers" / "triton_linear_model.py"
INPUT = "predict"
OUTPUT = "score"

_CONFIG = """name: "{name}"
backend: "python"
max_batch_size: 0
input [ {{ name: "{input}" data_type: TYPE_FP64 dims: [ -1, {features} ] }} ]
output [ {{ name: "{output}" data_type: TYPE_FP64 dims: [ -1, {outputs} ] }} ]
instance_group [ {{ kind: KIND_CPU count: 1 }} ]
"""


def write_linear_model(repository: Path, name: str, weights: npt.NDArray[np.float64]) -> Path:
    """A model folder computing `rows @ weights` (FP64 [-1, features] -> [-1, outputs])."""
    folder = repository / name
    (folder / "1").mkdir(parents=True)
    features, outputs = weights.shape
    (folder / "config.pbtxt").write_text(_CONFIG.format(
        name=name, input=INPUT, output=OUTPUT, features=features, outputs=outputs))
    shutil.copyfile(MODEL_SCRIPT, folder / "1" / "model.py")
    np.save(folder / "1" / "weights.npy", weights.astype(np.float64))
    return folder


@cache
def pytriton_dist() -> Path:
    """pytriton's `tritonserver` folder inside .venv-kserve."""
    found = sorted(KSERVE_VENV.glob("lib/python3*/site-packages/pytriton/tritonserver"))
    if not found or not KSERVE_PYTHON.exists():
        raise RuntimeError(f"no pytriton in {KSERVE_VENV}: run `make setup` (it makes "
                           ".venv-kserve)")
    return found[0]


@cache
def interpreter() -> tuple[str, str]:
    """(version as "3.11", lib folder) of the Python the Python backend must embed."""
    out = subprocess.run([str(KSERVE_PYTHON), "-c", "import sys, sysconfig; print("
                          "f'{sys.version_info[0]}.{sys.version_info[1]}'); "
                          "print(sysconfig.get_config_var('LIBDIR'))"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return out[0], out[1]


def backend_folder(cwd: Path) -> Path:
    """A backends folder whose python backend holds the stub for the venv's Python."""
    dist = pytriton_dist()
    python = cwd / "triton-backends" / "python"
    python.mkdir(parents=True, exist_ok=True)
    stub = dist / "python_backend_stubs" / interpreter()[0] / "triton_python_backend_stub"
    for source in (*sorted((dist / "backends" / "python").glob("*.*")), stub):
        link = python / source.name
        if not link.exists():
            link.symlink_to(source)
    return python.parent


class TritonServer(ServerProcess):
    kind = "Triton"

    @classmethod
    def start(cls, repository: Path, *, cwd: Path, timeout: float = 90.0) -> TritonServer:
        """Serve every model folder of `repository` and wait until each is ready."""
        binary = pytriton_dist() / "bin" / "tritonserver"
        http, grpc, metrics = free_ports(3)
        names = sorted(p.name for p in repository.iterdir() if (p / "config.pbtxt").is_file())
        command = [
            str(binary), f"--model-repository={repository}",
            f"--backend-directory={backend_folder(cwd)}",
            f"--backend-config=python,shm-region-prefix-name=modelops-{os.getpid()}-{http}-",
            "--http-address=127.0.0.1", f"--http-port={http}",
            "--grpc-address=127.0.0.1", f"--grpc-port={grpc}",
            "--metrics-address=127.0.0.1", f"--metrics-port={metrics}",
            "--allow-gpu-metrics=false", "--strict-readiness=true", "--exit-timeout-secs=10",
        ]
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = ":".join(filter(None, [interpreter()[1],
                                                         env.get("LD_LIBRARY_PATH")]))
        env["PATH"] = f"{KSERVE_VENV / 'bin'}:{env.get('PATH', '')}"
        return cls.launch(command, cwd=cwd, ports=(http, grpc, metrics), timeout=timeout,
                          env=env,
                          ready=[f"http://127.0.0.1:{http}/v2/models/{n}/ready" for n in names])
