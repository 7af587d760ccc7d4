"""The admission plugin end to end: real HTTPS AdmissionReview v1 POSTs to the real kopf operator.

One operator per module (tests/admission_support.py): kmock's Kubernetes API emulator holds
the rendered objects of a built environment (namespace models-team: small models, a Pipeline
and an Experiment on an MLServer pool of 2 x 8Gi at 50 % overcommit, `repo_builder`'s
defaults) plus a second pool with room (`mlserver-large`), and a lab namespace whose
environment allows more overcommit. kopf fills its
indexes by listing and watching the emulator; tests that need the cluster to change create,
patch and delete objects through the emulator's HTTP API, so the indexes follow watch events.
Nothing in the plugin is called directly: every verdict below came over TLS from kopf.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from admission_support import (
    REPO_ROOT,
    SAMPLES,
    Harness,
    Obj,
    make_certificates,
    review,
    with_changes,
)
from repo_builder import MLSERVER_POOL, environment, model, rendered_objects, uri

LAB = "models-lab"


def _find(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _agent_overcommit(server: Obj, percent: str) -> Obj:
    def change(obj: Obj) -> None:
        for container in obj["spec"]["podSpec"]["containers"]:
            if container["name"] == "agent":
                container["env"] = [{"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": percent}]
    return with_changes(server, change)


def _startup(server: Obj, failure_threshold: int) -> Obj:
    def change(obj: Obj) -> None:
        for container in obj["spec"]["podSpec"]["containers"]:
            if container["name"] == "mlserver":
                container["startupProbe"]["failureThreshold"] = failure_threshold
    return with_changes(server, change)


RENDERED = rendered_objects(environment(
    "team",
    model("scorer", artifact={"size": "180Mi"}, processing={"pre": ["ranker"]}),
    model("ranker", artifact={"size": "350Mi"},
          rollout={"strategy": "canary", "candidate": {"uri": uri("ranker", 2)}})))
TEAM_SERVER = _find(RENDERED, "Server", MLSERVER_POOL)
ENVIRONMENT = _find(RENDERED, "ConfigMap", "modelops-environment")
# A pool with room: 4 replicas x 32Gi, startup window 10 s x 24 = 240 s (fit for large models).
LARGE_POOL = with_changes(_startup(TEAM_SERVER, 24), lambda o: (
    o["metadata"].update(name="mlserver-large"),
    o["metadata"]["annotations"].pop("modelops.dev/max-artifact-size"),
    o["spec"].update(replicas=4),
    o["spec"]["podSpec"]["containers"][0]["resources"].update(
        requests={"cpu": "2", "memory": "32Gi"}, limits={"memory": "32Gi"})))
# 2 replicas x 12Gi: each fits a replica of cpu-pool (8Gi x 1.5 = 12Gi), but 24Gi more
# always pushes that pool (2 x 8Gi x 1.5 = 24Gi) past its ratio, as it already hosts models.
BIG_MODEL = with_changes(_find(RENDERED, "Model", "scorer"), lambda o: (
    o["metadata"].update(name="big-reranker"),
    o["metadata"]["annotations"].update({"modelops.dev/artifact-size": "10Gi"}),
    o["spec"].update(memory="12Gi", replicas=2, minReplicas=2, maxReplicas=2)))


def _lab(obj: Obj) -> Obj:
    return with_changes(obj, lambda o: o["metadata"].update(namespace=LAB))


def _lab_environment(limits: Obj) -> Obj:
    document = json.loads(ENVIRONMENT["data"]["environment.json"])
    document["metadata"]["name"] = "lab"
    document["spec"]["namespace"] = LAB
    document["spec"]["limits"] = limits
    return with_changes(_lab(ENVIRONMENT), lambda o: o["data"].update(
        {"environment.json": json.dumps(document)}))


# The lab: the platform-wide overcommit maximum (3.0) applies; the same pool name as in
# models-team (with a startup window fit for large models), nothing on it, its own alert groups.
LAB_ENVIRONMENT = _lab_environment({"minReplicas": 1})
LAB_POOL = _lab(_startup(TEAM_SERVER, 24))
LAB_ALERTS = _lab(with_changes(_find(RENDERED, "PrometheusRule", "modelops-alerts"), lambda o: [
    group.update(name=group["name"].replace("modelops.team.", "modelops.lab."))
    for group in o["spec"]["groups"]]))


@pytest.fixture(scope="module", params=[0, 2], ids=["in-process", "policy-workers"])
def plugin(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The plugin judging on its event loop, and with two policy worker processes (as the
    Deployment runs it): every test must give the same answers both ways."""
    certs = make_certificates(tmp_path_factory.mktemp("certs"))
    with Harness([*RENDERED, LARGE_POOL, LAB_ENVIRONMENT, LAB_POOL, LAB_ALERTS],
                 certs, policy_workers=request.param) as harness:
        yield harness


