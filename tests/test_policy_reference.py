"""OPA is the reference engine: every other engine must judge exactly as OPA's own does.

OPA's Go engine runs in process (`opa-golib-python-bindings`). Wherever the library is judged,
regorus (what CI and the admission plugin use) must give OPA's answer:

- every `test_*` rule of every `*_test.rego`: passes on both, and a disagreement is reported by
  `modelops policy --test` with both answers (shown on a policy written to disagree);
- every policy sample, every committed rendered environment, and every upstream Seldon sample
  under `$MODELOPS_CRD_DIR/seldon-core-v2/samples`: identical findings, messages included;
- every sample again with each field of each object removed in turn: a missing field is where
  engines part ways (OPA evaluates the arguments of a call under `not` outside the negation);
- the `--opa-url` backend, against an HTTP server that answers OPA's REST API with OPA's engine.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from conftest import REPO_ROOT, run_cli
from modelops.policy import PolicyEngine, PolicyLibrary, build_input, create_engine
from modelops.policy.engine import OpaEngine, RegorusEngine
from modelops.policy.library import VERDICT_RULE
from opa_bindings import OpaEngine as GoEngine
from opa_bindings import OpaUndefinedError

POLICIES = REPO_ROOT / "policies"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def library() -> PolicyLibrary:
    return PolicyLibrary.load(POLICIES)


@cache
def opa() -> PolicyEngine:
    return create_engine(library(), "opa")


@cache
def regorus() -> PolicyEngine:
    return create_engine(library(), "regorus")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER)
            if isinstance(d, dict)]


def assert_same_findings(document: Any, where: str) -> None:
    reference = opa().evaluate(document)
    other = regorus().evaluate(document)
    assert other == reference, (
        f"{where}: regorus and OPA disagree\n  opa:     {[str(f) for f in reference]}\n"
        f"  regorus: {[str(f) for f in other]}")


# ------------------------------------------------------------------------------- unit tests


def test_every_rego_test_passes_on_opa_and_regorus_alike() -> None:
    reference = OpaEngine(library(), with_tests=True).run_tests()
    other = {(r.file, r.name): r for r in RegorusEngine(library(), with_tests=True).run_tests()}
    assert len(reference) == len(other) == len(library().tests()) > 0
    disagreements = [f"{r.file} {r.name}: opa {r.passed} ({r.detail}), regorus "
                     f"{other[(r.file, r.name)].passed} ({other[(r.file, r.name)].detail})"
                     for r in reference if r.passed != other[(r.file, r.name)].passed]
    assert disagreements == []
    assert [f"{r.file} {r.name}: {r.detail}" for r in reference if not r.passed] == []


def _policy_repo(root: Path, policy: str, tests: str) -> Path:
    """A repository whose library is the real `lib` and one policy `odd` with these tests."""
    (root / "policies" / "lib").mkdir(parents=True)
    (root / "policies" / "lib" / "kubernetes.rego").write_text(
        (POLICIES / "lib" / "kubernetes.rego").read_text(encoding="utf-8"), encoding="utf-8")
    folder = root / "policies" / "odd"
    folder.mkdir()
    header = "import rego.v1\n\nimport data.modelops_lib as lib\n\n"
    (folder / "policy.rego").write_text(
        f"package modelops_policy_odd\n\n{header}judges := {{\"Model\"}}\n\n{policy}",
        encoding="utf-8")
    (folder / "policy_test.rego").write_text(
        f"package modelops_policy_odd_test\n\n{header}import data.modelops_policy_odd as odd\n\n"
        f"{tests}", encoding="utf-8")
    (root / "environments").mkdir()
    return root


def test_policy_test_reports_a_disagreement_with_both_answers(tmp_path: Path) -> None:
    # The form OPA's documentation warns about: the call's argument is undefined.
    repo = _policy_repo(tmp_path / "repo",
                        'unlabelled(m) if not startswith(m.metadata.labels.team, "x")\n',
                        'test_agrees if {\n'
                        '\todd.unlabelled({"metadata": {"labels": {"team": "y"}}})\n}\n'
                        'test_differs if { odd.unlabelled({"metadata": {}}) }\n')
    result = run_cli("policy", "--test", repo=repo)
    assert result.rc == 1, result
    assert "PASS policies/odd/policy_test.rego test_agrees" in result.stdout
    assert ("DISAGREE policies/odd/policy_test.rego test_differs: opa fails (evaluated to "
            "undefined or false), regorus passes") in result.stdout
    assert "1 passed, 1 failed (opa and regorus)" in result.stdout


def test_policy_test_coverage_is_opa_tests(tmp_path: Path) -> None:
    repo = _policy_repo(tmp_path / "repo",
                        'named(m) if m.metadata.name == "a"\n\nlabelled(m) if m.metadata.labels\n',
                        'test_named if { odd.named({"metadata": {"name": "a"}}) }\n')
    result = run_cli("policy", "--test", "--coverage", "--format", "json", repo=repo)
    assert result.rc == 0, result
    report = json.loads(result.stdout)
    policy = report["files"]["policies/odd/policy.rego"]
    covered_rows = {r["start"]["row"] for r in policy["covered"]}
    missed_rows = {r["start"]["row"] for r in policy["not_covered"]}
    source = (repo / "policies/odd/policy.rego").read_text().splitlines()
    assert source[min(covered_rows) - 1].startswith("named(m)")
    assert any(source[row - 1].startswith("labelled(m)") for row in missed_rows)
    assert 0 < policy["coverage"] < 100
    assert not any(path.startswith("<generated>") for path in report["files"])
    text = run_cli("policy", "--test", "--coverage", repo=repo).stdout
    assert f"coverage {policy['coverage']:6.2f}% policies/odd/policy.rego" in text


def test_coverage_without_test_is_a_usage_error(tmp_path: Path) -> None:
    repo = _policy_repo(tmp_path / "repo", "", "")
    result = run_cli("policy", "--coverage", repo=repo)
    assert result.rc == 2 and "--coverage goes with --test" in result.stderr


# ------------------------------------------------------------------------- samples and trees


def _samples() -> list[Path]:
    return sorted(POLICIES.glob("*/samples/*/*.y*ml"))


@pytest.mark.parametrize("path", _samples(), ids=lambda p: str(p.relative_to(POLICIES)))
def test_sample_is_judged_as_opa_judges_it(path: Path) -> None:
    assert_same_findings(build_input(documents(path), environment={}), str(path))


def _rendered_environments() -> list[Path]:
    return sorted((REPO_ROOT / "environments").glob("*/rendered"))


def test_rendered_environments_exist() -> None:
    assert _rendered_environments(), "no environments/*/rendered to judge"


@pytest.mark.parametrize("rendered", _rendered_environments(), ids=lambda p: p.parent.name)
def test_rendered_environment_is_judged_as_opa_judges_it(rendered: Path) -> None:
    objects = [d for path in sorted(rendered.rglob("*.yaml")) for d in documents(path)]
    assert_same_findings(build_input(objects), str(rendered))


def _upstream_samples() -> list[Path]:
    root = Path(os.environ.get("MODELOPS_CRD_DIR", REPO_ROOT.parent / "shared" / "crds"))
    return sorted((root / "seldon-core-v2" / "samples").rglob("*.yaml"))


def test_upstream_samples_are_there() -> None:
    if not _upstream_samples():
        pytest.skip("no seldon-core-v2/samples under $MODELOPS_CRD_DIR (upstream fixtures)")
    assert len(_upstream_samples()) >= 5


@pytest.mark.parametrize("path", _upstream_samples(), ids=lambda p: p.name)
def test_upstream_sample_is_judged_as_opa_judges_it(path: Path) -> None:
    assert_same_findings(build_input(documents(path), environment={}), str(path))


def field_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every mapping key and list item under `value`, parents first."""
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, child in items:
        yield (*prefix, key)
        yield from field_paths(child, (*prefix, key))


