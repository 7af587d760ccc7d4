"""`modelops validate FILE...`, and what happens when the CRD directory is missing or unusable.

Each test builds what it needs in tmp_path: manifest files, a CRD directory holding one real
CustomResourceDefinition (a `Widget`), and for `render`/`policy`/`check` a small git repository
with its own environment and model, so nothing depends on the sample environments.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO_ROOT, CliResult, run_cli

Run = Callable[..., CliResult]
LOCATED = re.compile(r"^\S+:\d+:\d+: ", re.MULTILINE)

WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"""

GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: apps}
data: {mode: fast}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: small, namespace: apps}
spec: {size: 3}
"""

# Document 2 (from line 6) has a wrong type, document 3 (from line 12) an unknown field.
BROKEN = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
data: {mode: fast}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: big}
spec:
  size: huge
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
spex: {}
"""

ENVIRONMENT = """\
apiVersion: modelops.dev/v1alpha1
kind: Environment
metadata:
  name: edge
spec:
  namespace: models-edge
  cluster: {name: edge-1, server: https://edge-1.example.internal}
  artifacts:
    allowedPrefixes: [gs://edge-models/]
    storageSecret: seldon-rclone-gcs
  servers:
    mlserver-cpu:
      runtime: mlserver
      replicas: 2
      memory: 8Gi
      cpu: "2"
      overcommitPercent: 50
      maxArtifactSize: 2Gi
  defaults:
    replicas: {min: 1, max: 2}
    memoryFactor: 1.5
  limits: {maxOvercommitPercent: 100, minReplicas: 1}
  alerts: {p99LatencyMs: 800, errorRatePercent: 1.0, loadBacklog: 50,
           kafkaLagMessages: 10000, kafkaLagSeconds: 300}
  kafka: {cluster: seldon, namespace: kafka, topicPrefix: seldon, partitions: 1,
          replicationFactor: 1, minInSyncReplicas: 1, retentionHours: 24}
  smoke: {image: ghcr.io/example/modelops:0.1.0, timeoutSeconds: 300}
  monitoring: {labels: {release: kube-prometheus-stack}}
"""

MODEL = """\
apiVersion: modelops.dev/v1alpha1
kind: ModelDeployment
metadata: {name: scorer, owner: team-a}
spec:
  artifact: {uri: gs://edge-models/scorer/v1, size: 100Mi}
  framework: sklearn
  server: mlserver-cpu
  smoke:
    inputs:
      - {name: predict, datatype: FP64, shape: [1, 2], data: [1.0, 2.0]}
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled validators go to tmp_path, not the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def crds(tmp_path: Path) -> Path:
    directory = tmp_path / "crds"
    directory.mkdir()
    (directory / "widgets.yaml").write_text(WIDGET_CRD, encoding="utf-8")
    return directory


@pytest.fixture
def fork(tmp_path: Path) -> Path:
    """A git repository with one environment and one model, laid out like a fork's."""
    root = tmp_path / "fork"
    models = root / "environments" / "edge" / "models"
    models.mkdir(parents=True)
    (root / "environments" / "edge" / "environment.yaml").write_text(ENVIRONMENT, "utf-8")
    (models / "scorer.yaml").write_text(MODEL, encoding="utf-8")
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _manifest(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_findings_name_the_file_the_line_and_the_field(tmp_path: Path, crds: Path,
                                                       run_main: Run) -> None:
    good = _manifest(tmp_path, "good.yaml", GOOD)
    broken = _manifest(tmp_path, "broken.yaml", BROKEN)
    result = run_main("validate", "--crds", str(crds), str(good), str(broken))
    assert result.rc == 1, result
    assert result.stdout.splitlines() == [
        f"{broken}:10:9: spec.size: expected integer, got string 'huge'",
        f"{broken}:15:7: spex: unknown field 'spex'",
    ]
    assert "2 schema problem(s) in 5 objects" in result.stderr


def test_valid_files_pass_outside_any_repository(tmp_path: Path, crds: Path) -> None:
    _manifest(tmp_path, "good.yaml", GOOD)
    result = run_cli("validate", "--crds", str(crds), "good.yaml", cwd=tmp_path)
    assert result.rc == 0, result
    assert result.stdout.strip() == "2 objects valid (strict)"


@pytest.mark.parametrize(("text", "expected"), [
    (None, r"missing\.yaml:1:1: \(document\): cannot read file: No such file"),
    ("kind: [\n", r"bad\.yaml:2:1: \(document\): not valid YAML: "),
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- 1\n",
     r"bad\.yaml:5:1: document 2: expected a Kubernetes object"),
    ("", r"bad\.yaml:1:1: \(document\): no Kubernetes object in the file"),
    (b"kind: \xff\n", r"bad\.yaml:1:1: \(document\): not UTF-8 text"),
])
def test_bad_files_exit_2_naming_the_file(tmp_path: Path, crds: Path, run_main: Run,
                                          text: str | bytes | None, expected: str) -> None:
    if text is None:
        path = tmp_path / "missing.yaml"
    else:
        path = tmp_path / "bad.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    good = _manifest(tmp_path, "good.yaml", GOOD)
    result = run_main("validate", "--crds", str(crds), str(good), str(path))
    assert result.rc == 2, result
    assert re.search(expected, result.stderr), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_deeply_nested_file_is_refused_not_crashed_on(tmp_path: Path, crds: Path) -> None:
    # In a subprocess: the failure this guards against is the interpreter crashing.
    _manifest(tmp_path, "deep.yaml", "a: " + "[" * 100_000 + "\n")
    result = run_cli("validate", "--crds", str(crds), "deep.yaml", cwd=tmp_path)
    assert result.rc == 2, result
    assert re.search(r"^deep\.yaml:1:\d+: \(document\): nested more than \d+ levels deep$",
                     result.stderr, re.MULTILINE), result.stderr