def until(plugin: Harness, document: Obj, allowed: bool, what: str) -> Obj:
    """Ask again until the answer is `allowed`: watch events reach the indexes asynchronously.

    Generous deadline, no timing asserted: it fails only if the index never follows."""
    deadline = time.monotonic() + 20
    while True:
        response = plugin.answer(document)
        if response["allowed"] is allowed:
            return response
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def denials(response: Obj) -> str:
    assert response["allowed"] is False, response
    assert response["status"]["code"] == 403, response
    message: str = response["status"]["message"]
    return message


# --- create / update / delete / dry run --------------------------------------------------------

def test_rendered_model_is_allowed(plugin: Harness) -> None:
    model = _find(RENDERED, "Model", "scorer")
    response = plugin.answer(review(model))
    assert response["allowed"] is True
    assert "status" not in response and not response.get("warnings")


def test_model_past_its_pools_ratio_is_denied_and_allowed_on_a_pool_with_room(
        plugin: Harness) -> None:
    message = denials(plugin.answer(review(BIG_MODEL)))
    assert "policy overcommit denies Model/models-team/big-reranker" in message
    assert "server cpu-pool plans" in message and "above its configured ratio 1.50" in message

    roomy = with_changes(BIG_MODEL, lambda o: o["spec"].update(server="mlserver-large"))
    response = plugin.answer(review(roomy))
    assert response["allowed"] is True, response


def test_a_namespace_is_judged_against_its_own_pools_and_environment(plugin: Harness) -> None:
    # models-lab also has a `cpu-pool`, but nothing runs on it yet.
    response = plugin.answer(review(_lab(BIG_MODEL)))
    assert response["allowed"] is True, response


def test_dry_run_is_judged_the_same_and_changes_nothing(plugin: Harness) -> None:
    wet = plugin.answer(review(BIG_MODEL))
    dry = plugin.answer(review(BIG_MODEL, dry_run=True))
    assert dry["allowed"] is False
    assert dry["status"] == wet["status"]
    status, _ = plugin.kube("GET", plugin.object_path(BIG_MODEL))
    assert status == 404, "judging a review must never create the object"


def test_update_judges_the_new_object_not_the_old(plugin: Harness) -> None:
    small = _find(RENDERED, "Model", "scorer")
    grown = with_changes(small, lambda o: o["spec"].update(memory="12Gi", replicas=2,
                                                           minReplicas=2, maxReplicas=2))
    message = denials(plugin.answer(review(grown, "UPDATE", old=small)))
    assert "policy overcommit denies Model/models-team/scorer" in message

    response = plugin.answer(review(small, "UPDATE", old=grown))
    assert response["allowed"] is True, "an UPDATE that fixes an object must pass"


def test_delete_is_allowed_without_judging(plugin: Harness) -> None:
    response = plugin.answer(review(None, "DELETE", old=BIG_MODEL))
    assert response == {"uid": response["uid"], "allowed": True}


def test_an_object_being_deleted_can_lose_its_finalizers(plugin: Harness) -> None:
    leaving = with_changes(BIG_MODEL, lambda o: o["metadata"].update(
        deletionTimestamp="2026-11-21T10:00:00Z", finalizers=[]))
    old = with_changes(leaving, lambda o: o["metadata"].update(finalizers=["seldon"]))
    assert plugin.answer(review(leaving, "UPDATE", old=old))["allowed"] is True


# --- the operating brief's cases --------------------------------------------------------------

def test_server_overcommit_400_percent_denied_150_allowed_with_a_warning(
        plugin: Harness) -> None:
    message = denials(plugin.answer(review(_agent_overcommit(LAB_POOL, "400"), "UPDATE",
                                           old=LAB_POOL)))
    assert "policy overcommit denies Server/models-lab/cpu-pool: overcommit ratio 5.00" \
        in message

    response = plugin.answer(review(_agent_overcommit(LAB_POOL, "150"), "UPDATE", old=LAB_POOL))
    assert response["allowed"] is True, response
    [warning] = response["warnings"]
    assert warning.startswith("[overcommit] overcommit ratio 2.50 "
                              "(SELDON_OVERCOMMIT_PERCENTAGE=150) is above 2.0")


