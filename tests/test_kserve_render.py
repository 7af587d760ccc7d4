"""What a KServe model renders to, checked on repositories the tests build themselves.

InferenceServices in both deployment modes (scale-to-zero as written, the runtime always named,
canaries in git), the cluster-wide ClusterServingRuntimes, LocalModelCaches from real git
history, the smoke Job's address, strict validation of every object against the upstream KServe
CRDs, and byte-identical rendering.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import find_rendered, snapshot
from modelops import kserve_cache
from repo_builder import (
    GIT_ENV,
    KSERVE_SKLEARN_RUNTIME,
    KSERVE_TRITON_RUNTIME,
    build_repo,
    environment,
    git,
    kserve_model,
    kserve_settings,
    model,
    uri,
    write_spec,
)

DEFAULT_CRD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "crds"
Obj = dict[str, Any]
CANARY = {"strategy": "canary", "candidate": {"uri": uri("scored", 2), "weight": 20}}


@pytest.fixture(scope="module")
def crd_dir() -> Path:
    path = Path(os.environ.get("MODELOPS_CRD_DIR", DEFAULT_CRD_DIR))
    if not (path / "kserve").is_dir():
        pytest.skip(f"no KServe CRDs under {path}: export them from a cluster with KServe "
                    "(`kubectl get crd -o yaml > crds/kserve.yaml`) and set MODELOPS_CRD_DIR")
    return path


def rendered(repo: Path, kind: str, name: str, env: str = "qa") -> Obj:
    loaded: Obj = yaml.safe_load(find_rendered(repo, env, kind, name).read_text())
    return loaded


def of_kind(repo: Path, kind: str, env: str = "qa") -> list[Obj]:
    base = repo / "environments" / env / "rendered"
    objects = [yaml.safe_load(p.read_text()) for p in sorted(base.rglob("*.yaml"))]
    return [o for o in objects if o["kind"] == kind]


def one_model_repo(root: Path, mode: str = "Knative", settings: Obj | None = None,
                   **spec: Any) -> Path:
    return build_repo(root, environment("qa", model("helper"), kserve_model("scored", **spec),
                                        kserve=settings or kserve_settings(mode)),
                      commit=False)


# ---------------------------------------------------------------- InferenceService


def test_knative_scale_to_zero_renders_zero_with_the_mode_and_progress_deadline(
        tmp_path: Path) -> None:
    repo = one_model_repo(tmp_path / "repo", replicas={"min": 0, "max": 3})
    service = rendered(repo, "InferenceService", "scored")
    annotations = service["metadata"]["annotations"]
    assert service["apiVersion"] == "serving.kserve.io/v1beta1"
    assert annotations["serving.kserve.io/deploymentMode"] == "Knative"
    assert annotations["serving.knative.dev/progress-deadline"] == "600s"
    assert "serving.kserve.io/autoscalerClass" not in annotations
    assert annotations["modelops.dev/artifact-size"] == "100Mi"
    predictor = service["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (0, 3)
    assert predictor["model"] == {
        "modelFormat": {"name": "sklearn"}, "runtime": KSERVE_SKLEARN_RUNTIME,
        "protocolVersion": "v2", "storageUri": uri("scored"),
        "resources": {"requests": {"cpu": "1", "memory": "150Mi"},
                      "limits": {"memory": "150Mi"}}}


@pytest.mark.parametrize("autoscaler", ["hpa", "keda", "external"])
def test_standard_mode_names_its_autoscaler_and_keeps_zero_as_written(
        tmp_path: Path, autoscaler: str) -> None:
    """Under hpa KServe turns 0 into 1 (kserve#3514): rendering never hides that, a policy
    judges it."""
    repo = one_model_repo(tmp_path / "repo",
                          settings=kserve_settings("Standard", autoscaler=autoscaler),
                          replicas={"min": 0, "max": 2})
    service = rendered(repo, "InferenceService", "scored")
    annotations = service["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "Standard"
    assert annotations["serving.kserve.io/autoscalerClass"] == autoscaler
    assert "serving.knative.dev/progress-deadline" not in annotations
    assert service["spec"]["predictor"]["minReplicas"] == 0


def test_the_runtime_is_always_written_and_a_gpu_runtime_asks_for_its_gpu(
        tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "repo", environment(
        "qa", kserve_model("tagger", framework="onnx"),
        kserve_model("pinned", framework="onnx", kserve={"runtime": KSERVE_TRITON_RUNTIME}),
        kserve=kserve_settings()), commit=False)
    for name in ("tagger", "pinned"):
        model_part = rendered(repo, "InferenceService", name)["spec"]["predictor"]["model"]
        assert model_part["runtime"] == KSERVE_TRITON_RUNTIME
        assert model_part["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert model_part["modelFormat"] == {"name": "onnx"}


def test_a_knative_canary_serves_the_candidate_and_names_the_stable_uri(tmp_path: Path) -> None:
    repo = one_model_repo(tmp_path / "repo", rollout=CANARY)
    service = rendered(repo, "InferenceService", "scored")
    predictor = service["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 20
    assert predictor["model"]["storageUri"] == uri("scored", 2)
    annotations = service["metadata"]["annotations"]
    assert annotations["modelops.dev/stable-storage-uri"] == uri("scored")
    assert annotations["modelops.dev/rollout-strategy"] == "canary"
    assert "canary" not in service["spec"]


def test_a_standard_canary_is_a_second_predictor_in_git(tmp_path: Path) -> None:
    repo = one_model_repo(tmp_path / "repo", mode="Standard", rollout=CANARY,
                          replicas={"min": 2, "max": 4})
    service = rendered(repo, "InferenceService", "scored")
    predictor = service["spec"]["predictor"]
    assert "canaryTrafficPercent" not in predictor
    assert predictor["model"]["storageUri"] == uri("scored")
    [canary] = service["spec"]["canary"]
    assert canary["trafficPercent"] == 20
    assert canary["predictor"]["name"] == "candidate"
    assert canary["predictor"]["minReplicas"] == 1
    assert "maxReplicas" not in canary["predictor"]  # KServe: a canary has fixed replicas
    assert canary["predictor"]["model"]["storageUri"] == uri("scored", 2)
    assert service["metadata"]["annotations"]["modelops.dev/stable-storage-uri"] == uri("scored")


def test_a_mirror_is_rendered_for_the_policy_to_deny(tmp_path: Path) -> None:
    mirror = {"strategy": "mirror", "candidate": {"uri": uri("scored", 2), "weight": 10}}
    repo = one_model_repo(tmp_path / "repo", rollout=mirror)
    service = rendered(repo, "InferenceService", "scored")
    annotations = service["metadata"]["annotations"]
    assert annotations["modelops.dev/rollout-strategy"] == "mirror"
    assert annotations["modelops.dev/candidate-storage-uri"] == uri("scored", 2)
    assert service["spec"]["predictor"]["model"]["storageUri"] == uri("scored")
    assert not of_kind(repo, "Experiment")


def test_a_kserve_model_renders_no_seldon_objects_and_waits_for_its_caches(
        tmp_path: Path) -> None:
    settings = kserve_settings(localModelCache={"nodeGroups": ["nvme"]})
    repo = one_model_repo(tmp_path / "repo", settings=settings)
    for kind in ("Model", "Experiment", "Pipeline"):
        assert all(o["metadata"]["name"] != "scored" for o in of_kind(repo, kind)), kind
    assert not [o for o in of_kind(repo, "KafkaTopic") if ".scored." in o["metadata"]["name"]]
    service_wave = int(rendered(repo, "InferenceService", "scored")["metadata"]["annotations"]
                       ["argocd.argoproj.io/sync-wave"])
    [cache] = of_kind(repo, "LocalModelCache")
    assert int(cache["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < service_wave


def test_the_smoke_job_calls_the_predictor_service_without_a_routing_header(
        tmp_path: Path) -> None:
    repo = one_model_repo(tmp_path / "repo")
    job = rendered(repo, "Job", "smoke-scored")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--url") + 1] == "scored-predictor.models-qa:80"
    assert args[args.index("--protocol") + 1] == "http"
    assert args[args.index("--model") + 1] == "scored"
    assert "--header" not in args
    seldon = rendered(repo, "Job", "smoke-helper")["spec"]["template"]["spec"]
    assert "--header" in seldon["containers"][0]["args"]  # the harness can tell them apart


def test_a_scale_to_zero_models_smoke_job_waits_for_the_cold_start(tmp_path: Path) -> None:
    """The first call starts a pod: the client may wait as long as the Job may run, where a
    model that always runs keeps the client's default timeout."""
    repo = build_repo(tmp_path / "repo", environment(
        "qa", kserve_model("idle", replicas={"min": 0, "max": 2}), kserve_model("busy"),
        kserve=kserve_settings()), commit=False)
    idle = rendered(repo, "Job", "smoke-idle")
    args = idle["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--timeout") + 1] == str(idle["spec"]["activeDeadlineSeconds"])
    busy = rendered(repo, "Job", "smoke-busy")["spec"]["template"]["spec"]
    assert "--timeout" not in busy["containers"][0]["args"]


