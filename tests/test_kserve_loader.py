"""Loading KServe specs: what KServe cannot serve is a located error, deprecated names a warning.

Every repository here is built by `repo_builder`, so the cases hold in any fork. Errors must
name the file, line and field, exit 2, print no traceback and write nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CliResult, find_rendered, snapshot
from repo_builder import (
    KSERVE_SKLEARN_RUNTIME,
    build_repo,
    environment,
    kserve_model,
    kserve_settings,
    model,
    uri,
)

DIGEST = "a" * 64
MODEL_FILE = "environments/qa/models/{name}.yaml"
ENV_FILE = "environments/qa/environment.yaml"


def kserve_repo(root: Path, *models: dict[str, Any], mode: str = "Knative",
                **env: Any) -> Path:
    return build_repo(root, environment("qa", *models, kserve=kserve_settings(mode), **env),
                      render=False, commit=False)


def located(result: CliResult, path: str, field: str) -> str:
    """The one error line naming `path` and `field`, with a line number."""
    pattern = re.compile(rf"^{re.escape(path)}:(\d+):\d+: {re.escape(field)}: (.+)$", re.M)
    found = pattern.findall(result.stderr)
    assert found, f"no located error for {path} {field}:\n{result.stderr}"
    assert int(found[0][0]) > 1
    return str(found[0][1])


def assert_rejected(result: CliResult) -> None:
    assert result.rc == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


SELDON_ONLY = {
    "drift": {"reference": uri("scored-reference"), "referenceRows": 5000, "pValue": 0.01,
              "batchSize": 10},
    "explainer": {"type": "anchor_tabular", "uri": uri("scored-explainer")},
    "processing": {"pre": ["helper"]},
    "logger": {"percent": 5},
}


@pytest.mark.parametrize("field", sorted(SELDON_ONLY))
def test_a_seldon_only_field_on_a_kserve_model_is_a_located_error(
        tmp_path: Path, run_main: Any, field: str) -> None:
    repo = kserve_repo(tmp_path / "repo", model("helper"),
                       kserve_model("scored", **{field: SELDON_ONLY[field]}))
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert_rejected(result)
    message = located(result, MODEL_FILE.format(name="scored"), f"spec.{field}")
    assert "serve it with target: seldon" in message
    assert snapshot(repo) == before


def test_a_pipeline_step_served_by_kserve_is_a_located_error(tmp_path: Path,
                                                              run_main: Any) -> None:
    repo = kserve_repo(tmp_path / "repo", kserve_model("encoder"),
                       model("scorer", processing={"pre": ["encoder"]}))
    result = run_main("render", repo=repo)
    assert_rejected(result)
    message = located(result, MODEL_FILE.format(name="scorer"), "spec.processing.pre[0]")
    assert "'encoder' is served by KServe" in message and "target: seldon" in message


@pytest.mark.parametrize("bad", [
    "oci://registry.example.test/models/scorer:v1",
    "oci://registry.example.test/models/scorer",
    "oci://registry.example.test/models/scorer@sha256:abc",
    f"oci://registry.example.test/models/scorer@sha256:{'A' * 64}",
])
def test_an_oci_uri_must_be_pinned_by_digest(tmp_path: Path, run_main: Any, bad: str) -> None:
    repo = kserve_repo(tmp_path / "repo", kserve_model("scored", artifact={"uri": bad}),
                       artifacts={"allowedPrefixes": ["oci://registry.example.test/"]})
    result = run_main("render", repo=repo)
    assert_rejected(result)
    message = located(result, MODEL_FILE.format(name="scored"), "spec.artifact.uri")
    assert "sha256" in message and "digest" in message


def test_an_oci_digest_is_served_as_written(tmp_path: Path, run_main: Any) -> None:
    pinned = f"oci://registry.example.test/models/scorer@sha256:{DIGEST}"
    repo = kserve_repo(tmp_path / "repo", kserve_model("scored", artifact={"uri": pinned}),
                       artifacts={"allowedPrefixes": ["oci://registry.example.test/"]})
    result = run_main("render", repo=repo)
    assert result.rc == 0, result.stderr
    service = yaml.safe_load(find_rendered(repo, "qa", "InferenceService", "scored")
                             .read_text())
    assert service["spec"]["predictor"]["model"]["storageUri"] == pinned


@pytest.mark.parametrize(("alias", "current", "autoscaler"), [
    ("Serverless", "Knative", "kpa"), ("RawDeployment", "Standard", "hpa")])
def test_a_deprecated_mode_loads_with_a_warning_and_renders_its_current_name(
        tmp_path: Path, run_main: Any, alias: str, current: str, autoscaler: str) -> None:
    settings = kserve_settings(current, deploymentMode=alias, autoscaler=autoscaler)
    repo = build_repo(tmp_path / "repo",
                      environment("qa", kserve_model("scored"), kserve=settings),
                      render=False, commit=False, policies=True)
    result = run_main("render", repo=repo)
    assert result.rc == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if alias in line)
    assert re.match(rf"warning: {re.escape(ENV_FILE)}:\d+:\d+: spec.kserve.deploymentMode: ",
                    warning), warning
    assert f"rendered as {current!r}" in warning
    service = yaml.safe_load(find_rendered(repo, "qa", "InferenceService", "scored")
                             .read_text())
    assert service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == current
    checked = run_main("check", "--format", "json", repo=repo)
    assert checked.rc == 0, checked.stdout + checked.stderr
    assert any(alias in line for line in yaml.safe_load(checked.stdout)["deprecatedModes"])


def test_the_current_mode_name_gives_no_warning(tmp_path: Path, run_main: Any) -> None:
    repo = kserve_repo(tmp_path / "repo", kserve_model("scored"))
    result = run_main("render", repo=repo)
    assert result.rc == 0 and "deploymentMode" not in result.stderr


def test_one_runtime_name_defined_differently_in_two_environments_names_both_files(
        tmp_path: Path, run_main: Any) -> None:
    other = kserve_settings("Knative")
    other["runtimes"][KSERVE_SKLEARN_RUNTIME]["cpu"] = "3"
    repo = build_repo(tmp_path / "repo",
                      environment("qa", kserve_model("scored"), kserve=kserve_settings()),
                      environment("uat", kserve_model("scored"), kserve=other),
                      render=False, commit=False)
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert_rejected(result)
    message = located(result, "environments/uat/environment.yaml",
                      f"spec.kserve.runtimes.{KSERVE_SKLEARN_RUNTIME}")
    assert re.search(r"environments/qa/environment\.yaml:\d+", message), message
    assert snapshot(repo) == before


def test_the_same_runtime_in_two_environments_is_one_cluster_object(tmp_path: Path,
                                                                    run_main: Any) -> None:
    repo = build_repo(tmp_path / "repo",
                      environment("qa", kserve_model("scored"), kserve=kserve_settings()),
                      environment("uat", kserve_model("scored"),
                                  kserve=kserve_settings("Standard")),
                      render=False, commit=False)
    (repo / "platform" / "kserve").mkdir(parents=True)
    result = run_main("render", repo=repo)
    assert result.rc == 0, result.stderr
    runtime = (repo / "platform" / "kserve" / "runtimes" / f"{KSERVE_SKLEARN_RUNTIME}.yaml")
    text = runtime.read_text()
    assert "environments/qa/environment.yaml, environments/uat/environment.yaml" in text
    assert yaml.safe_load(text)["kind"] == "ClusterServingRuntime"


def test_explain_names_where_every_kserve_field_comes_from(tmp_path: Path,
                                                           run_main: Any) -> None:
    repo = kserve_repo(tmp_path / "repo", kserve_model("scored", replicas={"min": 0, "max": 3}))
    result = run_main("explain", "qa", "scored", "--format", "json", repo=repo)
    assert result.rc == 0, result.stderr
    text = result.stdout
    assert "InferenceService" in text
    for origin in ("spec.replicas.min", "spec.kserve.deploymentMode", "serving " + "sklearn"):
        assert origin in text, origin
    field = run_main("explain", "qa", "scored", "--field", "spec.predictor.model.runtime",
                     repo=repo)
    assert field.rc == 0, field.stderr
    assert KSERVE_SKLEARN_RUNTIME in field.stdout and "first runtime" in field.stdout


def test_a_kserve_model_name_leaves_room_for_the_names_kserve_derives(
        tmp_path: Path, run_main: Any) -> None:
    longest = "m" * 43  # + "-candidate-predictor" = 63 characters
    repo = kserve_repo(tmp_path / "repo", kserve_model(longest), kserve_model(longest + "x"))
    result = run_main("render", repo=repo)
    assert_rejected(result)
    message = located(result, MODEL_FILE.format(name=longest + "x"), "metadata.name")
    assert "-candidate-predictor" in message and "at most 43" in message
    assert MODEL_FILE.format(name=longest) not in result.stderr


# Each loader check of the target contract: (what the environment's spec.kserve is, the model
# specs, the file and field the error names, words the message must hold).
CONTRACT_CASES = {
    "kserve model without environment settings": (
        None, [kserve_model("scored")], MODEL_FILE, "spec.target", "has no spec.kserve"),
    "runtime the environment does not offer": (
        kserve_settings(), [kserve_model("scored", kserve={"runtime": "ghost"})], MODEL_FILE,
        "spec.kserve.runtime", "offers no KServe runtime 'ghost'"),
    "runtime that does not serve the framework": (
        kserve_settings(), [kserve_model("scored", framework="onnx",
                                         kserve={"runtime": KSERVE_SKLEARN_RUNTIME})],
        MODEL_FILE, "spec.kserve.runtime", "not onnx"),
    "framework no runtime serves": (
        kserve_settings(), [kserve_model("scored", framework="lightgbm")], MODEL_FILE,
        "spec.framework", "serves lightgbm"),
    "server pool on a kserve model": (
        kserve_settings(), [kserve_model("scored", server="cpu-pool")], MODEL_FILE,
        "spec.server", "remove spec.server"),
    "scale to zero on seldon": (
        kserve_settings(), [model("scored", replicas={"min": 0, "max": 2})], MODEL_FILE,
        "spec.replicas.min", "target: kserve"),
    "kserve settings on a seldon model": (
        kserve_settings(), [model("scored", kserve={"runtime": KSERVE_SKLEARN_RUNTIME})],
        MODEL_FILE, "spec.kserve", "served by Seldon"),
    "seldon model without a pool": (
        kserve_settings(), [kserve_model("scored", target="seldon")], MODEL_FILE,
        "spec.target", "needs spec.server"),
    "hpa in knative mode": (
        kserve_settings("Knative", autoscaler="hpa"), [kserve_model("scored")], ENV_FILE,
        "spec.kserve.autoscaler", "Knative mode uses kpa"),
    "kpa in standard mode": (
        kserve_settings("Standard", autoscaler="kpa"), [kserve_model("scored")], ENV_FILE,
        "spec.kserve.autoscaler", "Standard mode uses hpa, keda or external"),
    "knative without its version": (
        kserve_settings("Knative", knativeVersion=None), [kserve_model("scored")], ENV_FILE,
        "spec.kserve", "needs knativeVersion"),
}


@pytest.mark.parametrize("case", sorted(CONTRACT_CASES))
def test_each_target_contract_check_is_a_located_error(tmp_path: Path, run_main: Any,
                                                       case: str) -> None:
    settings, models, path, field, words = CONTRACT_CASES[case]
    extra = {} if settings is None else {"kserve": settings}
    repo = build_repo(tmp_path / "repo", environment("qa", *models, **extra),
                      render=False, commit=False)
    before = snapshot(repo)
    result = run_main("render", repo=repo)
    assert_rejected(result)
    assert words in located(result, path.format(name="scored"), field)
    assert snapshot(repo) == before
