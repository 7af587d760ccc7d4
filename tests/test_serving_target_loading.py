"""What a model's serving target asks of its spec and of environment.yaml, checked at load.

A Seldon model needs a server pool and cannot scale to zero; a KServe model needs the
environment's KServe settings and a runtime that serves its framework; an environment's mode
and autoscaler must be a pair KServe runs; batch URIs obey the artifact allowlist. Each broken
spec is reported with its file, line and field, and nothing renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from modelops.errors import InputError
from modelops.repository import Repository
from repo_builder import PREFIX, build_repo, environment, model

KSERVE = {
    "deploymentMode": "Knative",
    "autoscaler": "kpa",
    "knativeVersion": "1.19",
    "runtimes": {"sklearn-v2": {"image": "docker.io/kserve/sklearnserver:v0.20.0",
                                "formats": ["sklearn", "xgboost"], "cpu": "1"}},
}


def load(tmp_path: Path, *models: dict[str, Any], **env_spec: Any) -> Repository:
    repo = build_repo(tmp_path / "repo", environment("qa", *models, **env_spec), render=False,
                      commit=False)
    found = Repository.discover(repo)
    found.load_environment("qa")
    return found


def problems(tmp_path: Path, *models: dict[str, Any], **env_spec: Any) -> list[str]:
    with pytest.raises(InputError) as caught:
        load(tmp_path, *models, **env_spec)
    return [f"{p.field}: {p.message}" for p in caught.value.problems]


def test_kserve_model_with_the_environments_settings_loads(tmp_path: Path) -> None:
    load(tmp_path, model("scorer", target="kserve", server=None, replicas={"min": 0, "max": 2}),
         kserve=KSERVE)


def test_environment_default_target_applies_to_models_without_one(tmp_path: Path) -> None:
    found = problems(tmp_path, model("scorer"), defaultTarget="kserve", kserve=KSERVE)
    assert found == ["spec.server: a KServe model runs in its own pods, not on a Seldon server "
                     "pool: remove spec.server (or set target: seldon)"]


def test_seldon_model_needs_a_pool(tmp_path: Path) -> None:
    found = problems(tmp_path, model("scorer", server=None))
    assert len(found) == 1 and found[0].startswith("spec: a Seldon model needs spec.server")


def test_seldon_cannot_scale_to_zero(tmp_path: Path) -> None:
    found = problems(tmp_path, model("scorer", replicas={"min": 0, "max": 2}))
    assert found == ["spec.replicas.min: 0 is scale-to-zero, which Seldon Core 2 does not do: "
                     "set at least 1, or serve the model with target: kserve"]


def test_kserve_settings_on_a_seldon_model_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, model("scorer", kserve={"runtime": "sklearn-v2"}), kserve=KSERVE)
    assert [f.split(":")[0] for f in found] == ["spec.kserve"]


def test_kserve_model_needs_the_environments_settings(tmp_path: Path) -> None:
    found = problems(tmp_path, model("scorer", target="kserve", server=None))
    assert len(found) == 1 and found[0].startswith("spec.target: served by KServe, but ")


@pytest.mark.parametrize(("runtime", "framework", "expected"), [
    ("missing", "sklearn", "spec.kserve.runtime: "),
    ("sklearn-v2", "onnx", "spec.kserve.runtime: runtime 'sklearn-v2' serves sklearn, xgboost, "
                           "not onnx"),
    (None, "onnx", "spec.framework: no KServe runtime of "),
])
def test_runtime_must_be_offered_and_serve_the_framework(
        tmp_path: Path, runtime: str | None, framework: str, expected: str) -> None:
    spec: dict[str, Any] = {"target": "kserve", "server": None, "framework": framework}
    if runtime is not None:
        spec["kserve"] = {"runtime": runtime}
    found = problems(tmp_path, model("scorer", **spec), kserve=KSERVE)
    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.mark.parametrize(("settings", "expected"), [
    ({"autoscaler": "hpa"}, "spec.kserve.autoscaler: hpa scales Standard-mode deployments"),
    ({"deploymentMode": "Standard", "autoscaler": "kpa"}, "spec.kserve.autoscaler: kpa is "),
    ({"knativeVersion": None}, "spec.kserve: Knative mode needs knativeVersion"),
    ({"deploymentMode": "Serverless", "autoscaler": "keda"}, "spec.kserve.autoscaler: keda "),
])
def test_mode_and_autoscaler_must_be_a_pair_kserve_runs(
        tmp_path: Path, settings: dict[str, Any], expected: str) -> None:
    found = problems(tmp_path, model("scorer"), kserve={**KSERVE, **settings})
    assert len(found) == 1 and found[0].startswith(expected), found


def test_standard_mode_without_knative_version_loads(tmp_path: Path) -> None:
    load(tmp_path, model("scorer"), kserve={**KSERVE, "deploymentMode": "Standard",
                                             "autoscaler": "keda", "knativeVersion": None})


BATCH = {"schedule": "0 3 * * *", "input": f"{PREFIX}scorer/batch/in.jsonl",
         "output": f"{PREFIX}scorer/batch/out/"}


def test_batch_loads_with_uris_under_the_allowlist(tmp_path: Path) -> None:
    load(tmp_path, model("scorer", batch=BATCH))


@pytest.mark.parametrize(("change", "expected"), [
    ({"input": "s3://elsewhere/in.jsonl"}, "spec.batch.input: 's3://elsewhere/in.jsonl' is not "
                                           "under an allowed prefix"),
    ({"output": "gs://elsewhere/out/"}, "spec.batch.output: 'gs://elsewhere/out/' is not under "
                                        "an allowed prefix"),
    ({"output": f"{PREFIX}scorer/out"}, "spec.batch.output: "),
    ({"schedule": "0 3 * *"}, "spec.batch.schedule: "),
    ({"schedule": "0 25 * * *"}, "spec.batch.schedule: "),
])
def test_batch_errors_name_the_field(tmp_path: Path, change: dict[str, str],
                                     expected: str) -> None:
    found = problems(tmp_path, model("scorer", batch={**BATCH, **change}))
    assert len(found) == 1 and found[0].startswith(expected), found

