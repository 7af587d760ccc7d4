"""Precomputed cluster facts (`input.cluster_facts`) change nothing but the cost of a review.

The library computes what its capacity rules need from each context object on its own
(`data.modelops_lib.computed_cluster_facts`); the admission plugin computes that once per
indexed object and sends it along, and the same Rego computes it when it is absent (CI). Here:

- every policy sample, reviewed whole or one object at a time with the rest and a built
  production-like namespace (`repo_builder.feature_environment`) as context, gives the same
  findings with the facts as without; so does each of its Models reviewed in its namespace,
  as it is and grown past its pool (regorus; regopy, about a hundred times slower here, on
  the whole samples and a few Models);
- facts that disagree with their objects are used (a Model's memory, a Server's capacity, an
  alert's threshold), so this comparison can fail;
- the plugin's documents carry one fact per context object, aligned after the reviewed object's
  indexed copy is dropped, and compute facts only for objects they have not seen.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from admission_support import REPO_ROOT, indexed_context
from modelops.policy import PolicyEngine, PolicyLibrary, build_input
from modelops.policy.inputs import Manifest, PolicyInput
from modelops_plugins.admission.documents import InputDocuments
from repo_builder import feature_environment, rendered_objects

LIBRARY = PolicyLibrary.load(REPO_ROOT / "policies")
SELDON, ENVIRONMENT = indexed_context(rendered_objects(feature_environment("live")))


@pytest.fixture(scope="module", params=["regorus", "regopy"])
def engine(request: pytest.FixtureRequest) -> PolicyEngine:
    return LIBRARY.engine(request.param)


def _with_facts(engine: PolicyEngine, document: PolicyInput) -> dict[str, Any]:
    return {**document, "cluster_facts": engine.cluster_facts(document["cluster"])}


def _sample_inputs() -> Iterator[tuple[str, PolicyInput]]:
    for policy in LIBRARY.policies:
        for verdict in ("allowed", "disallowed"):
            for path in policy.samples(verdict):
                objects = [o for o in yaml.safe_load_all(path.read_text()) if o]
                name = f"{policy.name}/{path.name}"
                yield name, build_input(objects, cluster=SELDON, environment=ENVIRONMENT)
                for index, obj in enumerate(objects):
                    rest = objects[:index] + objects[index + 1:]
                    yield (f"{name}[{index}]",
                           build_input([obj], cluster=rest + SELDON, environment=ENVIRONMENT))


SAMPLE_INPUTS = list(_sample_inputs())


def test_samples_find_the_same_with_facts(engine: PolicyEngine) -> None:
    inputs = [(name, document) for name, document in SAMPLE_INPUTS
              if engine.name == "regorus" or not name.endswith("]")]
    differ = [name for name, document in inputs
              if engine.evaluate(_with_facts(engine, document)) != engine.evaluate(document)]
    assert differ == []
    found = {f.policy for _, d in inputs for f in engine.evaluate(d)}
    assert {"overcommit", "probe-windows"} <= found   # the rules that read the facts judged


def test_each_live_model_is_judged_the_same_with_facts(engine: PolicyEngine) -> None:
    models = [o for o in SELDON if o["kind"] == "Model"]
    for model in models if engine.name == "regorus" else models[:3]:
        grown = copy.deepcopy(model)
        grown["spec"]["memory"] = "40Gi"   # over 2 GiB, and past its pool's ratio
        for reviewed in (model, grown):
            document = build_input([reviewed], cluster=SELDON, environment=ENVIRONMENT)
            assert engine.evaluate(_with_facts(engine, document)) == engine.evaluate(document)


def test_facts_are_what_the_rules_read() -> None:
    """Facts that say otherwise change the verdict: the comparison above can fail."""
    engine = LIBRARY.engine("regorus")
    model = next(o for o in SELDON if o["kind"] == "Model" and o["spec"].get("server")
                 and o["metadata"]["labels"]["app.kubernetes.io/component"] == "model")
    document = build_input([model], cluster=SELDON, environment=ENVIRONMENT)
    facts = engine.cluster_facts(document["cluster"])
    for entry in facts:
        if "model" in entry and entry["model"]["server"] == model["spec"]["server"]:
            entry["model"]["memory"] = 1 << 50
        for rules in entry.get("rule_file", {}).get("groups", {}).values():
            for rule in rules:
                rule["threshold"] = 1000
    lied = {f.policy for f in engine.evaluate({**document, "cluster_facts": facts})
            if f.severity == "deny"}
    assert lied == {"overcommit", "alerts"}
    assert not any(f.severity == "deny" for f in engine.evaluate(document))

    facts = engine.cluster_facts(document["cluster"])
    for entry in facts:
        if entry.get("server", {}).get("name") == model["spec"]["server"]:
            entry["server"]["capacity"] = 1 << 20   # a 1 MiB pool: the Model cannot fit
    shrunk = [f for f in engine.evaluate({**document, "cluster_facts": facts})
              if f.severity == "deny"]
    assert {f.policy for f in shrunk} == {"overcommit"}
    assert any("more than one replica of server" in f.message for f in shrunk)


def test_facts_come_one_per_object_for_models_servers_and_rule_files() -> None:
    facts = LIBRARY.engine("regorus").cluster_facts(SELDON)
    assert len(facts) == len(SELDON)
    for obj, entry in zip(SELDON, facts, strict=True):
        if obj["kind"] == "Model":
            assert entry["model"]["name"] == obj["metadata"]["name"]
            assert entry["model"]["server"] == obj["spec"].get("server")
        elif obj["kind"] == "Server":
            assert entry["server"]["name"] == obj["metadata"]["name"]
            assert entry["server"]["capacity"] > 0 and entry["server"]["ratio"] >= 1
        elif obj["kind"] == "PrometheusRule":
            groups = entry["rule_file"]["groups"]
            assert set(groups) == {g["name"] for g in obj["spec"]["groups"]}
            watched = [r["threshold"] for rules in groups.values() for r in rules
                       if r["alert"] in ("ModelLatencyHigh", "ModelErrorRateHigh")]
            assert watched and all(isinstance(t, (int, float)) for t in watched)
        else:
            assert entry == {}


class _CountingFacts:
    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine
        self.asked: list[list[str]] = []

    def __call__(self, cluster: list[Manifest]) -> list[Any]:
        self.asked.append([o["metadata"]["name"] for o in cluster])
        return self.engine.cluster_facts(cluster)


def test_documents_carry_aligned_facts_computed_once_per_object() -> None:
    engine = LIBRARY.engine("regorus")
    facts = _CountingFacts(engine)
    documents = InputDocuments(facts)
    cluster = list(SELDON)
    reviewed = copy.deepcopy(next(o for o in cluster if o["kind"] == "Model"))
    reviewed["spec"]["memory"] = "40Gi"

    review = documents.build(reviewed, cluster, ENVIRONMENT)
    first = review.as_input()
    assert len(first["cluster_facts"]) == len(first["cluster"]) == len(cluster) - 1
    assert first["cluster_facts"] == engine.cluster_facts(first["cluster"])
    expected = build_input([reviewed], cluster=cluster, environment=ENVIRONMENT)
    assert engine.evaluate_in_context(*review) == engine.evaluate(expected)
    assert len(facts.asked) == 1 and len(facts.asked[0]) == len(cluster)

    documents.build(reviewed, cluster, ENVIRONMENT)
    assert len(facts.asked) == 1   # the same objects: nothing recomputed
    index = next(i for i, o in enumerate(cluster) if o["kind"] == "Model" and i > 0)
    changed = copy.deepcopy(cluster[index])
    changed["spec"]["memory"] = "7Gi"
    cluster[index] = changed   # kopf replaces an index value when its object changes
    second = documents.build(reviewed, cluster, ENVIRONMENT).as_input()
    assert facts.asked[1:] == [[changed["metadata"]["name"]]]
    assert second["cluster_facts"] == engine.cluster_facts(second["cluster"])
