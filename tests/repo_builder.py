"""Builds the small modelops repositories tests need, so no test depends on the shipped samples.

A fork adds, renames and removes environments and models, and leaves optional fields out; a
test that picked `prod` or `fraud-detector` from the samples would fail there for no fault of
the platform. Tests describe the repository they need instead, in a few lines:

    canary = {"strategy": "canary", "candidate": {"uri": uri("ranker", 2)}}
    repo = build_repo(tmp_path / "repo",
                      environment("qa", model("scorer"), model("ranker", rollout=canary)))

The API:

- `model(name, **spec)` -> a ModelDeployment document holding only the required fields
  (artifact `uri(name)` of 100Mi, framework sklearn, pool `MLSERVER_POOL`), with `spec`
  deep-merged over them (camelCase keys as in a spec file; a value of `None` removes a field).
  `metadata={...}` is merged into the metadata the same way.
- `environment(name, *models, **spec)` -> an `EnvironmentDraft`: an Environment document with
  every required field (namespace `models-<name>`, an MLServer pool `MLSERVER_POOL` and a
  Triton pool `TRITON_POOL`, artifacts allowed under `PREFIX`), `spec` deep-merged the same way.
- `feature_environment(name, **spec)` -> an environment whose models turn on every optional
  feature (drift, processing, canaries with and without a weight, a mirror, an explainer, a
  model over 2 GiB on Triton, and on KServe a scale-to-zero model, a Triton model and a
  canary with node caches), for checks that must never pass for want of a case.
- `kserve_settings(mode)` -> `spec.kserve` for `environment(...)`: Knative (KPA, Knative
  1.19) or Standard (KEDA), runtimes `KSERVE_SKLEARN_RUNTIME` and `KSERVE_TRITON_RUNTIME`;
  `kserve_model(name, **spec)` -> a model with `target: kserve` and no server pool.
- `uri(name, version=1)` -> an immutable artifact URI under `PREFIX`, distinct per version.
- `build_repo(root, *environments, render=True, commit=True, policies=False)` writes every
  environment and spec (with the `$schema` line a real spec has), copies `generators/schemas/`
  (and with `policies`, the policy library `policy`/`check` read) from the real repository,
  renders in-process like `modelops render`, and makes the first commit of a new git
  repository (branch `main`). Returns `root`.
- `rendered_objects(draft)` -> the parsed objects one environment renders to, for tests that
  need rendered objects rather than a repository.
- `write_spec(repo, env, document)` writes one more spec (a model or `environment.yaml`) into a
  built repository; `render_repo(repo, *envs)` renders (all environments when none are named);
  `git(repo, *args)` runs real git with a fixed identity and no user or system config.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from modelops import render as rendering
from modelops.repository import Repository

REAL_REPO = Path(__file__).resolve().parent.parent
PREFIX = "gs://test-models/"
MLSERVER_POOL = "cpu-pool"
TRITON_POOL = "gpu-pool"
KSERVE_SKLEARN_RUNTIME = "sklearn-runtime"
KSERVE_TRITON_RUNTIME = "triton-runtime"
API_VERSION = "modelops.dev/v1alpha1"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Builder",
    "GIT_AUTHOR_EMAIL": "builder@example.test",
    "GIT_COMMITTER_NAME": "Test Builder",
    "GIT_COMMITTER_EMAIL": "builder@example.test",
}
Document = dict[str, Any]


@dataclass(frozen=True)
class EnvironmentDraft:
    """An environment to build: its `environment.yaml` document and its model documents."""

    name: str
    document: Document
    models: tuple[Document, ...] = field(default=())


def merge(base: Document, overrides: dict[str, Any]) -> Document:
    """`base` with `overrides` merged in: mappings recursively, `None` deleting a key."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def uri(name: str, version: int = 1) -> str:
    return f"{PREFIX}{name}/2026-01-{version:02d}-v{version}"


def model(name: str, *, metadata: dict[str, Any] | None = None, **spec: Any) -> Document:
    required: Document = {
        "artifact": {"uri": uri(name), "size": "100Mi"},
        "framework": "sklearn",
        "server": MLSERVER_POOL,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "ModelDeployment",
        "metadata": merge({"name": name, "owner": "test-ml"}, metadata or {}),
        "spec": merge(required, spec),
    }


