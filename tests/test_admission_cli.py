"""`modelops admission serve`: local mode as people run it, through the installed console script.

The command runs in its own process on a free port (`--listen 127.0.0.1:0`; it prints the port
it got), answers a review over HTTPS the way the README's curl example does, and stops cleanly
on SIGTERM (exit 0), as it would in a pod.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from admission_support import make_certificates, review
from conftest import MODELOPS, run_cli
from modelops_plugins.admission.local import read_rendered
from repo_builder import build_repo, environment, model

ENV = "team"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with one rendered environment and the policy library `serve` loads."""
    return build_repo(tmp_path_factory.mktemp("admission-cli") / "repo",
                      environment(ENV, model("scorer")), commit=False, policies=True)


def test_admission_verbs_are_registered() -> None:
    result = run_cli("--help")
    assert result.rc == 0 and "admission" in result.stdout
    result = run_cli("admission", "serve", "--help")
    assert result.rc == 0 and "/validate-models" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--listen", "localhost"], "expected HOST:PORT"),
    (["--tls-cert", "/nonexistent/cert.pem"], "no such file"),
    (["--env", "nowhere"], "nowhere"),
])
def test_bad_usage_exits_2_without_a_traceback(tmp_path: Path, repo: Path, args: list[str],
                                                message: str) -> None:
    certs = make_certificates(tmp_path)
    argv = {"--env": ENV, "--listen": "127.0.0.1:0", "--tls-cert": str(certs.cert),
            "--tls-key": str(certs.key)}
    argv.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run_cli("--repo", str(repo), "admission", "serve",
                     *[part for pair in argv.items() for part in pair])
    assert result.rc == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr


def test_serve_answers_over_https_and_stops_on_sigterm(tmp_path: Path, repo: Path) -> None:
    certs = make_certificates(tmp_path)
    proc = subprocess.Popen(
        [str(MODELOPS), "--repo", str(repo), "admission", "serve", "--env", ENV,
         "--listen", "127.0.0.1:0", "--tls-cert", str(certs.cert), "--tls-key", str(certs.key),
         "--log-level", "WARNING"],
        stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "ready at https://" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "".join(lines)
        match = re.search(r"ready at https://127\.0\.0\.1:(\d+)", "".join(lines))
        assert match, lines
        scorer = next(o for o in read_rendered(repo / "environments" / ENV / "rendered")
                      if o["kind"] == "Model")
        conn = http.client.HTTPSConnection(
            "127.0.0.1", int(match.group(1)), timeout=10,
            context=ssl.create_default_context(cafile=str(certs.ca)))
        document = review(scorer, dry_run=True)
        conn.request("POST", "/validate-models", body=json.dumps(document),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = json.loads(response.read())
        conn.close()
        assert response.status == 200
        assert answer["response"] == {"uid": document["request"]["uid"], "allowed": True}
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        reader.join(10)
    assert rc == 0, "".join(lines)
    assert f"environment {ENV}:" in lines[0] and "Models" in lines[0]
