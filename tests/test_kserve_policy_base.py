"""`modelops check --base` hands the policies the base's version of each object the change
modifies (the input's `previous`), so a KServe deployment-mode change is denied in the pull
request that makes it: KServe fixes the mode when it creates an InferenceService.

Real git history in a temporary repository: an environment offering KServe runtimes, and an
InferenceService file written into its rendered tree as a hand edit would be (the render check
reports that file; the policy findings are what these tests read).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, run_cli
from repo_builder import PREFIX, build_repo, environment, git, model

CRDS = Path(os.environ.get("MODELOPS_CRD_DIR", REPO_ROOT.parent / "shared" / "crds"))
ENV = "kenv"
RUNTIME = "kserve-sklearnserver"
KSERVE = {
    "deploymentMode": "Knative",
    "autoscaler": "kpa",
    "knativeVersion": "1.19",
    "runtimes": {RUNTIME: {"image": "kserve/sklearnserver:v0.20.0", "formats": ["sklearn"],
                           "cpu": "1"}},
}


def inference_service(mode: str, size: str = "180Mi") -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "scorer", "namespace": f"models-{ENV}",
            "labels": {"app.kubernetes.io/component": "model"},
            "annotations": {"serving.kserve.io/deploymentMode": mode,
                            "modelops.dev/artifact-size": size},
        },
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 2, "model": {
            "modelFormat": {"name": "sklearn"}, "runtime": RUNTIME, "protocolVersion": "v2",
            "storageUri": f"{PREFIX}scorer/2026-01-01-v1",
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                          "limits": {"memory": "1Gi"}}}}},
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = build_repo(tmp_path / "repo", environment(ENV, model("ranker"), kserve=KSERVE),
                      policies=True)
    write(root, inference_service("Knative"))
    commit(root, "serve scorer on KServe")
    return root


def write(root: Path, obj: dict[str, Any]) -> None:
    path = root / "environments" / ENV / "rendered" / "models" / \
        "scorer.inferenceservice-scorer.yaml"
    path.write_text(yaml.safe_dump(obj, sort_keys=False))


def commit(root: Path, message: str) -> None:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", message)


def kserve_findings(root: Path, key: str) -> list[dict[str, str]]:
    """The kserve-deployment findings of the one environment, from `check --base HEAD~1`."""
    result = run_cli("check", "--crds", str(CRDS), "--base", "HEAD~1", "--format", "json",
                     repo=root)
    assert result.rc in (0, 1), result.stdout + result.stderr
    (env,) = json.loads(result.stdout)["environments"]
    return [f for f in env[key] if f["policy"] == "kserve-deployment"]


def test_mode_change_against_the_base_is_a_new_deny(repo: Path) -> None:
    write(repo, inference_service("Standard"))
    commit(repo, "switch scorer to Standard")
    new = kserve_findings(repo, "newFindings")
    assert [(f["severity"], f["kind"], f["name"]) for f in new] == [
        ("deny", "InferenceService", "scorer")]
    assert "deployment mode changes from Knative to Standard" in new[0]["message"]


def test_the_same_mode_under_its_deprecated_name_is_no_change(repo: Path) -> None:
    write(repo, inference_service("Serverless"))
    commit(repo, "spell Knative the old way")
    new = kserve_findings(repo, "newFindings")
    assert [f["severity"] for f in new] == ["warn"]
    assert "deprecated name Serverless" in new[0]["message"]


def test_a_change_that_keeps_the_mode_is_not_denied(repo: Path) -> None:
    write(repo, inference_service("Knative", size="200Mi"))
    commit(repo, "a larger artifact")
    assert kserve_findings(repo, "findings") == []