def test_policy_refuses_a_deeply_nested_file_too(tmp_path: Path, fork: Path) -> None:
    _manifest(tmp_path, "deep.yaml", "a: " + "{a: " * 100_000 + "\n")
    result = run_cli("policy", str(tmp_path / "deep.yaml"), cwd=fork)
    assert result.rc == 2, result
    assert "deep.yaml:1:" in result.stderr and "levels deep" in result.stderr


def test_files_and_env_together_are_a_usage_error(tmp_path: Path, crds: Path,
                                                  run_main: Run) -> None:
    good = _manifest(tmp_path, "good.yaml", GOOD)
    result = run_main("validate", "--crds", str(crds), "--env", "edge", str(good))
    assert result.rc == 2
    assert "give FILEs or --env, not both" in result.stderr


def _unusable(kind: str, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "no-such-dir"
    if kind == "a file":
        return _manifest(tmp_path, "crds.yaml", WIDGET_CRD)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")
    return empty


@pytest.mark.parametrize("kind", ["missing", "a file", "without CRDs"])
@pytest.mark.parametrize("via", ["--crds", "environment"])
@pytest.mark.parametrize("verb", [["validate", "FILE"], ["validate"], ["check"]])
def test_an_unusable_crd_directory_is_one_error_about_it(
        tmp_path: Path, fork: Path, monkeypatch: pytest.MonkeyPatch, run_main: Run,
        kind: str, via: str, verb: list[str]) -> None:
    directory = _unusable(kind, tmp_path)
    good = _manifest(tmp_path, "good.yaml", GOOD)
    args = [str(good) if a == "FILE" else a for a in verb]
    if via == "--crds":
        args += ["--crds", str(directory)]
    else:
        monkeypatch.setenv("MODELOPS_CRD_DIR", str(directory))
    result = run_main(*args, repo=fork)
    assert result.rc == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelops: error: "), result.stderr
    assert str(directory) in lines[0] and "strict schema validation needs the CRDs" in lines[0]
    assert not LOCATED.search(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize("verb", [["validate"], ["validate", "FILE"], ["check"]])
def test_without_a_crd_directory_schema_validation_says_it_needs_one(
        tmp_path: Path, fork: Path, monkeypatch: pytest.MonkeyPatch, run_main: Run,
        verb: list[str]) -> None:
    monkeypatch.delenv("MODELOPS_CRD_DIR", raising=False)
    good = _manifest(tmp_path, "good.yaml", GOOD)
    result = run_main(*[str(good) if a == "FILE" else a for a in verb], repo=fork)
    assert result.rc == 2, result
    assert result.stderr.startswith("modelops: error: no CRD directory; strict schema "
                                    "validation needs the CRDs: pass --crds DIR or set "
                                    "MODELOPS_CRD_DIR")


@pytest.mark.parametrize("crd_dir", [None, "nowhere"])
def test_render_policy_and_plan_run_without_the_crds(
        tmp_path: Path, fork: Path, monkeypatch: pytest.MonkeyPatch, crd_dir: str | None) -> None:
    """A fork outside this layout: no $MODELOPS_CRD_DIR, or one pointing nowhere."""
    if crd_dir is None:
        monkeypatch.delenv("MODELOPS_CRD_DIR", raising=False)
    else:
        monkeypatch.setenv("MODELOPS_CRD_DIR", str(tmp_path / crd_dir))
    rendered = run_cli("render", cwd=fork)
    assert rendered.rc == 0, rendered
    assert any((fork / "environments" / "edge" / "rendered").rglob("*.yaml"))
    judged = run_cli("policy", cwd=fork)
    assert judged.rc in (0, 1), judged
    count = re.search(r"^(\d+) object\(s\), \d+ deny", judged.stdout, re.MULTILINE)
    assert count is not None and int(count.group(1)) > 0, judged.stdout
    planned = run_cli("plan", cwd=fork)
    assert planned.rc == 0 and "1 of 1 models fully scheduled" in planned.stdout, planned
