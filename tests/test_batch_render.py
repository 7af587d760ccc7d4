"""The CronJob a model's `spec.batch` renders to, on repositories built here.

Seldon models are called through the mesh with the `seldon-model` header (the Pipeline's route
when one carries the traffic), KServe models at their predictor with no header; every spec field
reaches its runner argument, retries share the Job name as run id, the pod is the smoke Job's
restricted pod, the object validates strictly and renders byte-identically every time, and
`explain` names where each argument came from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import find_rendered, run_cli, snapshot
from modelops.cli import build_parser
from modelops.objects import WAVES
from repo_builder import PREFIX, build_repo, environment, model, render_repo

SMOKE = {"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 3],
                     "data": [0.1, 0.2, 0.3]}]}
NIGHTLY = {"schedule": "30 2 * * *", "input": f"{PREFIX}scores-in/2026-12.csv",
           "output": f"{PREFIX}scores-out/"}
KSERVE = {"deploymentMode": "Knative", "autoscaler": "kpa", "knativeVersion": "1.19",
          "runtimes": {"kserve-sklearnserver": {
              "image": "docker.io/kserve/sklearnserver:v0.15.0", "formats": ["sklearn"],
              "cpu": "1"}}}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def cronjob(repo: Path, env: str, name: str) -> Any:
    return load(find_rendered(repo, env, "CronJob", f"batch-{name}"))


def pod(obj: Any) -> Any:
    return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def args_of(obj: Any) -> list[str]:
    containers = pod(obj)["containers"]
    assert [c["name"] for c in containers] == ["batch"]
    args: list[str] = containers[0]["args"]
    return args


def options(args: list[str]) -> dict[str, list[str]]:
    """`--flag value` pairs of a `batch run` command line, each flag with all its values."""
    assert args[:2] == ["batch", "run"]
    found: dict[str, list[str]] = {}
    rest = args[2:]
    assert len(rest) % 2 == 0, rest
    for flag, value in zip(rest[::2], rest[1::2], strict=True):
        assert flag.startswith("--") and not value.startswith("--"), (flag, value)
        found.setdefault(flag, []).append(value)
    return found


@pytest.fixture(scope="module")
def seldon_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = (
        model("scorer", smoke=SMOKE, batch=NIGHTLY),
        model("encoder"),
        model("ranker", processing={"pre": ["encoder"]},
              batch={"schedule": "0 */6 * * *", "input": f"{PREFIX}rank-in/",
                     "format": "jsonl", "output": f"{PREFIX}rank-out/", "batchSize": 256,
                     "concurrency": 16, "timeoutSeconds": 120, "deadlineSeconds": 7200,
                     "maxFailures": 10}),
    )
    return build_repo(tmp_path_factory.mktemp("seldon") / "repo", environment("qa", *models),
                      commit=False)


def test_seldon_cronjob_calls_the_mesh_with_the_model_header(seldon_repo: Path) -> None:
    obj = cronjob(seldon_repo, "qa", "scorer")
    assert obj["apiVersion"] == "batch/v1"
    assert obj["metadata"]["namespace"] == "models-qa"
    found = options(args_of(obj))
    assert found["--url"] == ["seldon-mesh.models-qa:80"]
    assert found["--model"] == ["scorer"]
    assert found["--header"] == ["seldon-model=scorer"]
    assert found["--protocol"] == ["http"]
    assert found["--input"] == [NIGHTLY["input"]]
    assert found["--output"] == [NIGHTLY["output"]]
    # CSV by the extension; tensor name and datatype from the only smoke input.
    assert found["--input-format"] == ["csv"]
    assert found["--input-name"] == ["features"]
    assert found["--datatype"] == ["FP64"]
    assert found["--batch-size"] == ["64"] and found["--concurrency"] == ["4"]
    assert found["--timeout"] == ["60"] and found["--max-failures"] == ["0"]


def test_every_batch_field_reaches_the_cronjob(seldon_repo: Path) -> None:
    obj = cronjob(seldon_repo, "qa", "ranker")
    found = options(args_of(obj))
    # The Pipeline carries a model with processing steps: the header routes to it.
    assert found["--header"] == ["seldon-model=ranker-pipeline.pipeline"]
    assert found["--input-format"] == ["jsonl"]
    assert "--input-name" not in found and "--datatype" not in found
    assert (found["--batch-size"], found["--concurrency"], found["--timeout"],
            found["--max-failures"]) == (["256"], ["16"], ["120"], ["10"])
    assert obj["spec"]["schedule"] == "0 */6 * * *"
    assert obj["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 7200


def test_runs_never_overlap_and_retries_resume_the_same_run(seldon_repo: Path) -> None:
    obj = cronjob(seldon_repo, "qa", "scorer")
    spec = obj["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 3600  # spec.batch.deadlineSeconds' default
    assert job["backoffLimit"] >= 1
    assert pod(obj)["restartPolicy"] == "Never"
    # Bad input (exit 2) fails the Job at once; an evicted pod is retried without counting.
    rules = job["podFailurePolicy"]["rules"]
    assert {"action": "FailJob", "onExitCodes": {"containerName": "batch", "operator": "In",
                                                 "values": [2]}} in rules
    run_id = options(args_of(obj))["--run-id"]
    variable = pod(obj)["containers"][0]["env"]
    assert run_id == ["$(MODELOPS_BATCH_RUN_ID)"]
    assert variable == [{"name": "MODELOPS_BATCH_RUN_ID", "valueFrom": {"fieldRef": {
        "fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}}]


def test_the_pod_is_the_smoke_jobs_restricted_pod(seldon_repo: Path) -> None:
    batch = pod(cronjob(seldon_repo, "qa", "scorer"))
    smoke_job = load(find_rendered(seldon_repo, "qa", "Job", "smoke-scorer"))
    smoke = smoke_job["spec"]["template"]["spec"]
    assert batch["securityContext"] == smoke["securityContext"]
    assert batch["automountServiceAccountToken"] is False
    mine, theirs = batch["containers"][0], smoke["containers"][0]
    for key in ("image", "resources", "securityContext"):
        assert mine[key] == theirs[key], key
    assert mine["volumeMounts"] == [m for m in theirs["volumeMounts"] if m["name"] == "tmp"]
    assert batch["volumes"] == [v for v in smoke["volumes"] if v["name"] == "tmp"]


def test_the_cronjob_syncs_after_the_model_and_names_its_source(seldon_repo: Path) -> None:
    obj = cronjob(seldon_repo, "qa", "scorer")
    annotations = obj["metadata"]["annotations"]
    assert int(annotations["argocd.argoproj.io/sync-wave"]) > max(
        WAVES["Model"], WAVES["Pipeline"], WAVES["Experiment"])
    assert "argocd.argoproj.io/hook" not in annotations  # a long-lived object, not a hook
    assert annotations["modelops.dev/source"] == "environments/qa/models/scorer.yaml"
    labels = obj["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "scorer"
    assert labels["modelops.dev/owner"] == "test-ml"
    assert obj["spec"]["jobTemplate"]["metadata"]["labels"] == labels


def test_models_without_batch_get_no_cronjob(seldon_repo: Path) -> None:
    rendered = seldon_repo / "environments" / "qa" / "rendered"
    kinds = {(load(p)["kind"], load(p)["metadata"]["name"]) for p in rendered.rglob("*.yaml")}
    assert {name for kind, name in kinds if kind == "CronJob"} == {"batch-scorer",
                                                                   "batch-ranker"}


def test_rendering_is_deterministic(seldon_repo: Path, tmp_path: Path) -> None:
    rendered = seldon_repo / "environments" / "qa" / "rendered"
    before = snapshot(rendered)
    render_repo(seldon_repo, "qa")
    assert snapshot(rendered) == before
    # A second repository built from the same specs renders the same bytes.
    twin = build_repo(tmp_path / "twin", environment("qa", *[
        load(p) for p in sorted((seldon_repo / "environments" / "qa" / "models").glob("*.yaml"))]),
        commit=False)
    assert snapshot(twin / "environments" / "qa" / "rendered") == before


def test_explain_names_where_each_argument_came_from(seldon_repo: Path) -> None:
    result = run_cli("explain", "qa", "scorer", "--format", "json", "--field", "spec",
                     repo=seldon_repo)
    assert result.rc == 0, result.stderr
    objects = json.loads(result.stdout)["objects"]
    fields = {f["value"]: f for o in objects if o["kind"] == "CronJob" for f in o["fields"]
              if isinstance(f["value"], str)}
    assert fields[NIGHTLY["input"]]["origin"] == "spec.batch.input"
    assert fields[NIGHTLY["output"]]["origin"] == "spec.batch.output"
    assert fields["30 2 * * *"]["origin"] == "spec.batch.schedule"
    assert "extension of spec.batch.input" in fields["csv"]["origin"]
    assert fields["features"]["origin"].startswith("spec.smoke.inputs[0].name")
    assert fields["FP64"]["origin"].startswith("spec.smoke.inputs[0].datatype")
    assert fields["seldon-mesh.models-qa:80"]["source"] == "derived"
    assert fields["Forbid"]["source"] == "platform"


def test_the_runner_takes_every_argument(seldon_repo: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The args parse with the real `modelops` parser, once the runner's verb is installed."""
    parser = build_parser()
    try:
        parser.parse_args(["batch", "run", "--help"])
    except SystemExit as stopped:
        if stopped.code != 0:
            pytest.skip("`modelops batch run` (plugins/modelops_plugins/batch) is not "
                        "installed in this checkout")
    capsys.readouterr()
    for name in ("scorer", "ranker"):
        job = f"batch-{name}-29400000"  # what the downward API hands the pod
        args = [a.replace("$(MODELOPS_BATCH_RUN_ID)", job) for a in
                args_of(cronjob(seldon_repo, "qa", name))]
        parsed = parser.parse_args(args)
        assert (parsed.url, parsed.model, parsed.run_id) == ("seldon-mesh.models-qa:80",
                                                            name, job)
        assert parsed.input.startswith(PREFIX) and parsed.output.startswith(PREFIX)


