"""The admission plugin's evaluation machinery, below kopf: input documents and policy workers.

documents.py must build exactly the input `build_input` builds (what CI evaluates), reuse a
namespace's serialised context only while the indexes hold the very same objects, and drop the
object a review replaces. An engine holding contexts across reviews must judge each review by
its own context, also once it has dropped them at its limit. workers.py must give each review
its own answer, even when a review is abandoned half-way or shared out between workers by
policy (the merged findings must be the whole library's), and survive a worker that dies: the
review it held fails with a policy engine error (the apiserver then fails closed), a
replacement starts, the next review works. Real worker processes and the real policy library
throughout."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from admission_support import REPO_ROOT, indexed_context
from modelops.errors import UsageError
from modelops.policy import (
    PolicyEngineError,
    PolicyInput,
    PolicyLibrary,
    build_input,
    create_engine,
)
from modelops.policy import engine as policy_engine
from modelops.policy.engine import Context
from modelops_plugins.admission.documents import InputDocuments, Review
from modelops_plugins.admission.verdict import partitions
from modelops_plugins.admission.workers import PolicyWorkers
from repo_builder import feature_environment, rendered_objects

Obj = dict[str, Any]
POLICIES = REPO_ROOT / "policies"
SELDON, ENVIRONMENT = indexed_context(rendered_objects(feature_environment("live")))


def _model(name: str) -> Obj:
    return next(o for o in SELDON if o["kind"] == "Model" and o["metadata"]["name"] == name)


def _renamed(obj: Obj, name: str, **spec: Any) -> Obj:
    copied = copy.deepcopy(obj)
    copied["metadata"]["name"] = name
    copied["spec"].update(spec)
    return copied


def _fillers(count: int) -> list[Obj]:
    return [_renamed(_model("ranker"), f"filler-{i:04d}", memory="8Mi", replicas=1,
                     minReplicas=1, maxReplicas=1) for i in range(count)]


# --- documents ------------------------------------------------------------------------------------

def test_document_is_what_ci_evaluates() -> None:
    documents = InputDocuments()
    candidate = _renamed(_model("ranker"), "candidate", memory="64Gi")
    review = documents.build(candidate, SELDON, ENVIRONMENT)
    assert review.as_input() == json.loads(json.dumps(
        build_input([candidate], cluster=SELDON, environment=ENVIRONMENT)))


def test_reviewed_object_replaces_its_indexed_copy() -> None:
    documents = InputDocuments()
    updated = _renamed(_model("ranker"), "ranker", memory="3Gi")
    document = documents.build(updated, SELDON, ENVIRONMENT).as_input()
    updated_models = [o for o in document["cluster"] + document["objects"]
                      if o["kind"] == "Model" and o["metadata"]["name"] == "ranker"]
    assert updated_models == [updated]
    assert len(document["cluster"]) == len(SELDON) - 1


def test_context_text_follows_the_indexes() -> None:
    documents = InputDocuments()
    reviewed = _renamed(_model("ranker"), "candidate")
    cluster = list(SELDON)
    first_review = documents.build(reviewed, cluster, ENVIRONMENT)
    first = first_review.as_input()
    assert documents.build(reviewed, list(cluster), ENVIRONMENT).context is first_review.context
    # kopf replaces an index value when its object changes: a new dict, never a mutated one.
    index = next(i for i, o in enumerate(cluster) if o["kind"] == "Model")
    cluster[index] = _renamed(cluster[index], cluster[index]["metadata"]["name"], memory="7Gi")
    second_review = documents.build(reviewed, cluster, ENVIRONMENT)
    assert second_review.context.id != first_review.context.id
    second = second_review.as_input()
    assert second["cluster"][index]["spec"]["memory"] == "7Gi"
    assert first["cluster"][index]["spec"]["memory"] != "7Gi"
    assert second["cluster"][:index] == first["cluster"][:index]
    del cluster[index]   # deleted from the cluster: gone from the next review's context
    third = documents.build(reviewed, cluster, ENVIRONMENT).as_input()
    assert len(third["cluster"]) == len(SELDON) - 1


def test_context_follows_the_environment() -> None:
    documents = InputDocuments()
    reviewed = _renamed(_model("ranker"), "candidate")
    first = documents.build(reviewed, SELDON, ENVIRONMENT)
    assert documents.build(reviewed, SELDON, copy.deepcopy(ENVIRONMENT)).context is first.context
    stricter = copy.deepcopy(ENVIRONMENT)
    stricter["spec"].setdefault("limits", {})["minReplicas"] = 3
    second = documents.build(reviewed, SELDON, stricter)
    assert second.context.id != first.context.id
    assert second.as_input()["environment"] == stricter
    assert first.as_input()["environment"] == ENVIRONMENT


def test_namespaces_never_share_a_context() -> None:
    documents = InputDocuments()
    live = _renamed(_model("ranker"), "candidate")
    lab = copy.deepcopy(live)
    lab["metadata"]["namespace"] = "models-lab"
    assert documents.build(lab, [], {}).as_input()["cluster"] == []
    assert len(documents.build(live, SELDON, ENVIRONMENT).as_input()["cluster"]) == len(
        SELDON)
    assert documents.build(lab, [], {}).as_input()["cluster"] == []


def test_an_emptied_namespace_keeps_nothing() -> None:
    # Namespaces come and go: one whose indexed objects are all gone must not keep its
    # serialised context or Environment text (the cache's own state, checked directly).
    documents = InputDocuments()
    reviewed = _renamed(_model("ranker"), "candidate")
    documents.build(reviewed, SELDON, ENVIRONMENT)
    assert set(documents._namespaces) == {"models-live"}
    assert documents.build(reviewed, [], ENVIRONMENT).as_input()["cluster"] == []
    assert documents._namespaces == {}


# --- workers -------------------------------------------------------------------------------------

def held(document: PolicyInput) -> Review:
    """A review of `document`'s objects, its cluster held apart as a context (of their kind
    when they are one object, as in the plugin; else of any kind)."""
    context = Context.of(json.dumps({"environment": document["environment"],
                                     "cluster": document["cluster"]}))
    return Review(context, json.dumps({"objects": document["objects"],
                                       "context": {"id": context.id, "skip": -1}}),
                  document["objects"][0]["kind"] if len(document["objects"]) == 1 else None)


@pytest.fixture(scope="module")
def expected() -> Any:
    """What CI finds for a review: the whole input, evaluated afresh."""
    engine = create_engine(PolicyLibrary.load(POLICIES), "regorus")
    return lambda review: engine.evaluate(review.as_input())


def _tight(pool: str) -> list[Obj]:
    """The live namespace with `pool`'s replicas registering a tenth of their memory."""
    tight = copy.deepcopy(SELDON)
    server = next(o for o in tight if o["kind"] == "Server" and o["metadata"]["name"] == pool)
    [container] = [c for c in server["spec"]["podSpec"]["containers"] if c["name"] == "mlserver"]
    container["resources"]["requests"]["memory"] = "200Mi"
    return tight