def test_plan_passes_over_kserve_models(tmp_path: Path, run_main: Any) -> None:
    repo = one_model_repo(tmp_path / "repo", replicas={"min": 0, "max": 2})
    result = run_main("plan", repo=repo)
    assert result.rc == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- platform and strictness


def full_repo(root: Path) -> Path:
    """Both modes, every KServe object kind, node caches on."""
    cache = {"localModelCache": {"nodeGroups": ["nvme"]}}
    repo = build_repo(
        root,
        environment("qa", kserve_model("scored", rollout=CANARY),
                    kserve_model("tagger", framework="onnx", replicas={"min": 0, "max": 2}),
                    kserve=kserve_settings("Knative", **cache)),
        environment("uat", kserve_model("scored", rollout=CANARY),
                    kserve=kserve_settings("Standard", **cache)),
        render=False, commit=False)
    (repo / "platform" / "kserve").mkdir(parents=True)
    return repo


def test_every_kserve_object_validates_strictly(tmp_path: Path, run_main: Any,
                                                crd_dir: Path) -> None:
    repo = full_repo(tmp_path / "repo")
    assert run_main("render", repo=repo).rc == 0
    kinds = {o["kind"] for env in ("qa", "uat") for o in of_kind(repo, "InferenceService", env)
             + of_kind(repo, "LocalModelCache", env)}
    assert kinds == {"InferenceService", "LocalModelCache"}
    result = run_main("validate", "--crds", str(crd_dir), repo=repo)
    assert result.rc == 0, result.stdout + result.stderr
    runtimes = sorted((repo / "platform" / "kserve" / "runtimes").glob("*.yaml"))
    assert [p.stem for p in runtimes] == sorted([KSERVE_SKLEARN_RUNTIME, KSERVE_TRITON_RUNTIME])
    result = run_main("validate", "--crds", str(crd_dir), *map(str, runtimes))
    assert result.rc == 0, result.stdout + result.stderr
    python, triton = (yaml.safe_load(p.read_text())["spec"] for p in runtimes)
    assert python["protocolVersions"] == triton["protocolVersions"] == ["v2"]
    assert {f["name"] for f in python["supportedModelFormats"]} == {"sklearn", "xgboost"}
    # Each server started the way KServe's own runtimes start it, on the model directory.
    assert "--model_dir=/mnt/models" in python["containers"][0]["args"]
    assert triton["containers"][0]["args"][:2] == ["tritonserver", "--model-store=/mnt/models"]
    assert triton["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert (python["annotations"]["prometheus.kserve.io/port"],
            triton["annotations"]["prometheus.kserve.io/port"]) == ("8080", "8002")