@pytest.mark.skipif(not os.environ.get("MODELOPS_CRD_DIR"),
                    reason="strict validation needs the CRDs: set MODELOPS_CRD_DIR")
def test_the_cronjob_validates_strictly(seldon_repo: Path) -> None:
    result = run_cli("validate", repo=seldon_repo)
    assert result.rc == 0, result.stdout + result.stderr


def test_kserve_cronjob_calls_the_predictor_without_a_header(tmp_path: Path) -> None:
    models = (model("ranker", server=None, replicas={"min": 0, "max": 2},
                    batch={"schedule": "15 4 * * 1-5", "input": f"{PREFIX}in/day.npy",
                           "output": f"{PREFIX}out/", "inputName": "x", "datatype": "FP32",
                           "timeoutSeconds": 300}),)
    repo = build_repo(tmp_path / "repo", environment("kq", *models, defaultTarget="kserve",
                                                     kserve=KSERVE), commit=False)
    found = options(args_of(cronjob(repo, "kq", "ranker")))
    assert found["--url"] == ["ranker-predictor.models-kq:80"]
    assert "--header" not in found
    assert found["--model"] == ["ranker"]
    assert found["--input-format"] == ["npy"]
    assert (found["--input-name"], found["--datatype"]) == (["x"], ["FP32"])
    assert found["--timeout"] == ["300"]
