"""The in-process engines give the same findings, and a broken library fails loud.

- regorus (default) and regopy run in process on the real `.rego` files; they must agree on
  every sample environment and on environments broken to trip each policy. (Agreement with
  OPA, the reference, and the OPA-server backend: test_policy_reference.py.)
- malformed rules, findings on kinds a policy does not judge, copied packages: engine errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT
from modelops.gate.manifests import read_rendered
from modelops.policy import PolicyEngineError, PolicyLibrary, build_input, create_engine
from modelops.policy.engine import Context
from modelops.policy.library import VERDICT_RULE
from modelops.repository import Repository
from repo_builder import MLSERVER_POOL
from test_gate import LIVE, SMALL, _overcommit_400, container, edit_rendered

LIBRARY = PolicyLibrary.load(REPO_ROOT / "policies")


def environment_inputs(repo: Path) -> dict[str, Any]:
    repository = Repository(repo)
    return {env: build_input(list(read_rendered(repository, env).values()))
            for env in repository.environment_names()}


@pytest.fixture(scope="module")
def regopy_engine() -> Any:
    return create_engine(LIBRARY, "regopy")


@pytest.fixture(scope="module")
def regorus_engine() -> Any:
    return create_engine(LIBRARY, "regorus")


def test_engines_agree_on_the_sample_environments(regorus_engine: Any,
                                                   regopy_engine: Any) -> None:
    for env, document in environment_inputs(REPO_ROOT).items():
        assert regopy_engine.evaluate(document) == regorus_engine.evaluate(document), env


def test_engines_agree_on_broken_environments(tmp_path: Path, regorus_engine: Any,
                                              regopy_engine: Any) -> None:
    from test_gate import _gate_repo

    repo = _gate_repo(tmp_path / "repo")
    edit_rendered(repo, LIVE, "Server", MLSERVER_POOL, _overcommit_400)
    edit_rendered(repo, SMALL, "Server", MLSERVER_POOL,
                  lambda obj: container(obj, "agent")["env"][-1].update(value="150"))
    edit_rendered(repo, LIVE, "Model", "encoder",
                  lambda obj: obj["spec"].update(memory="90Gi"))
    total = 0
    for env, document in environment_inputs(repo).items():
        mine = regorus_engine.evaluate(document)
        assert regopy_engine.evaluate(document) == mine, env
        total += len(mine)
    assert total >= 2


def test_json_and_object_inputs_give_the_same_findings(tmp_path: Path,
                                                       regorus_engine: Any) -> None:
    from test_gate import _gate_repo

    repo = _gate_repo(tmp_path / "repo")
    edit_rendered(repo, LIVE, "Server", MLSERVER_POOL, _overcommit_400)
    document = environment_inputs(repo)[LIVE]
    findings = regorus_engine.evaluate(document)
    assert findings and findings == regorus_engine.evaluate_json(json.dumps(document))


def _library_with(root: Path, policies: dict[str, str]) -> PolicyLibrary:
    """The real helpers and these policies (folder name -> policy.rego)."""
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "kubernetes.rego").write_text(
        (REPO_ROOT / "policies/lib/kubernetes.rego").read_text())
    for name, source in policies.items():
        (root / name).mkdir()
        (root / name / "policy.rego").write_text(
            f"package modelops_policy_{name}\nimport rego.v1\nimport data.modelops_lib as lib\n"
            + source)
    return PolicyLibrary.load(root)


def test_a_malformed_rule_fails_loudly(tmp_path: Path) -> None:
    engine = create_engine(_library_with(tmp_path / "policies", {"sloppy": (
        'judges := {"ConfigMap"}\n'
        'deny contains "just a string" if { count(input.objects) > 0 }\n')}))
    with pytest.raises(PolicyEngineError, match=r"lib\.violation"):
        engine.evaluate(build_input([{"kind": "ConfigMap", "metadata": {"name": "x"}}]))


def test_a_policy_reporting_on_a_kind_it_does_not_judge_fails_loudly(tmp_path: Path) -> None:
    # The admission plugin leaves a policy out of reviews of kinds it does not judge, so a
    # finding on such a kind in CI would be one the cluster never makes.
    engine = create_engine(_library_with(tmp_path / "policies", {"servers": (
        'judges := {"Server"}\n'
        'deny contains lib.violation(m, "no") if { some m in data.modelops_lib.reviewed_models }\n'
    )}))
    with pytest.raises(PolicyEngineError, match=r"policy servers reports on a Model object, "
                                                r"but judges only Server"):
        engine.evaluate(build_input([{"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
                                      "metadata": {"name": "m"}}]))


def test_a_review_evaluates_only_the_policies_that_judge_its_kind(tmp_path: Path) -> None:
    # `servers` is broken (a bare string); a review of a Model never evaluates it.
    library = _library_with(tmp_path / "policies", {
        "servers": 'judges := {"Server"}\ndeny contains "broken" if { true }\n',
        "models": ('judges := {"Model"}\n'
                   'deny contains lib.violation(m, "seen") if '
                   '{ some m in data.modelops_lib.reviewed_models }\n')})
    assert library.verdict_rule("Model") == VERDICT_RULE + "_Model"
    assert library.verdict_rule("Experiment") is None   # no policy judges it: nothing to run
    engine = create_engine(library)
    context = Context.of(json.dumps({"environment": {}, "cluster": []}))
    model = {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
             "metadata": {"name": "m", "namespace": "n"}}
    document = json.dumps({"objects": [model], "context": {"id": context.id, "skip": -1}})
    [finding] = engine.evaluate_in_context(context, document, "Model")
    assert (finding.policy, finding.message) == ("models", "seen")
    assert engine.evaluate_in_context(context, document, "Experiment") == []
    with pytest.raises(PolicyEngineError, match="policy servers"):
        engine.evaluate_in_context(context, document)   # any kind: every policy


def test_a_policy_with_the_wrong_package_is_refused(tmp_path: Path) -> None:
    from modelops.errors import UsageError

    root = tmp_path / "policies"
    (root / "copied").mkdir(parents=True)
    (root / "copied" / "policy.rego").write_text(
        (REPO_ROOT / "policies/overcommit/policy.rego").read_text())
    with pytest.raises(UsageError, match=r"package must be modelops_policy_copied"):
        PolicyLibrary.load(root)


def test_opa_backend_reports_an_unreachable_server() -> None:
    with pytest.raises(PolicyEngineError, match=r"OPA server at http://127\.0\.0\.1:9"):
        create_engine(LIBRARY, opa_url="http://127.0.0.1:9")


def _server(name: str, namespace: str, containers: Any) -> dict[str, Any]:
    return {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "podSpec": {"containers": containers}}}


@pytest.mark.parametrize("objects", [
    [_server("pool", "a", [{"name": "mlserver"}]), _server("pool", "b", [{"name": "triton"}])],
    [_server("pool", "a", [{"name": "mlserver", "resources": {"requests": {"memory": "1Gi"}}},
                           {"name": "triton", "resources": {"requests": {"memory": "2Gi"}}}])],
    [_server("pool", "a", None)],
    [_server("pool", "a", [{"name": "agent", "env": None}])],
    [_server("pool", "a", [{"name": "agent", "env": [
        {"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": "lots"}]}])],
    [{"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "metadata": {"name": "m"},
      "spec": {"memory": "12 parsecs", "server": "pool", "storageUri": 7}}],
], ids=["duplicate-names", "two-inference-containers", "null-containers", "null-env",
        "unparseable-overcommit", "garbage-model"])
def test_odd_objects_never_abort_an_evaluation(objects: list[dict[str, Any]],
                                              regorus_engine: Any, regopy_engine: Any) -> None:
    """A hand-made object in the cluster must yield findings, never an engine error: the
    admission plugin evaluates whatever arrives, and an error there would block every request."""
    document = build_input(objects)
    findings = regorus_engine.evaluate(document)
    assert findings == regopy_engine.evaluate(document)