@pytest.mark.parametrize("kind", ["InferenceService", "LocalModelCache",
                                  "ClusterServingRuntime"])
def test_an_unknown_field_in_a_kserve_object_fails_validation(
        tmp_path: Path, run_main: Any, crd_dir: Path, kind: str) -> None:
    repo = full_repo(tmp_path / "repo")
    assert run_main("render", repo=repo).rc == 0
    if kind == "ClusterServingRuntime":
        obj = yaml.safe_load(next((repo / "platform" / "kserve" / "runtimes")
                                  .glob("*.yaml")).read_text())
    else:
        obj = of_kind(repo, kind)[0]
    obj["spec"]["storageUrl"] = "gs://typo/"
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(obj))
    result = run_main("validate", "--crds", str(crd_dir), str(path))
    assert result.rc == 1
    assert "spec.storageUrl: unknown field" in result.stdout


def test_rendering_is_deterministic_and_check_finds_it_current(tmp_path: Path,
                                                               run_main: Any) -> None:
    repo = full_repo(tmp_path / "repo")
    assert run_main("render", repo=repo).rc == 0
    first = snapshot(repo)
    assert run_main("render", repo=repo).rc == 0
    assert snapshot(repo) == first
    result = run_main("render", "--check", repo=repo)
    assert result.rc == 0, result.stdout + result.stderr
    stale = repo / "platform" / "kserve" / "runtimes" / f"{KSERVE_SKLEARN_RUNTIME}.yaml"
    stale.write_text(stale.read_text().replace('"1"', '"5"'))
    result = run_main("render", "--check", repo=repo)
    assert result.rc == 1 and KSERVE_SKLEARN_RUNTIME in result.stdout


# ---------------------------------------------------------------- node caches and history


def cached_uris(repo: Path) -> dict[str, str]:
    return {o["spec"]["sourceModelUri"]: o["metadata"]["annotations"]
            ["modelops.dev/cached-artifact"] for o in of_kind(repo, "LocalModelCache")}