def test_an_engine_judges_each_review_by_its_own_held_context(
        monkeypatch: pytest.MonkeyPatch, expected: Any) -> None:
    monkeypatch.setattr(policy_engine, "HELD_CONTEXTS", 2)
    engine = create_engine(PolicyLibrary.load(POLICIES), "regorus")
    assert isinstance(engine, policy_engine.RegorusEngine)
    documents = InputDocuments()
    candidate = _renamed(_model("ranker"), "candidate")
    roomy = documents.build(candidate, SELDON, ENVIRONMENT)
    pool = candidate["spec"]["server"]
    tight = documents.build(candidate, _tight(pool), ENVIRONMENT)
    assert roomy.document == tight.document.replace(tight.context.id, roomy.context.id)
    roomy_findings = engine.evaluate_in_context(*roomy)
    tight_findings = engine.evaluate_in_context(*tight)
    assert roomy_findings == expected(roomy)
    assert tight_findings == expected(tight)
    assert not any(f.severity == "deny" for f in roomy_findings)
    assert any(f.severity == "deny" and f.policy == "overcommit" for f in tight_findings)
    assert engine.held == {roomy.context.id, tight.context.id}
    # A third context: at the limit, the engine drops both and holds the new one only.
    other = documents.build(candidate, SELDON[:-1], ENVIRONMENT)
    assert engine.evaluate_in_context(*other) == expected(other)
    assert engine.held == {other.context.id}
    for review, findings in ((tight, tight_findings), (roomy, roomy_findings)):
        assert engine.evaluate_in_context(*review) == findings   # parsed again, same answer


