"""CI and the cluster agree: what `policies/` says about a manifest in a pull request is what the
webhook answers when the same manifest is applied.

One real plugin (tests/admission_support.py) holds every rendered environment and every policy
sample, each sample in its own namespace. Each object the webhook reviews (Seldon's kinds and
KServe InferenceServices) is sent to it as an UPDATE with everything else of its environment
(or sample) in the cluster, and the answer is compared with the policy engine run the way CI
runs it, on the whole set at once. New policies and new samples are covered without touching
this file.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from admission_support import REPO_ROOT, Harness, Obj, make_certificates, review
from conftest import ENVIRONMENTS
from modelops.policy import Finding, PolicyLibrary, build_input, create_engine
from modelops_plugins.admission.local import read_rendered, resource_of
from modelops_plugins.admission.resources import WEBHOOKS

REVIEWED = {w.resource for w in WEBHOOKS}
REVIEWED_KINDS = {w.resource.kind for w in WEBHOOKS}
LIBRARY = PolicyLibrary.load(REPO_ROOT / "policies")
SAMPLES = sorted(path for policy in LIBRARY.policies
                 for verdict in ("allowed", "disallowed")
                 for path in policy.samples(verdict))


def _sample_namespace(path: Path) -> str:
    return f"sample-{SAMPLES.index(path):02d}"


def _sample_objects(path: Path) -> list[Obj]:
    objects = [copy.deepcopy(doc) for doc in yaml.safe_load_all(path.read_text())
               if isinstance(doc, dict)]
    for obj in objects:
        obj.setdefault("metadata", {})["namespace"] = _sample_namespace(path)
    return objects


RENDERED = {env: read_rendered(REPO_ROOT / "environments" / env / "rendered")
            for env in ENVIRONMENTS}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    objects = [obj for env in ENVIRONMENTS for obj in RENDERED[env]]
    objects += [obj for path in SAMPLES for obj in _sample_objects(path)]
    with Harness(objects, make_certificates(tmp_path_factory.mktemp("certs"))) as harness:
        yield harness


def _ci(objects: list[Obj]) -> list[Finding]:
    return create_engine(LIBRARY, "regorus").evaluate(build_input(objects))


def _on(findings: list[Finding], obj: Obj) -> list[Finding]:
    meta = obj["metadata"]
    return [f for f in findings
            if (f.kind, f.namespace, f.name) == (obj["kind"], meta["namespace"], meta["name"])]


def _reviewed(objects: list[Obj]) -> list[Obj]:
    return [obj for obj in objects if resource_of(obj) in REVIEWED]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_seldon_object_gets_the_verdict_ci_gives_it(plugin: Harness,
                                                                   env: str) -> None:
    findings = _ci(RENDERED[env])
    objects = _reviewed(RENDERED[env])
    assert {o["kind"] for o in objects} >= {"Model", "Server"}
    for obj in objects:
        expected = _on(findings, obj)
        response = plugin.answer(review(obj, "UPDATE", old=obj))
        denied = [f for f in expected if f.severity == "deny"]
        assert response["allowed"] is (not denied), (obj["metadata"]["name"], response)
        for finding in denied:
            assert (f"policy {finding.policy} denies {finding.object}: {finding.message}"
                    in response["status"]["message"])
        assert response.get("warnings", []) == [f"[{f.policy}] {f.message}" for f in expected
                                                if f.severity == "warn"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: "/".join(p.parts[-4:]))
def test_policy_sample_gets_the_same_verdict_from_the_webhook(plugin: Harness,
                                                              path: Path) -> None:
    policy, verdict = path.parts[-4], path.parts[-2]
    objects = _sample_objects(path)
    reviewed = _reviewed(objects)
    if not reviewed:
        pytest.skip(f"{path.name} has no object the webhook reviews (Seldon kinds, "
                    "InferenceServices); CI alone enforces it")
    findings = _ci(objects)
    answers = {obj["metadata"]["name"]: plugin.answer(review(obj, "UPDATE", old=obj))
               for obj in reviewed}
    for obj in reviewed:
        message = answers[obj["metadata"]["name"]].get("status", {}).get("message", "")
        # Whatever CI denies on an object, the webhook denies on it, in the same words.
        for finding in _on(findings, obj):
            if finding.severity == "deny":
                assert f"policy {finding.policy} denies {finding.object}: {finding.message}" \
                    in message
    judged = next(p.judges for p in LIBRARY.policies if p.name == policy)
    if verdict == "allowed":
        assert all(a["allowed"] for a in answers.values()), answers
    elif judged & REVIEWED_KINDS:  # else the policy judges kinds only CI sees (CronJobs)
        # The sample's policy rejects at least one of its objects at admission (perhaps a
        # different member of a group than CI blames, e.g. the Model that overloads a pool).
        assert any(f"policy {policy} denies" in a.get("status", {}).get("message", "")
                   for a in answers.values()), answers