def set_uri(repo: Path, version: int) -> None:
    spec = kserve_model("scored", artifact={"uri": uri("scored", version)})
    write_spec(repo, "qa", spec)


def cache_repo(root: Path) -> Path:
    settings = kserve_settings(localModelCache={"nodeGroups": ["nvme"]})
    return build_repo(root, environment("qa", kserve_model("scored"), kserve=settings))


def test_caches_hold_the_current_and_two_previous_artifacts_from_git_history(
        tmp_path: Path, run_main: Any) -> None:
    repo = cache_repo(tmp_path / "repo")
    assert cached_uris(repo) == {uri("scored", 1): "current"}
    for version in (2, 3, 4):
        set_uri(repo, version)
        assert run_main("render", repo=repo).rc == 0
        git(repo, "commit", "--quiet", "--all", "-m", f"scored v{version}")
    assert cached_uris(repo) == {uri("scored", 4): "current", uri("scored", 3): "previous-1",
                                 uri("scored", 2): "previous-2"}
    assert run_main("render", "--check", repo=repo).rc == 0
    # An uncommitted change renders what its commit will keep current.
    set_uri(repo, 2)
    assert run_main("render", repo=repo).rc == 0
    expected = {uri("scored", 2): "current", uri("scored", 4): "previous-1",
                uri("scored", 3): "previous-2"}
    assert cached_uris(repo) == expected
    git(repo, "commit", "--quiet", "--all", "-m", "back to v2")
    assert run_main("render", "--check", repo=repo).rc == 0
    assert cached_uris(repo) == expected
    names = {o["metadata"]["name"] for o in of_kind(repo, "LocalModelCache")}
    assert names == {kserve_cache.cache_name("models-qa", "scored", u) for u in expected}


def test_a_canary_candidate_is_cached_too(tmp_path: Path) -> None:
    settings = kserve_settings(localModelCache={"nodeGroups": ["nvme"]})
    repo = build_repo(tmp_path / "repo", environment(
        "qa", kserve_model("scored", rollout=CANARY), kserve=settings), commit=False)
    assert cached_uris(repo) == {uri("scored", 1): "current", uri("scored", 2): "candidate"}
    [cache] = [o for o in of_kind(repo, "LocalModelCache")
               if o["spec"]["sourceModelUri"] == uri("scored", 1)]
    assert cache["spec"] == {"sourceModelUri": uri("scored", 1), "modelSize": "100Mi",
                             "nodeGroups": ["nvme"]}
    assert "namespace" not in cache["metadata"]  # cluster-scoped


def test_outside_git_only_the_current_artifact_is_cached(tmp_path: Path, run_main: Any) -> None:
    repo = cache_repo(tmp_path / "repo")
    for version in (2, 3):
        set_uri(repo, version)
        git(repo, "commit", "--quiet", "--all", "-m", f"scored v{version}")
    exported = tmp_path / "exported"
    shutil.copytree(repo, exported, ignore=shutil.ignore_patterns(".git"))
    assert run_main("render", repo=exported).rc == 0
    assert cached_uris(exported) == {uri("scored", 3): "current"}


def test_a_shallow_clone_is_asked_for_its_history(tmp_path: Path, run_main: Any) -> None:
    repo = cache_repo(tmp_path / "repo")
    set_uri(repo, 2)
    assert run_main("render", repo=repo).rc == 0
    git(repo, "commit", "--quiet", "--all", "-m", "scored v2")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{repo}", str(clone)],
                   env={**os.environ, **GIT_ENV}, check=True, capture_output=True)
    before = snapshot(clone)
    result = run_main("render", "--check", repo=clone)
    assert result.rc == 2, result.stdout + result.stderr
    assert "shallow clone" in result.stderr and "--unshallow" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(clone) == before


def test_the_feature_environment_serves_every_kserve_case(feature_repo: Path) -> None:
    """The built environment every per-environment test meets holds a scale-to-zero model, a
    Triton model and a canary on KServe, with node caches, so no such test passes for want
    of a KServe object."""
    env = "built-features"
    services = {o["metadata"]["name"]: o["spec"]["predictor"]
                for o in of_kind(feature_repo, "InferenceService", env)}
    assert any(p["minReplicas"] == 0 for p in services.values())
    assert any(p["model"]["runtime"] == KSERVE_TRITON_RUNTIME for p in services.values())
    assert any("canaryTrafficPercent" in p for p in services.values())
    assert of_kind(feature_repo, "LocalModelCache", env)
    rules = {o["metadata"]["name"] for o in of_kind(feature_repo, "PrometheusRule", env)}
    assert "modelops-kserve-alerts" in rules