def test_an_engine_drops_its_contexts_past_the_byte_budget(
        monkeypatch: pytest.MonkeyPatch, expected: Any) -> None:
    documents = InputDocuments()
    candidate = _renamed(_model("ranker"), "candidate")
    roomy = documents.build(candidate, SELDON, ENVIRONMENT)
    tight = documents.build(candidate, _tight(candidate["spec"]["server"]), ENVIRONMENT)
    both = len(roomy.context.text) + len(tight.context.text)
    monkeypatch.setattr(policy_engine, "HELD_CONTEXT_BYTES", both - 1)
    engine = create_engine(PolicyLibrary.load(POLICIES), "regorus")
    assert isinstance(engine, policy_engine.RegorusEngine)
    assert engine.evaluate_in_context(*roomy) == expected(roomy)
    assert (engine.held, engine.held_bytes) == ({roomy.context.id}, len(roomy.context.text))
    # Two contexts would pass the budget (though not the count): the first is dropped.
    assert engine.evaluate_in_context(*tight) == expected(tight)
    assert (engine.held, engine.held_bytes) == ({tight.context.id}, len(tight.context.text))
    # A context larger than the whole budget is still held while it is judged.
    monkeypatch.setattr(policy_engine, "HELD_CONTEXT_BYTES", 1)
    assert engine.evaluate_in_context(*roomy) == expected(roomy)
    assert engine.held == {roomy.context.id}
    assert engine.evaluate_in_context(*roomy) == expected(roomy)   # held: not parsed again
    assert engine.held_bytes == len(roomy.context.text)


@pytest.fixture
def one_worker() -> Iterator[PolicyWorkers]:
    workers = PolicyWorkers(1, POLICIES, "regorus")
    yield workers
    workers.close()


def _document(reviewed: Obj, extra: int = 0) -> Review:
    return InputDocuments().build(reviewed, SELDON + _fillers(extra), ENVIRONMENT)


def test_workers_answer_like_the_engine(one_worker: PolicyWorkers, expected: Any) -> None:
    denied = _document(_renamed(_model("ranker"), "candidate", memory="64Gi"))
    allowed = _document(_renamed(_model("ranker"), "candidate"))

    async def both() -> list[Any]:
        return list(await asyncio.gather(one_worker.evaluate(denied),
                                         one_worker.evaluate(allowed)))

    got = asyncio.run(both())
    assert got == [expected(denied), expected(allowed)]
    assert any(f.severity == "deny" for f in got[0])
    assert not any(f.severity == "deny" for f in got[1])


def test_an_abandoned_review_never_answers_the_next(one_worker: PolicyWorkers,
                                                    expected: Any) -> None:
    slow = _document(_renamed(_model("ranker"), "slow", memory="64Gi"), extra=1500)
    quick = _document(_renamed(_model("ranker"), "quick"))

    async def abandon_then_review() -> Any:
        abandoned = asyncio.ensure_future(one_worker.evaluate(slow))
        await asyncio.sleep(0.01)   # sent, and the one worker is busy with it
        abandoned.cancel()
        return await one_worker.evaluate(quick)

    assert asyncio.run(abandon_then_review()) == expected(quick)


async def _until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Wait for `condition`, letting the loop run (it is the loop that notices a dead worker
    and binds its replacement)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


def _review_after_a_kill(workers: PolicyWorkers, victim: int, quick: Review) -> Any:
    """SIGKILL `victim` mid-review (that review must fail), wait for its replacement, then
    judge `quick`."""
    slow = _document(_renamed(_model("ranker"), "slow"), extra=1500)
    count = len(workers.pids)

    async def kill_mid_review() -> Any:
        review = asyncio.ensure_future(workers.evaluate(slow))
        await asyncio.sleep(0.01)
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(PolicyEngineError, match="died"):
            await review
        await _until(lambda: len(workers.pids) == count and victim not in workers.pids,
                     "no replacement worker")
        return await workers.evaluate(quick)

    return asyncio.run(kill_mid_review())


