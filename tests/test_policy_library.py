"""The Rego policy library under `policies/`, through the real engine (regorus, in process).

- structure: every policy folder has what `policies/README.md`'s checklist asks for, and a row
  in its table; the check itself is shown to fail on an incomplete folder;
- every `test_*` rule of every `policy_test.rego` is one pytest case, and each policy has some;
- every sample, alone with an empty environment: disallowed -> a deny from its own policy,
  allowed -> no deny from any policy; regopy returns the same findings as regorus;
- the committed sample environments (each `environments/<env>/rendered/` as one input) and the
  platform's own workloads under `platform/` pass every policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from modelops.errors import UsageError
from modelops.policy import (
    Finding,
    PolicyEngineError,
    PolicyLibrary,
    build_input,
    create_engine,
)
from modelops.policy import engine as engines
from modelops.policy.library import PACKAGE_PREFIX, judges_of

POLICIES = REPO_ROOT / "policies"
HELPERS = "lib"
TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]+)\s+if\b", re.MULTILINE)
PACKAGE = re.compile(r"^package\s+([A-Za-z0-9_.]+)", re.MULTILINE)
WORKLOAD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def policy_folders(root: Path = POLICIES) -> list[Path]:
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and p.name != HELPERS and not p.name.startswith("."))


POLICY_NAMES = [p.name for p in policy_folders()]


def structural_problems(root: Path) -> list[str]:
    """What each policy folder under `root` lacks, one line per missing piece."""
    problems = []
    index = root / "README.md"
    table = index.read_text(encoding="utf-8") if index.is_file() else ""
    for folder in policy_folders(root):
        name = folder.name
        policy = folder / "policy.rego"
        expected = PACKAGE_PREFIX + name.replace("-", "_")
        if not policy.is_file():
            problems.append(f"{name}: no policy.rego")
        else:
            match = PACKAGE.search(policy.read_text(encoding="utf-8"))
            if match is None or match.group(1) != expected:
                found = match.group(1) if match else "none"
                problems.append(f"{name}: policy.rego package is {found}, expected {expected}")
            try:
                judges_of(policy.read_text(encoding="utf-8"), policy)
            except UsageError as exc:
                problems.append(f"{name}: {str(exc).removeprefix(f'{policy}: ')}")
        tests = folder / "policy_test.rego"
        if not tests.is_file():
            problems.append(f"{name}: no policy_test.rego")
        elif not TEST_RULE.search(tests.read_text(encoding="utf-8")):
            problems.append(f"{name}: policy_test.rego has no test_ rule")
        for verdict in ("allowed", "disallowed"):
            samples = [*(folder / "samples" / verdict).glob("*.yaml"),
                       *(folder / "samples" / verdict).glob("*.yml")]
            if not samples:
                problems.append(f"{name}: no samples/{verdict}/*.yaml")
        readme = folder / "README.md"
        if not readme.is_file() or not readme.read_text(encoding="utf-8").strip():
            problems.append(f"{name}: no README.md")
        if f"[{name}]({name}/)" not in table:
            problems.append(f"{name}: no row in policies/README.md")
    return problems


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER)
            if isinstance(doc, dict)]


@cache
def library() -> PolicyLibrary:
    return PolicyLibrary.load(POLICIES)


@cache
def engine() -> engines.PolicyEngine:
    return create_engine(library(), "regorus")


def denies(findings: list[Finding]) -> list[str]:
    return [str(f) for f in findings if f.severity == "deny"]


# ---------------------------------------------------------------------------------- structure


def test_policy_library_has_policies() -> None:
    assert len(POLICY_NAMES) >= 7, POLICY_NAMES
    assert {"overcommit", "probe-windows", "drift", "artifacts", "alerts",
            "pod-security"} <= set(POLICY_NAMES)


def test_the_engines_read_lib_rules_by_their_full_path() -> None:
    # A policy reads `lib.models`; the engines are given `data.modelops_lib.models` (the same
    # rule), function calls and other names untouched (PolicyLibrary.modules).
    source = dict(library().modules())["policies/drift/policy.rego"]
    assert "data.modelops_lib.models" in source and "data.modelops_lib.reviewed_models" in source
    assert "lib.violation(" in source and "data.modelops_lib.violation" not in source
    assert "\tlib.models" not in source and " lib.reviewed_models" not in source
    own = (POLICIES / "drift" / "policy.rego").read_text(encoding="utf-8")
    assert "lib.reviewed_models" in own
    assert own.count("data.modelops_lib") == 1   # the import


def test_policies_read_lib_through_its_import() -> None:
    # One way to reach the helpers: `import data.modelops_lib as lib`, then `lib.<name>`.
    offenders = [f"{p.directory.name}/{path.name}:{n}"
                 for p in library().policies
                 for path in (p.directory / "policy.rego", *p.tests)
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "data.modelops_lib" in line and not line.startswith("import ")]
    assert offenders == [], "write lib.<name>, not data.modelops_lib.<name>: " + ", ".join(
        offenders)


def test_every_policy_folder_is_complete() -> None:
    problems = structural_problems(POLICIES)
    assert problems == [], "incomplete policy folders:\n" + "\n".join(problems)


def test_structural_check_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "README.md").write_text("| [complete](complete/) | x | |\n")
    complete = tmp_path / "complete"
    for verdict in ("allowed", "disallowed"):
        (complete / "samples" / verdict).mkdir(parents=True)
        (complete / "samples" / verdict / "a.yaml").write_text("kind: Model\n")
    (complete / "policy.rego").write_text("package modelops_policy_complete\n\n"
                                          'judges := {"Model"}\n')
    (complete / "policy_test.rego").write_text("package x\n\ntest_a if {\n\ttrue\n}\n")
    (complete / "README.md").write_text("# complete\n")
    assert structural_problems(tmp_path) == []

    broken = tmp_path / "half-done"
    (broken / "samples" / "allowed").mkdir(parents=True)
    (broken / "samples" / "allowed" / "a.yaml").write_text("kind: Model\n")
    (broken / "policy.rego").write_text("package modelops_policy_half\n")
    (broken / "policy_test.rego").write_text("package x\n\n# test_a if { true }\n")
    assert structural_problems(tmp_path) == [
        "half-done: policy.rego package is modelops_policy_half, "
        "expected modelops_policy_half_done",
        'half-done: declare the kinds the policy reports on, as a literal set: '
        'judges := {"Model", "Server"}',
        "half-done: policy_test.rego has no test_ rule",
        "half-done: no samples/disallowed/*.yaml",
        "half-done: no README.md",
        "half-done: no row in policies/README.md",
    ]
    (broken / "policy.rego").unlink()
    (broken / "policy_test.rego").unlink()
    assert structural_problems(tmp_path)[:2] == ["half-done: no policy.rego",
                                                 "half-done: no policy_test.rego"]


# ----------------------------------------------------------------------------- Rego unit tests


def _rego_tests() -> tuple[list[engines.TestResult], str]:
    """Every Rego test result, or the reason the library does not compile (reported, not raised,
    so a broken policy fails a test instead of the whole module's collection)."""
    try:
        return engines.RegorusEngine(library(), with_tests=True).run_tests(), ""
    except (PolicyEngineError, UsageError) as exc:
        return [], str(exc)


REGO_RESULTS, REGO_ERROR = _rego_tests()


def _policy_of(result: engines.TestResult) -> str:
    return Path(result.file).parts[1]


def test_library_compiles_with_its_tests() -> None:
    assert REGO_ERROR == ""


@pytest.mark.parametrize("result", REGO_RESULTS,
                         ids=[f"{_policy_of(r)}::{r.name}" for r in REGO_RESULTS])
def test_rego(result: engines.TestResult) -> None:
    assert result.passed, f"{result.file} {result.name}: {result.detail}"


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_every_policy_has_rego_tests_collected(policy: str) -> None:
    collected = [r for r in REGO_RESULTS if _policy_of(r) == policy]
    assert len(collected) > 0, f"no Rego test of {policy} was collected"
    declared = TEST_RULE.findall((POLICIES / policy / "policy_test.rego").read_text("utf-8"))
    assert sorted(r.name for r in collected) == sorted(declared)


# ---------------------------------------------------------------------------------------- samples


def _samples() -> Iterator[Any]:
    for folder in policy_folders():
        for verdict in ("allowed", "disallowed"):
            for path in sorted((folder / "samples" / verdict).glob("*.y*ml")):
                yield pytest.param(folder.name, verdict, path,
                                   id=f"{folder.name}/{verdict}/{path.name}")


SAMPLES = list(_samples())


def test_samples_were_collected() -> None:
    assert len(SAMPLES) >= 2 * len(POLICY_NAMES)


@pytest.mark.parametrize(("policy", "verdict", "path"), SAMPLES)
def test_sample(policy: str, verdict: str, path: Path) -> None:
    objects = load_documents(path)
    assert objects, f"{path}: no manifests"
    findings = engine().evaluate(build_input(objects, environment={}))
    if verdict == "disallowed":
        own = [f for f in findings if f.severity == "deny" and f.policy == policy]
        assert own, f"{path} must be denied by {policy}; got {[str(f) for f in findings]}"
    else:
        assert denies(findings) == [], f"{path} must pass every policy"


@cache
def regopy_engine() -> engines.PolicyEngine:
    return create_engine(library(), "regopy")


@pytest.mark.parametrize(("policy", "verdict", "path"), SAMPLES)
def test_sample_findings_are_engine_independent(policy: str, verdict: str, path: Path) -> None:
    # Same findings, messages included, from regopy: a message must not depend on how an
    # engine formats values (and regopy breaks its own JSON output on some strings).
    document = build_input(load_documents(path), environment={})
    assert regopy_engine().evaluate(document) == engine().evaluate(document)


# ------------------------------------------------------------ the committed sample environments


ENVIRONMENTS = sorted(p.parent.name for p in (REPO_ROOT / "environments").glob("*/rendered"))


def test_sample_environments_exist() -> None:
    assert ENVIRONMENTS, "no environments/*/rendered"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_sample_environment_passes_every_policy(env: str) -> None:
    objects = [doc for path in sorted((REPO_ROOT / "environments" / env / "rendered")
                                      .rglob("*.yaml"))
               for doc in load_documents(path)]
    document = build_input(objects)
    # The environment's own thresholds apply (read from its rendered settings ConfigMap).
    assert document["environment"].get("metadata", {}).get("name") == env
    kinds = {obj["kind"] for obj in objects}
    assert {"Server", "Model", "PrometheusRule", "Job"} <= kinds, kinds
    assert denies(engine().evaluate(document)) == []


def _platform_workloads() -> list[dict[str, Any]]:
    found = []
    for path in sorted((REPO_ROOT / "platform").rglob("*.y*ml")):
        try:
            documents = load_documents(path)
        except yaml.YAMLError:
            continue   # templates (Helm, Lua test data) are not manifests
        found += [doc for doc in documents if doc.get("kind") in WORKLOAD_KINDS
                  and isinstance(doc.get("apiVersion"), str)]
    return found


def test_platform_workloads_pass_pod_security() -> None:
    workloads = _platform_workloads()
    if not workloads:
        pytest.skip("no Pod/Deployment/Job/... manifests under platform/ yet")
    findings = engine().evaluate(build_input(workloads, environment={}))
    assert [str(f) for f in findings
            if f.severity == "deny" and f.policy == "pod-security"] == []