def test_server_with_short_startup_window_beside_a_large_model_is_denied(
        plugin: Harness) -> None:
    # 10 s x 12 = 120 s: enough for a pool of small models, so allowed while none is large...
    short = _startup(LARGE_POOL, 12)
    assert plugin.answer(review(short, "UPDATE", old=LARGE_POOL))["allowed"] is True
    # ...until a 12Gi Model is pinned to the pool (created through the API: a watch event).
    large_model = with_changes(BIG_MODEL, lambda o: (
        o["metadata"].update(name="large-on-large"), o["spec"].update(server="mlserver-large")))
    document = review(short, "UPDATE", old=LARGE_POOL)
    plugin.create(large_model)
    try:
        message = denials(until(plugin, document, False, "the index to hold the new Model"))
        assert "policy probe-windows denies Server/models-team/mlserver-large" in message
        assert "large-on-large" in message
    finally:
        plugin.delete(large_model)
    until(plugin, document, True, "the index to drop the deleted Model")


# --- the indexes follow the cluster -------------------------------------------------------------

def test_models_created_and_deleted_through_the_api_change_the_verdict(plugin: Harness) -> None:
    candidate = with_changes(BIG_MODEL, lambda o: (
        o["metadata"].update(name="candidate", namespace=LAB),
        o["spec"].update(memory="10Gi")))
    filler = with_changes(candidate, lambda o: o["metadata"].update(name="filler"))
    document = review(candidate)
    assert plugin.answer(document)["allowed"] is True
    plugin.create(filler)   # 20Gi more on lab's cpu-pool: 40Gi of 24Gi
    try:
        message = denials(until(plugin, document, False, "the index to hold the new Model"))
        assert "policy overcommit denies Model/models-lab/candidate" in message
    finally:
        plugin.delete(filler)
    until(plugin, document, True, "the index to drop the deleted Model")


def test_environment_configmap_changes_are_watched(plugin: Harness) -> None:
    at_150 = review(_agent_overcommit(LAB_POOL, "150"), "UPDATE", old=LAB_POOL)
    assert plugin.answer(at_150)["allowed"] is True
    stricter = json.loads(_lab_environment({"minReplicas": 1,
                                            "maxOvercommitPercent": 100})["data"]
                          ["environment.json"])
    plugin.patch(LAB_ENVIRONMENT, {"data": {"environment.json": json.dumps(stricter)}})
    try:
        message = denials(until(plugin, at_150, False, "the index to hold the new environment"))
        assert "is above the maximum 2.00" in message
    finally:
        plugin.patch(LAB_ENVIRONMENT, {"data": LAB_ENVIRONMENT["data"]})
    until(plugin, at_150, True, "the index to hold the restored environment")


def test_namespace_without_environment_uses_platform_thresholds_and_says_so(
        plugin: Harness) -> None:
    stray = with_changes(LAB_POOL, lambda o: o["metadata"].update(namespace="scratch"))
    response = plugin.answer(review(stray))
    assert response["allowed"] is True
    assert response["warnings"] == [
        "[admission] namespace scratch has no modelops-environment ConfigMap: judged with the "
        "platform-wide thresholds"]


def test_unusable_environment_configmap_fails_closed(plugin: Harness) -> None:
    broken = with_changes(LAB_ENVIRONMENT, lambda o: (
        o["metadata"].update(namespace="models-broken"),
        o["data"].update({"environment.json": "{not json"})))
    plugin.create(broken)
    server = with_changes(LAB_POOL, lambda o: o["metadata"].update(namespace="models-broken"))
    try:
        response = until(plugin, review(server), False, "the index to hold the environment")
        assert response["status"]["code"] == 500
        assert "modelops-environment ConfigMap of namespace models-broken is unusable" in \
            response["status"]["message"]
    finally:
        plugin.delete(broken)


def test_rendered_pipeline_and_experiment_have_webhooks(plugin: Harness) -> None:
    for kind in ("Pipeline", "Experiment"):
        obj = next(o for o in RENDERED if o["kind"] == kind)
        assert plugin.answer(review(obj, "UPDATE", old=obj))["allowed"] is True


