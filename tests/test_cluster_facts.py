"""A held context and its precomputed facts change nothing but the cost of a review.

The library computes what its capacity rules need from each cluster object on its own (its
`cluster_*_facts` rules). The admission plugin holds each namespace in the engine with those
facts computed once per indexed object (`modelops.policy.held`), and the review names it.
Here, with regorus (the engine that holds contexts):

- every policy sample, reviewed whole or one object at a time with the rest and a built
  production-like namespace (`repo_builder.feature_environment`) as context, gives the same
  findings held as spelled out; so does each of its Models reviewed in its namespace, as it
  is, grown past its pool, and as an UPDATE of its own indexed copy;
- held facts that disagree with their objects are used (a Model's memory, a Server's capacity,
  an alert's threshold), so this comparison can fail;
- the plugin's documents carry one fact per context object and compute facts only for objects
  they have not seen.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from admission_support import REPO_ROOT, indexed_context
from modelops.policy import Finding, PolicyEngine, PolicyLibrary, build_input, create_engine
from modelops.policy.engine import Context
from modelops.policy.inputs import Manifest, PolicyInput
from modelops_plugins.admission.documents import InputDocuments
from repo_builder import feature_environment, rendered_objects

LIBRARY = PolicyLibrary.load(REPO_ROOT / "policies")
SELDON, ENVIRONMENT = indexed_context(rendered_objects(feature_environment("live")))


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return create_engine(LIBRARY, "regorus")


def held(engine: PolicyEngine, document: PolicyInput,
         facts: list[Any] | None = None) -> list[Finding]:
    """The findings for `document` judged as the plugin judges: its environment and cluster
    held as a Context with each object's facts (`facts`, else computed), the input naming it."""
    context = Context.of(json.dumps({
        "environment": document["environment"], "cluster": document["cluster"],
        "cluster_facts": engine.cluster_facts(document["cluster"]) if facts is None else facts}))
    named = json.dumps({"objects": document["objects"], "context": {"id": context.id,
                                                                     "skip": -1}})
    return engine.evaluate_in_context(context, named)


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


def test_samples_find_the_same_held(engine: PolicyEngine) -> None:
    differ = [name for name, document in SAMPLE_INPUTS
              if held(engine, document) != engine.evaluate(document)]
    assert differ == []
    found = {f.policy for _, d in SAMPLE_INPUTS for f in engine.evaluate(d)}
    assert {"overcommit", "probe-windows", "alerts"} <= found   # the rules that read facts


def test_each_live_model_is_judged_the_same_held(engine: PolicyEngine) -> None:
    documents = InputDocuments(engine.cluster_facts)
    for model in (o for o in SELDON if o["kind"] == "Model"):
        grown = copy.deepcopy(model)
        grown["spec"]["memory"] = "40Gi"   # over 2 GiB, and past its pool's ratio
        for reviewed in (model, grown):
            # As the plugin builds it: the reviewed object replaces its indexed copy (skip).
            review = documents.build(reviewed, SELDON, ENVIRONMENT)
            expected = build_input([reviewed], cluster=SELDON, environment=ENVIRONMENT)
            assert engine.evaluate_in_context(*review) == engine.evaluate(expected)


def test_facts_are_what_the_rules_read(engine: PolicyEngine) -> None:
    """Held facts that say otherwise change the verdict: the comparison above can fail."""
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
    lied = {f.policy for f in held(engine, document, facts) if f.severity == "deny"}
    assert lied == {"overcommit", "alerts"}
    assert not any(f.severity == "deny" for f in engine.evaluate(document))
    assert not any(f.severity == "deny" for f in held(engine, document))

    facts = engine.cluster_facts(document["cluster"])
    for entry in facts:
        if entry.get("server", {}).get("name") == model["spec"]["server"]:
            entry["server"]["capacity"] = 1 << 20   # a 1 MiB pool: the Model cannot fit
    shrunk = [f for f in held(engine, document, facts) if f.severity == "deny"]
    assert {f.policy for f in shrunk} == {"overcommit"}
    assert any("more than one replica of server" in f.message for f in shrunk)


def test_facts_come_one_per_object_for_models_servers_and_rule_files() -> None:
    facts = create_engine(LIBRARY, "regorus").cluster_facts(SELDON)
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
            alerts = [r for rules in groups.values() for r in rules]
            watched = [r["threshold"] for r in alerts
                       if r["alert"] in ("ModelLatencyHigh", "ModelErrorRateHigh")]
            assert all(isinstance(t, (int, float)) for t in watched)
            # Seldon's rule file has thresholds; KServe's rules (units by exporter) have none
            # the alerts policy reads.
            assert watched or all(r["alert"].startswith("KServe") for r in alerts), alerts
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
    engine = create_engine(LIBRARY, "regorus")
    facts = _CountingFacts(engine)
    documents = InputDocuments(facts)
    cluster = list(SELDON)
    reviewed = copy.deepcopy(next(o for o in cluster if o["kind"] == "Model"))
    reviewed["spec"]["memory"] = "40Gi"

    review = documents.build(reviewed, cluster, ENVIRONMENT)
    assert json.loads(review.context.text)["cluster_facts"] == engine.cluster_facts(cluster)
    assert len(review.as_input()["cluster"]) == len(cluster) - 1   # less the reviewed copy
    expected = build_input([reviewed], cluster=cluster, environment=ENVIRONMENT)
    assert engine.evaluate_in_context(*review) == engine.evaluate(expected)
    assert len(facts.asked) == 1 and len(facts.asked[0]) == len(cluster)

    documents.build(reviewed, cluster, ENVIRONMENT)
    assert len(facts.asked) == 1   # the same objects: nothing recomputed
    index = next(i for i, o in enumerate(cluster) if o["kind"] == "Model" and i > 0)
    changed = copy.deepcopy(cluster[index])
    changed["spec"]["memory"] = "7Gi"
    cluster[index] = changed   # kopf replaces an index value when its object changes
    second = documents.build(reviewed, cluster, ENVIRONMENT)
    assert facts.asked[1:] == [[changed["metadata"]["name"]]]
    assert json.loads(second.context.text)["cluster_facts"] == engine.cluster_facts(cluster)
