"""A real MLServer for tests and benchmarks: trained models, free ports, stopped by PID.

MLServer lives in its own virtual environment (`.venv-mlserver`, made by `make setup`): it
conflicts with the project's pins, and `mlserver` cannot share a process with
`tritonclient.grpc`. So the models are trained by that venv's Python (the scikit-learn that
will load them with joblib) and the server runs as a subprocess on 127.0.0.1. It starts in its
own session, so stopping it by PID can also prove that no worker process outlived it.

    server = MLServer.start(models_dir, cwd=tmp)    # waits until every model is ready
    server.http_url, server.grpc_url, server.metrics_url
    server.stop()                                   # SIGTERM the PID; no leftover workers
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on right now (held open together, so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


MODELS = ("iris", "iris-copy", "iris-other")


def train_models(out: Path, *, wait: bool = True) -> subprocess.Popen[bytes]:
    """Train MODELS into `out` with MLServer's own Python (the scikit-learn that loads them)."""
    process = subprocess.Popen([str(MLSERVER_PYTHON), "-c", _TRAIN, str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if wait and process.wait(timeout=120) != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"training failed: {error}")
    return process


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class MLServer:
    process: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    metrics_port: int
    log: Path
    startup_seconds: float

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

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
        log = cwd / f"mlserver-{http}.log"
        started = time.perf_counter()
        with log.open("wb") as handle:
            process = subprocess.Popen([str(MLSERVER), "start", str(models)], cwd=cwd,
                                       stdout=handle, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server = cls(process, http, grpc, metrics, log, 0.0)
        deadline = started + timeout
        pending = [f"http://127.0.0.1:{http}/v2/models/{n}/ready" for n in names]
        while pending:
            if process.poll() is not None:
                raise RuntimeError(f"MLServer exited with {process.returncode}:\n"
                                   f"{server.log_tail()}")
            if time.perf_counter() > deadline:
                server.stop()
                raise RuntimeError(f"MLServer not ready after {timeout} s:\n{server.log_tail()}")
            try:
                if _get(pending[0])[0] == 200:
                    pending.pop(0)
                    continue
            except OSError:
                pass
            time.sleep(0.1)
        server.startup_seconds = time.perf_counter() - started
        return server

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def metrics(self) -> str:
        return _get(self.metrics_url)[1].decode()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the PID, wait, and make sure nothing of its session is left running."""
        pid = self.process.pid
        if self.process.poll() is None:
            os.kill(pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(pid, signal.SIGKILL)
                self.process.wait(5)
                raise RuntimeError(f"MLServer {pid} ignored SIGTERM for {timeout} s") from None
        leftovers = wait_gone(session_members(pid))
        if leftovers:
            os.killpg(pid, signal.SIGKILL)
            raise RuntimeError(f"MLServer {pid} left processes running: {leftovers}")


def session_members(sid: int) -> list[int]:
    """PIDs still alive in session `sid` (MLServer's workers would be there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp, session, ...
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.perf_counter() + timeout
    alive = pids
    while alive and time.perf_counter() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if Path(f"/proc/{p}").exists()]
    return alive


def infer_json(url: str, model: str, body: dict[str, Any]) -> dict[str, Any]:
    """A plain HTTP V2 call, independent of the code under test."""
    request = urllib.request.Request(f"http://{url}/v2/models/{model}/infer",
                                     data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result