def test_a_worker_that_dies_fails_its_review_and_is_replaced(one_worker: PolicyWorkers,
                                                             expected: Any) -> None:
    quick = _document(_renamed(_model("ranker"), "quick"))
    [victim] = one_worker.pids
    assert _review_after_a_kill(one_worker, victim, quick) == expected(quick)
    assert one_worker.pids and victim not in one_worker.pids


def test_a_library_that_does_not_compile_stops_the_start(tmp_path: Path) -> None:
    broken = tmp_path / "policies"
    (broken / "lib").mkdir(parents=True)
    (broken / "lib" / "kubernetes.rego").write_text("package modelops_lib\n\nthis is not rego\n")
    with pytest.raises(PolicyEngineError, match="could not load the library"):
        PolicyWorkers(1, broken, "regorus")


def test_closed_workers_exit_and_refuse_reviews() -> None:
    workers = PolicyWorkers(2, POLICIES, "regorus")
    pids = workers.pids
    workers.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(PolicyEngineError, match="shut down"):
        asyncio.run(workers.evaluate(_document(_model("ranker"))))


# --- a review shared out between workers (--policy-split) ---------------------------------------

SPLIT = [("overcommit", "probe-windows")]


def _split_workers() -> Iterator[PolicyWorkers]:
    workers = PolicyWorkers(2, POLICIES, "regorus",
                            partitions(PolicyLibrary.load(POLICIES), SPLIT))
    yield workers
    workers.close()


split_workers = pytest.fixture(_split_workers, scope="module", name="split_workers")
# Workers of a test's own, for tests that count what they judged or kill one of them.
own_split_workers = pytest.fixture(_split_workers, name="own_split_workers")


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
def test_workers_run_as_batch_tasks(split_workers: PolicyWorkers) -> None:
    # Woken by a job, a batch task never preempts the loop that is still sending the review's
    # other share (workers.py).
    assert [os.sched_getscheduler(pid) for pid in split_workers.pids] == [os.SCHED_BATCH] * 2


def _sample_documents() -> list[Review]:
    """Every policy sample alone and in the live namespace: findings of every policy."""
    documents = []
    for policy in PolicyLibrary.load(POLICIES).policies:
        for verdict in ("allowed", "disallowed"):
            for path in policy.samples(verdict):
                objects = [o for o in yaml.safe_load_all(path.read_text()) if o]
                documents += [held(build_input(objects, environment={})),
                              held(build_input(objects, cluster=SELDON,
                                               environment=ENVIRONMENT))]
    return documents


def test_a_shared_out_review_finds_what_the_whole_library_finds(
        split_workers: PolicyWorkers, expected: Any) -> None:
    documents = [_document(_renamed(_model("ranker"), "candidate", memory="64Gi")),
                 _document(_renamed(_model("ranker"), "candidate")),
                 *_sample_documents()]

    async def all_of_them() -> list[Any]:
        return list(await asyncio.gather(*(split_workers.evaluate(d) for d in documents)))

    got = asyncio.run(all_of_them())
    assert got == [expected(d) for d in documents]
    policies = {f.policy for findings in got for f in findings}
    assert {"overcommit", "probe-windows"} < policies   # both shares answered
    assert len(policies) > 3


def test_busy_workers_judge_reviews_whole_and_find_the_same(own_split_workers: PolicyWorkers,
                                                            expected: Any) -> None:
    # Sharing out is for reviews that come one at a time: once reviews queue, each worker that
    # comes free judges the oldest whole, with the same findings.
    workers = own_split_workers
    documents = [_document(_renamed(_model("ranker"), f"c{i}",
                                    memory="64Gi" if i % 2 else "1Gi"), extra=i * 50)
                 for i in range(8)]

    async def burst_then_one_at_a_time() -> tuple[list[Any], list[Any]]:
        burst = list(await asyncio.gather(*(workers.evaluate(d) for d in documents)))
        after = dict(workers.judged)
        calm = [await workers.evaluate(d) for d in documents[:3]]
        assert workers.judged == {"shared": after["shared"] + 3, "whole": after["whole"]}
        return burst, calm

    burst, calm = asyncio.run(burst_then_one_at_a_time())
    assert burst == [expected(d) for d in documents]
    assert calm == burst[:3]
    assert workers.judged["whole"] >= len(documents) // 2   # the queue went whole
    assert any(f.severity == "deny" for f in burst[1])


