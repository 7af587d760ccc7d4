"""A model server under test as a subprocess: free loopback ports, ready checks, stop by PID.

MLServer, KServe's ModelServer and Triton each run from a virtual environment of their own
(`make setup`), never inside pytest's process: their pins clash with the project's, and
MLServer cannot share a process with `tritonclient.grpc`. Each starts in its own session, so
stopping it by PID can also prove that no worker or backend process outlived it. The classes in
serving.py, kserve_serving.py and triton_serving.py only say how to launch their server.

    server.http_url, server.grpc_url        # host:port, as tritonclient and `modelops smoke` take
    server.metrics(), server.series()       # Prometheus text; {series: [labels of each sample]}
    server.stop()                           # SIGTERM the PID; nothing of its session left
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self


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


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """Status and body of a GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def session_members(sid: int) -> list[int]:
    """PIDs still alive in session `sid` (a server's workers or backend stubs would be there)."""
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


@dataclass
class ServerProcess:
    """One running server; `kind` names it in error messages."""

    kind: ClassVar[str] = "server"
    process: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    metrics_port: int
    log: Path
    startup_seconds: float = 0.0

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
    def launch(cls, command: Sequence[str], *, cwd: Path, ports: tuple[int, int, int],
               ready: Sequence[str], timeout: float,
               env: Mapping[str, str] | None = None) -> Self:
        """Run `command` in its own session, logging to cwd, and wait until every URL in
        `ready` answers 200; on a crash or timeout the error carries the log's tail."""
        http, grpc, metrics = ports
        log = cwd / f"{cls.kind.lower()}-{http}.log"
        started = time.perf_counter()
        with log.open("wb") as handle:
            process = subprocess.Popen(list(command), cwd=cwd, stdout=handle,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       env=dict(env) if env is not None else None)
        server = cls(process, http, grpc, metrics, log)
        deadline = started + timeout
        pending = list(ready)
        while pending:
            if process.poll() is not None:
                raise RuntimeError(f"{cls.kind} exited with {process.returncode}:\n"
                                   f"{server.log_tail()}")
            if time.perf_counter() > deadline:
                server.stop()
                raise RuntimeError(f"{cls.kind} not ready after {timeout} s:\n"
                                   f"{server.log_tail()}")
            try:
                if http_get(pending[0])[0] == 200:
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
        return http_get(self.metrics_url)[1].decode()

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        """Every sample of the metrics page: (series name, labels, value)."""
        found = []
        for line in self.metrics().splitlines():
            match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
            if match:
                labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                         match[2] or ""))
                found.append((match[1], labels, float(match[3])))
        return found

    def series(self) -> dict[str, list[dict[str, str]]]:
        """The metrics page as {series name: [the labels of each sample]}."""
        found: dict[str, list[dict[str, str]]] = {}
        for name, labels, _ in self.samples():
            found.setdefault(name, []).append(labels)
        return found

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
                raise RuntimeError(f"{self.kind} {pid} ignored SIGTERM for {timeout} s") from None
        leftovers = wait_gone(session_members(pid))
        if leftovers:
            os.killpg(pid, signal.SIGKILL)
            raise RuntimeError(f"{self.kind} {pid} left processes running: {leftovers}")