def test_probes(plugin: Harness) -> None:
    assert plugin.raw("GET", "/healthz") == (200, b'{"status": "ok"}')
    assert plugin.raw("GET", "/readyz") == (200, b'{"status": "ready"}')


def test_not_ready_until_the_indexes_have_seen_the_cluster(tmp_path: Path) -> None:
    # An empty cluster: kopf has nothing to index yet, so the replica must not take reviews.
    certs = make_certificates(tmp_path)
    with Harness([], certs, wait_for_indexes=False) as empty:
        assert empty.raw("GET", "/healthz")[0] == 200
        assert empty.raw("GET", "/readyz") == (503, b'{"status": "indexing"}')
        empty.create(ENVIRONMENT)   # the first environment namespace appears (Argo CD wave -2)
        deadline = time.monotonic() + 20
        while empty.raw("GET", "/readyz")[0] != 200:
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.05)


def test_the_plugin_process_freezes_its_heap_once_indexed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`run`/`serve` freeze what the start built (handlers.py says why); pytest never does."""
    import gc

    from modelops_plugins.admission.handlers import Readiness

    freezes = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(real_freeze()))
    frozen = gc.get_freeze_count()
    plain = Readiness()
    plain.mark_indexed()
    assert plain.indexed.is_set() and freezes == []
    freezing = Readiness(freeze_heap=True)
    try:
        freezing.mark_indexed()
        assert freezing.indexed.is_set() and len(freezes) == 1
        assert gc.get_freeze_count() > frozen   # really frozen
        freezing.mark_indexed()   # once: later events never freeze again
        assert len(freezes) == 1
    finally:
        gc.unfreeze()


def test_a_burst_of_index_events_freezes_the_heap_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After a re-list or mass sync, once the burst is quiet; never in the middle of one."""
    import gc

    from modelops_plugins.admission.handlers import HeapFreeze, Readiness

    freezes = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(time.monotonic()))

    async def events() -> None:
        readiness = Readiness(freeze_heap=True, heap_freeze=HeapFreeze(burst=5, quiet=0.5))
        readiness.mark_indexed()
        assert len(freezes) == 1
        for _ in range(4):   # fewer than a burst
            readiness.index_changed()
        await asyncio.sleep(1.6)
        assert len(freezes) == 1
        for _ in range(12):   # a burst, still going: never frozen mid-way
            readiness.index_changed()
            await asyncio.sleep(0.02)
        assert len(freezes) == 1
        await asyncio.sleep(1.6)
        assert len(freezes) == 2   # once it was quiet
        await asyncio.sleep(1.2)
        assert len(freezes) == 2   # once per burst
        assert readiness.heap_freezes == 2

    asyncio.run(events())


def test_an_idle_watch_on_the_emulator_is_not_taken_for_dead() -> None:
    """kmock sends no bookmarks and replays everything on a resumed watch (operator.py)."""
    import kopf
    from modelops_plugins.admission.handlers import Readiness
    from modelops_plugins.admission.operator import EMULATOR_WATCH_INACTIVITY, operator_settings
    from modelops_plugins.admission.server import AdmissionServer

    server = AdmissionServer("127.0.0.1", 0, Path("tls.crt"), Path("tls.key"), Readiness())
    in_cluster = operator_settings(server).watching.inactivity_timeout
    assert in_cluster == kopf.OperatorSettings().watching.inactivity_timeout < 120
    assert operator_settings(server, emulated=True).watching.inactivity_timeout == \
        EMULATOR_WATCH_INACTIVITY > 3600


# --- upstream AdmissionReview samples (read from ../shared, never copied) ----------------------

def _sample(name: str) -> Obj:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"no {path}: the upstream AdmissionReview samples live in "
                    "../shared/admission-samples/ (see its SOURCES.md)")
    loaded: Obj = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _retarget(sample: Obj, obj: Obj) -> Obj:
    """The sample with its resource and object swapped for a Seldon object: every other field
    (userInfo, options, dryRun, requestKind...) stays as upstream wrote it."""
    mine = review(obj)["request"]
    request = copy.deepcopy(sample["request"])
    for field in ("kind", "resource", "requestKind", "requestResource", "name", "namespace"):
        request[field] = mine[field]
    request["object"] = obj
    if request.get("oldObject") is not None:
        request["oldObject"] = obj
    return {**sample, "request": request}


