"""A minimal modelops repository built from scratch, for tests that must not depend on the
sample environments: one environment file and a few specs written here, optionally in a real
git repository with fixed authors and dates so every commit id is reproducible.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

BUCKET = "gs://test-models/"

ENVIRONMENT = """\
apiVersion: modelops.dev/v1alpha1
kind: Environment
metadata:
  name: {name}
spec:
  namespace: models-{name}
  cluster:
    name: {name}-cluster
    server: https://{name}.k8s.example.internal
  artifacts:
    allowedPrefixes:
      - {bucket}
    storageSecret: seldon-rclone-gcs
  servers:
    mlserver-cpu:
      runtime: mlserver
      replicas: 2
      memory: 8Gi
      cpu: "2"
      overcommitPercent: 50
  defaults:
    replicas: {{min: 1, max: 2}}
    memoryFactor: 1.5
  limits:
    maxOvercommitPercent: 100
    minReplicas: 1
  alerts:
    p99LatencyMs: 800
    errorRatePercent: 1.0
    loadBacklog: 50
    kafkaLagMessages: 10000
    kafkaLagSeconds: 300
  kafka:
    cluster: seldon
    namespace: kafka
    topicPrefix: seldon
    partitions: 1
    replicationFactor: 1
    minInSyncReplicas: 1
    retentionHours: 24
  smoke:
    image: ghcr.io/example/modelops:0.1.0
    timeoutSeconds: 300
"""

SPEC = """\
apiVersion: modelops.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: {name}
  owner: test-team
spec:
  artifact:
    uri: {uri}
    size: 100Mi
  framework: sklearn
  server: mlserver-cpu
  replicas: {{min: {replicas}, max: {replicas}}}
"""


def uri(model: str, version: str) -> str:
    return f"{BUCKET}{model}/{version}"


def write_environment(root: Path, env: str) -> Path:
    path = root / "environments" / env / "environment.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ENVIRONMENT.format(name=env, bucket=BUCKET), encoding="utf-8")
    return path


def spec_text(model: str, artifact: str, replicas: int = 1) -> str:
    return SPEC.format(name=model, uri=artifact, replicas=replicas)


def write_spec(root: Path, env: str, model: str, artifact: str, replicas: int = 1) -> Path:
    path = root / "environments" / env / "models" / f"{model}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec_text(model, artifact, replicas), encoding="utf-8")
    return path


def git(root: Path, *args: str, when: int = 0) -> str:
    """Run git in `root` with a fixed identity and date (`when` seconds after a fixed epoch)."""
    stamp = f"{1_790_000_000 + when} +0000"
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "a@example.com",
           "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "a@example.com",
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "LC_ALL": "C"}
    done = subprocess.run(["git", "-C", str(root), *args], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def init(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "commit.gpgsign", "false")
    return root


def commit_all(root: Path, message: str, when: int) -> str:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", message, when=when)
    return git(root, "rev-parse", "HEAD").strip()


def state(root: Path) -> tuple[dict[str, bytes], str, str]:
    """Every file outside .git, `git status --porcelain` and HEAD: "was anything touched?"."""
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
             if p.is_file() and ".git" not in p.relative_to(root).parts}
    def output(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=False).stdout.strip()

    return (files, output("status", "--porcelain", "--untracked-files=all"),
            output("rev-parse", "--verify", "--quiet", "HEAD"))
