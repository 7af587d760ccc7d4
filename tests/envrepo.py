"""Small modelops repositories built from scratch in a test's tmp_path.

Tests of environments and promotion must not depend on which environments or models the
samples hold, so they write their own: `write_environment` and `write_model` produce minimal
valid specs (one MLServer pool named `cpu`), `git_repo` makes the folder a real git repository
with one commit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

SCHEMA_LINE = "# yaml-language-server: $schema=../../generators/schemas/{}.schema.json\n"


def environment_spec(name: str, *, namespace: str | None = None,
                     server: str | None = None, prefixes: list[str] | None = None,
                     promotion: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "namespace": namespace or f"models-{name}",
        "cluster": {"name": f"{name}-k8s", "server": server or f"https://{name}.k8s.test"},
        "artifacts": {"allowedPrefixes": prefixes or [f"gs://bucket-{name}/"]},
        "servers": {"cpu": {"runtime": "mlserver", "replicas": 2, "memory": "8Gi",
                            "cpu": "2", "overcommitPercent": 10, "maxArtifactSize": "2Gi"}},
        "defaults": {"replicas": {"min": 1, "max": 2}, "memoryFactor": 1.5},
        "limits": {"maxOvercommitPercent": 100, "minReplicas": 1},
        "alerts": {"p99LatencyMs": 500, "errorRatePercent": 0.5, "loadBacklog": 50,
                   "kafkaLagMessages": 10000, "kafkaLagSeconds": 300},
        "kafka": {"cluster": "seldon", "namespace": "kafka", "topicPrefix": "seldon",
                  "partitions": 1, "replicationFactor": 1, "minInSyncReplicas": 1,
                  "retentionHours": 24},
        "smoke": {"image": "ghcr.io/acme/modelops:0.1.0", "timeoutSeconds": 300},
    }
    if promotion is not None:
        spec["promotion"] = promotion
    return {"apiVersion": "modelops.dev/v1alpha1", "kind": "Environment",
            "metadata": {"name": name}, "spec": spec}


def write_environment(root: Path, name: str, **settings: Any) -> Path:
    path = root / "environments" / name / "environment.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(environment_spec(name, **settings), sort_keys=False)
    path.write_text(SCHEMA_LINE.format("environment") + body, encoding="utf-8")
    return path


def model_spec(name: str, uri: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
            "metadata": {"name": name, "owner": "team"},
            "spec": {"artifact": {"uri": uri, "size": "100Mi"}, "framework": "sklearn",
                     "server": "cpu", **spec}}


def write_model(root: Path, env: str, name: str, uri: str, **spec: Any) -> Path:
    path = root / "environments" / env / "models" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(model_spec(name, uri, **spec), sort_keys=False)
    path.write_text(SCHEMA_LINE.format("modeldeployment") + body, encoding="utf-8")
    return path


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def git_repo(root: Path) -> Path:
    """Make `root` a git repository on branch main with everything in it committed."""
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root