def test_kopf_docs_dry_run_create(plugin: Harness) -> None:
    sample = _sample("04-kopf-docs-request-create-dryrun-v1.json")
    status, _ = plugin.post("/validate-models", sample)
    assert status == 404, "the sample's kopf.dev/v1 kopfexamples is not served here"

    response = plugin.answer(_retarget(sample, BIG_MODEL))
    assert sample["request"]["dryRun"] is True
    assert response["uid"] == sample["request"]["uid"]
    assert "policy overcommit denies" in denials(response)


def test_kubernetes_all_fields_fixture(plugin: Harness) -> None:
    sample = _sample("01-k8s-api-testdata-admissionreview-v1-allfields.json")
    status, body = plugin.post("/validate-models", sample)
    assert status == 400 and "request.operation" in body["error"]

    # Every v1 field set, with real values where the fixture has placeholders: parsed, and the
    # subresource request (subResource set) is not judged: status writes are never blocked.
    retargeted = _retarget(sample, BIG_MODEL)
    retargeted["request"]["operation"] = "UPDATE"
    retargeted["request"]["options"] = {"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions"}
    assert plugin.answer(retargeted)["allowed"] is True
    del retargeted["request"]["subResource"]
    assert "policy overcommit denies" in denials(plugin.answer(retargeted))


def test_deny_has_the_shape_of_the_kubernetes_docs_example(plugin: Harness) -> None:
    upstream = _sample("03-k8s-docs-response-deny-403-v1.json")
    ours = plugin.post("/validate-models", review(BIG_MODEL))[1]
    assert ours.keys() == upstream.keys()
    assert (ours["apiVersion"], ours["kind"]) == (upstream["apiVersion"], upstream["kind"])
    assert ours["response"].keys() - {"warnings"} == upstream["response"].keys()
    assert ours["response"]["status"].keys() == upstream["response"]["status"].keys()
    assert ours["response"]["status"]["code"] == upstream["response"]["status"]["code"] == 403


# --- a broken policy ------------------------------------------------------------------------------

def test_a_policy_that_breaks_at_evaluation_fails_closed_with_500(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    (policies / "lib").mkdir(parents=True)
    for helper in (REPO_ROOT / "policies" / "lib").glob("*.rego"):
        (policies / "lib" / helper.name).write_text(helper.read_text())
    (policies / "broken").mkdir()
    (policies / "broken" / "policy.rego").write_text(
        "package modelops_policy_broken\n\nimport rego.v1\n\njudges := {\"Model\"}\n\n"
        "deny contains \"a bare string, not lib.violation\" if input.objects[0].kind == "
        "\"Model\"\n")
    certs = make_certificates(tmp_path / "certs")
    with Harness(RENDERED, certs, policies=policies) as broken:
        response = broken.answer(review(BIG_MODEL))
    assert response["allowed"] is False
    assert response["status"]["code"] == 500
    assert response["status"]["message"].startswith("policy engine error: policy broken:")


# --- limits on what goes back to the apiserver ----------------------------------------------------

def test_warnings_are_cut_to_what_the_apiserver_keeps() -> None:
    from modelops_plugins.admission.verdict import (
        WARNING_LIMIT,
        WARNINGS_TOTAL_LIMIT,
        bounded_warnings,
    )

    assert bounded_warnings(["short"]) == ("short",)
    long = bounded_warnings(["x" * 1000])
    assert len(long[0]) == WARNING_LIMIT and long[0].endswith("…")
    many = bounded_warnings([f"{i:04d} " + "y" * 200 for i in range(100)])
    assert sum(len(w) for w in many) <= WARNINGS_TOTAL_LIMIT
    assert many[-1].startswith("… ") and many[-1].endswith("more warning(s) not shown")
    shown = len(many) - 1
    assert f"… {100 - shown} more" in many[-1]


def test_an_answer_the_apiserver_would_discard_is_never_sent() -> None:
    from modelops_plugins.admission.wire import checked_response

    document = review(BIG_MODEL)
    good = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": document["request"]["uid"], "allowed": True}}
    assert checked_response(document, good) == good
    for broken in (with_changes(good, lambda a: a["response"].update(uid="")),
                   with_changes(good, lambda a: a["response"].pop("allowed")),
                   with_changes(good, lambda a: a.update(apiVersion="admission.k8s.io/v1beta1"))):
        with pytest.raises(ValueError, match="kopf answered"):
            checked_response(document, broken)