def kserve_settings(mode: str = "Knative", **overrides: Any) -> Document:
    """`spec.kserve` offering an sklearn and a Triton runtime in the given deployment mode."""
    settings: Document = {
        "deploymentMode": mode,
        "autoscaler": "kpa" if mode in ("Knative", "Serverless") else "keda",
        "runtimes": {
            KSERVE_SKLEARN_RUNTIME: {"image": "docker.io/kserve/sklearnserver:v0.16.0",
                                     "formats": ["sklearn", "xgboost"], "cpu": "1"},
            KSERVE_TRITON_RUNTIME: {"image": "nvcr.io/nvidia/tritonserver:24.10-py3",
                                    "formats": ["onnx", "pytorch"], "cpu": "2", "gpu": 1},
        },
    }
    if mode in ("Knative", "Serverless"):
        settings["knativeVersion"] = "1.19"
    return merge(settings, overrides)


def kserve_model(name: str, *, metadata: dict[str, Any] | None = None, **spec: Any) -> Document:
    """A model served by KServe: `model(...)` without a server pool, with `target: kserve`."""
    document = model(name, metadata=metadata, **spec)
    document["spec"] = merge(document["spec"], {"server": None,
                                                "target": spec.get("target", "kserve")})
    if "server" in spec:
        document["spec"]["server"] = spec["server"]
    return document


def environment(name: str, *models: Document, **spec: Any) -> EnvironmentDraft:
    required: Document = {
        "namespace": f"models-{name}",
        "cluster": {"name": f"{name}-cluster", "server": f"https://{name}.k8s.example.test"},
        "artifacts": {"allowedPrefixes": [PREFIX], "storageSecret": "model-storage"},
        "servers": {
            MLSERVER_POOL: {"runtime": "mlserver", "replicas": 2, "memory": "8Gi", "cpu": "2",
                            "overcommitPercent": 50, "maxArtifactSize": "2Gi"},
            TRITON_POOL: {"runtime": "triton", "replicas": 1, "memory": "16Gi", "cpu": "4",
                          "gpu": 1, "overcommitPercent": 0, "maxArtifactSize": "4Gi"},
        },
        "defaults": {"replicas": {"min": 1, "max": 2}, "memoryFactor": 1.5},
        "limits": {"maxOvercommitPercent": 100, "minReplicas": 1},
        "alerts": {"p99LatencyMs": 500, "errorRatePercent": 0.5, "loadBacklog": 50,
                   "kafkaLagMessages": 10000, "kafkaLagSeconds": 300},
        "kafka": {"cluster": "seldon", "namespace": "kafka", "topicPrefix": "seldon",
                  "partitions": 1, "replicationFactor": 1, "minInSyncReplicas": 1,
                  "retentionHours": 24},
        "smoke": {"image": "ghcr.io/example/modelops:0.1.0", "timeoutSeconds": 300},
    }
    document = {
        "apiVersion": API_VERSION,
        "kind": "Environment",
        "metadata": {"name": name},
        "spec": merge(required, spec),
    }
    return EnvironmentDraft(name, document, models)