def test_a_review_abandoned_while_waiting_keeps_no_worker(own_split_workers: PolicyWorkers,
                                                          expected: Any) -> None:
    workers = own_split_workers
    slow = _document(_renamed(_model("ranker"), "slow"), extra=1500)
    quick = _document(_renamed(_model("ranker"), "quick"))

    async def abandon_a_waiter() -> Any:
        busy = asyncio.ensure_future(workers.evaluate(slow))   # takes both workers
        await asyncio.sleep(0.01)
        waiting = asyncio.ensure_future(workers.evaluate(quick))
        await asyncio.sleep(0.01)
        waiting.cancel()
        await busy
        shared = workers.judged["shared"]
        answer = await workers.evaluate(quick)   # both workers idle again: shared out
        assert workers.judged["shared"] == shared + 1
        return answer

    assert asyncio.run(abandon_a_waiter()) == expected(quick)


def test_a_share_whose_worker_dies_fails_the_review(own_split_workers: PolicyWorkers,
                                                     expected: Any) -> None:
    workers = own_split_workers
    quick = _document(_renamed(_model("ranker"), "quick", memory="64Gi"))
    victim = workers.pids[1]   # the worker of the policies no group names
    assert _review_after_a_kill(workers, victim, quick) == expected(quick)
    assert victim not in workers.pids


def test_reviews_go_whole_while_a_share_has_no_worker(own_split_workers: PolicyWorkers,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      expected: Any) -> None:
    # Before, a lone review waited for a worker of every share: for the replacement's start,
    # or for ever if it failed.
    workers = own_split_workers
    quick = _document(_renamed(_model("ranker"), "quick", memory="64Gi"))
    victim = workers.pids[1]
    started = threading.Event()   # holds the replacement back until the test lets it start
    spawn = workers._spawn

    def held_back(share: int) -> Any:
        started.wait(60)
        return spawn(share)

    async def kill_an_idle_worker() -> list[Any]:
        answers = [await workers.evaluate(quick)]   # the workers bind to this loop
        monkeypatch.setattr(workers, "_spawn", held_back)
        os.kill(victim, signal.SIGKILL)
        await _until(lambda: victim not in workers.pids, "the dead worker was not noticed", 30)
        whole = workers.judged["whole"]
        answers.append(await asyncio.wait_for(workers.evaluate(quick), 30))
        assert workers.judged["whole"] == whole + 1
        started.set()
        await _until(lambda: len(workers.pids) == 2, "no replacement worker")
        shared = workers.judged["shared"]
        answers.append(await workers.evaluate(quick))   # both shares served again
        assert workers.judged["shared"] == shared + 1
        return answers

    try:
        assert asyncio.run(kill_an_idle_worker()) == [expected(quick)] * 3
    finally:
        started.set()


def test_partitions_cover_every_policy_once() -> None:
    library = PolicyLibrary.load(POLICIES)
    names = [p.name for p in library.policies]
    shares = partitions(library, SPLIT)
    assert shares is not None and shares[0] == SPLIT[0]
    assert sorted(n for share in shares for n in share) == sorted(names)
    assert partitions(library, []) is None
    assert partitions(library, [tuple(names)]) == [tuple(names)]   # nothing left over
    with pytest.raises(UsageError, match="no policy nonesuch"):
        partitions(library, [("overcommit", "nonesuch")])
    with pytest.raises(UsageError, match="more than one group"):
        partitions(library, [("overcommit",), ("overcommit", "alerts")])
    with pytest.raises(UsageError, match="3 policy workers cannot serve 2 shares evenly"):
        PolicyWorkers(3, POLICIES, "regorus", shares)


def test_a_misnamed_split_stops_the_start_even_without_workers() -> None:
    from modelops_plugins.admission.verdict import Judge

    with pytest.raises(UsageError, match="no policy overcommitt"):
        Judge(PolicyLibrary.load(POLICIES), workers=0, split=[("overcommitt",)])