def without(obj: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(obj)
    parent: Any = copied
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return copied


def test_field_paths_reach_every_field() -> None:
    paths = list(field_paths({"a": {"b": [1, {"c": 2}]}}))
    assert paths == [("a",), ("a", "b"), ("a", "b", 0), ("a", "b", 1), ("a", "b", 1, "c")]
    assert without({"a": {"b": [1, {"c": 2}]}}, ("a", "b", 1, "c")) == {"a": {"b": [1, {}]}}


@pytest.mark.parametrize("path", _samples(), ids=lambda p: str(p.relative_to(POLICIES)))
def test_sample_with_a_field_missing_is_judged_as_opa_judges_it(path: Path) -> None:
    objects = documents(path)
    judged = 0
    for index, obj in enumerate(objects):
        for field in field_paths(obj):
            mutated = [*objects[:index], without(obj, field), *objects[index + 1:]]
            assert_same_findings(build_input(mutated, environment={}),
                                 f"{path} with {'.'.join(map(str, field))} of object "
                                 f"{index} removed")
            judged += 1
    assert judged > 0


# ----------------------------------------------------------------- the OPA server backend


class _OpaServer(BaseHTTPRequestHandler):
    """OPA's REST API for policies and data (PUT /v1/policies/{id}, POST /v1/data/{path}),
    answered by OPA's own engine loaded with every policy uploaded so far."""

    modules: ClassVar[dict[str, str]] = {}
    queries: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_PUT(self) -> None:
        if not self.path.startswith("/v1/policies/"):
            self._reply(404, {"code": "resource_not_found"})
            return
        self.modules[self.path.removeprefix("/v1/policies/")] = self._body().decode()
        self._reply(200, {})

    def do_POST(self) -> None:
        if not self.path.startswith("/v1/data/"):
            self._reply(404, {"code": "resource_not_found"})
            return
        path = self.path.removeprefix("/v1/data/").replace("/", ".")
        self.queries.append(f"data.{path}")
        engine = GoEngine()
        for name, source in sorted(self.modules.items()):
            engine.add_policy(name, source)
        try:
            value = engine.eval_document(path, json.loads(self._body())["input"])
        except OpaUndefinedError:
            self._reply(200, {})
        else:
            self._reply(200, {"result": value})
        finally:
            engine.close()


@pytest.fixture
def opa_url() -> Iterator[str]:
    _OpaServer.modules, _OpaServer.queries = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpaServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_opa_server_backend_judges_as_opa_does(opa_url: str) -> None:
    server = create_engine(library(), opa_url=opa_url)
    assert len(_OpaServer.modules) == len(library().modules()) + 1   # and the verdict, once
    judged = 0
    for path in [*_samples()[:6], *_upstream_samples()]:
        document = build_input(documents(path), environment={})
        assert server.evaluate(document) == opa().evaluate(document), path
        judged += 1
    assert _OpaServer.queries == [VERDICT_RULE] * judged