def feature_environment(name: str, **spec: Any) -> EnvironmentDraft:
    """An environment turning on every feature a spec has, so a check of that feature always
    has a case: a pre-processing step and a drift detector (`scorer`, after `encoder`), a canary
    without a weight (`ranker`) and one with (`classifier`), a mirror with an explainer
    (`pricer`), a Triton model over 2 GiB (`embedder`), per-model alerts, a logger, a smoke
    request, a nightly batch (`scorer`). Pools and limits are a production environment's:
    4 x 16Gi MLServer replicas at 10 % overcommit, 3 x 32Gi Triton replicas, 2 replicas or more
    per model."""
    drift = {"reference": uri("scorer-reference"), "referenceRows": 10000, "pValue": 0.01,
             "batchSize": 100}
    smoke = {"inputs": [{"name": "predict", "datatype": "FP32", "shape": [1, 4],
                         "data": [0.1, 0.2, 0.3, 0.4]}]}
    models = (
        model("encoder", artifact={"size": "40Mi"}, replicas={"min": 3, "max": 8}),
        model("scorer", artifact={"size": "1200Mi"}, framework="xgboost", memory="2Gi",
              replicas={"min": 3, "max": 8}, processing={"pre": ["encoder"]}, drift=drift,
              alerts={"p99LatencyMs": 300}, smoke=smoke,
              batch={"schedule": "30 2 * * *", "input": f"{PREFIX}scorer-input/day.csv",
                     "output": f"{PREFIX}scorer-scores/"}),
        model("ranker", artifact={"size": "180Mi"}, logger={"percent": 5},
              rollout={"strategy": "canary", "candidate": {"uri": uri("ranker", 2)}}),
        model("classifier", artifact={"size": "260Mi"}, framework="xgboost",
              alerts={"errorRatePercent": 0.2},
              rollout={"strategy": "canary",
                       "candidate": {"uri": uri("classifier", 2), "weight": 25}}),
        model("pricer", artifact={"size": "350Mi"}, framework="lightgbm", memory="1Gi",
              rollout={"strategy": "mirror", "candidate": {"uri": uri("pricer", 2),
                                                           "weight": 25}},
              explainer={"type": "anchor_tabular", "uri": uri("pricer-explainer"),
                         "memory": "512Mi"}),
        model("embedder", artifact={"size": "2600Mi"}, framework="onnx", memory="4Gi",
              server=TRITON_POOL),
        kserve_model("router", replicas={"min": 0, "max": 2}, smoke=smoke),
        kserve_model("tagger", artifact={"size": "900Mi"}, framework="onnx", memory="2Gi",
                     kserve={"runtime": KSERVE_TRITON_RUNTIME}, alerts={"p99LatencyMs": 250}),
        kserve_model("suggester", rollout={"strategy": "canary", "candidate": {
            "uri": uri("suggester", 2), "weight": 20}}),
    )
    production = {
        "servers": {MLSERVER_POOL: {"replicas": 4, "memory": "16Gi", "overcommitPercent": 10},
                    TRITON_POOL: {"replicas": 3, "memory": "32Gi"}},
        "defaults": {"replicas": {"min": 2, "max": 6}},
        "limits": {"minReplicas": 2, "maxOvercommitPercent": 50},
        "kserve": kserve_settings("Knative", localModelCache={"nodeGroups": ["nvme-cache"]}),
    }
    return environment(name, *models, **merge(production, spec))


def write_spec(repo: Path, env: str, document: Document) -> Path:
    """Write a model spec (models/<name>.yaml) or an Environment (environment.yaml)."""
    env_dir = repo / "environments" / env
    if document["kind"] == "Environment":
        path, schema = env_dir / "environment.yaml", "../../generators/schemas/environment"
    else:
        path = env_dir / "models" / f"{document['metadata']['name']}.yaml"
        schema = "../../../generators/schemas/modeldeployment"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)
    path.write_text(f"# yaml-language-server: $schema={schema}.schema.json\n{body}",
                    encoding="utf-8")
    return path


def render_repo(repo: Path, *envs: str) -> None:
    repository = Repository(repo)
    names = list(envs) or repository.environment_names()
    rendering.write_environments(repository, repository.load_environments(names))


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def build_repo(root: Path, *environments: EnvironmentDraft, render: bool = True,
               commit: bool = True, policies: bool = False) -> Path:
    assert environments, "a modelops repository needs at least one environment"
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REAL_REPO / "generators" / "schemas", root / "generators" / "schemas")
    if policies:
        shutil.copytree(REAL_REPO / "policies", root / "policies")
    for draft in environments:
        write_spec(root, draft.name, draft.document)
        (root / "environments" / draft.name / "models").mkdir(exist_ok=True)
        for document in draft.models:
            write_spec(root, draft.name, document)
    if render:
        render_repo(root)
    if commit:
        git(root, "init", "--quiet", "--initial-branch=main")
        git(root, "add", "--all")
        git(root, "commit", "--quiet", "-m", "Initial models")
    return root


def rendered_objects(draft: EnvironmentDraft) -> list[Document]:
    """The objects one environment renders to, built in a directory removed afterwards (for
    module-level constants of tests that need rendered objects rather than a repository)."""
    with tempfile.TemporaryDirectory(prefix="modelops-built-") as scratch:
        repo = build_repo(Path(scratch) / "repo", draft, commit=False)
        base = repo / "environments" / draft.name / "rendered"
        return [yaml.safe_load(path.read_text(encoding="utf-8"))
                for path in sorted(base.rglob("*.yaml"))]
