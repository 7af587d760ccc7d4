"""Policy worker processes: each compiles the library once and evaluates the reviews it is sent.

Why processes: the engine holds the GIL while it evaluates, so evaluating on the event loop
makes every review wait for the one being judged and caps the webhook at one core. Why not
ProcessPoolExecutor: its feeder and result threads add their own hand-offs to every call and
to its tail latency (`make bench SUITE=admission`). Instead each worker has its
own pipe, written with `send_bytes` and read by the event loop itself (`add_reader`): no
threads; the review goes as JSON text (documents.py: the document and its namespace's
context, which each worker parses once and holds), the findings come back pickled.

With shares (`--policy-split`), a review is judged by several workers at once, worker i
evaluating share i modulo their number (the policies are independent; findings are merged in
the usual order). That cuts a review's latency almost in half, for some extra CPU: every share
parses the input and computes the shared helpers it needs (plugins/README.md). That trade is
right while reviews come one at a time and wrong once they queue: then the workers are the
bottleneck and the extra CPU only lengthens the queue. So reviews that find a worker of every
share idle are shared out, and once two or more reviews wait, each worker that comes free takes
the oldest waiting review whole (every worker has compiled the whole library as well as its
share): under a burst the queue drains at the speed of whole reviews (plugins/README.md).

Workers run as SCHED_BATCH (Linux; any process may choose it): woken by the job the event loop
writes, a normal task preempts the loop on the loop's own CPU, before the loop has written the
review's other share, which then starts late. A batch task never preempts another on waking;
otherwise it gets the same share of the CPU.

A worker is lent to one review at a time and taken back only when its answer arrives, so a
review abandoned half-way (the apiserver gave up) can never hand its answer to the next one.
A worker that dies fails the review it held with PolicyEngineError (the apiserver then fails
closed) and is replaced in the background; until the replacement has compiled the library
(seconds), a share may have no worker, and reviews are judged whole by the workers left.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import pickle
import signal
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from modelops.errors import UsageError
from modelops.policy import Finding, PolicyEngineError, PolicyLibrary, create_engine
from modelops.policy.engine import Context
from modelops.policy.findings import ordered

from modelops_plugins.admission.documents import Review

logger = logging.getLogger(__name__)

START_TIMEOUT = 120.0   # seconds for a worker to import and compile the library
SHARE: Final = 0        # the job that asks a worker for its share of the policies
WHOLE: Final = 1        # ... and the one that asks for the whole library


@dataclass(eq=False)
class _Worker:
    process: Any   # multiprocessing.context.SpawnProcess (not exported for typing)
    connection: Connection
    share: int   # index into PolicyWorkers._shares
    pending: asyncio.Future[list[Finding]] | None = field(default=None)


class PolicyWorkers:
    """`count` worker processes evaluating policy inputs (JSON text) for one event loop.

    `shares` lists the policy names each share of a shared-out review evaluates (None: reviews
    are always judged whole); worker i serves share i modulo their number, so `count` must be a
    multiple of it. `judged` counts the reviews judged each way ("shared", "whole").
    """

    def __init__(self, count: int, policies: Path, engine: str,
                 shares: Sequence[Sequence[str]] | None = None) -> None:
        self._shares: tuple[tuple[str, ...] | None, ...] = (
            tuple(tuple(names) for names in shares) if shares else (None,))
        if count < 1 or count % len(self._shares):
            raise UsageError(f"{count} policy workers cannot serve "
                             f"{len(self._shares)} shares evenly")
        self._context = multiprocessing.get_context("spawn")   # the operator has threads
        self._policies = policies
        self._engine = engine
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[list[_Worker]] = [[] for _ in self._shares]
        self._waiting: deque[asyncio.Future[list[_Worker]]] = deque()
        self._workers: list[_Worker] = []
        self._closed = False
        self.judged = {"shared": 0, "whole": 0}
        for index in range(count):   # every worker compiled before the first review
            self._workers.append(self._spawn(index % len(self._shares)))

    def _spawn(self, share: int) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(theirs, self._policies,
                                                             self._engine,
                                                             self._shares[share]),
                                        name="modelops-policy-worker", daemon=True)
        process.start()
        theirs.close()
        if not ours.poll(START_TIMEOUT):
            process.kill()
            raise PolicyEngineError("a policy worker did not start in time")
        try:
            status, detail = pickle.loads(ours.recv_bytes())
        except (EOFError, OSError) as exc:
            raise PolicyEngineError(f"a policy worker died while starting: {exc}") from exc
        if status != "ready":
            process.join(5)
            raise PolicyEngineError(f"a policy worker could not load the library: {detail}")
        return _Worker(process, ours, share)

    def _attach(self) -> asyncio.AbstractEventLoop:
        """Bind to the running loop on first use (the operator's loop starts after __init__)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            for worker in self._workers:
                self._enlist(worker)
        return self._loop

    def _enlist(self, worker: _Worker) -> None:
        assert self._loop is not None
        self._loop.add_reader(worker.connection.fileno(), self._answered, worker)
        self._give_back(worker)

    def _give_back(self, worker: _Worker) -> None:
        self._idle[worker.share].append(worker)
        self._hand_out()

    def _hand_out(self) -> None:
        """Idle workers to waiting reviews, oldest first: a worker of every share if there is
        one, else (two or more waiting: a queue; or a share left without a live worker until
        its replacement starts) one worker for a whole review."""
        while self._waiting:
            oldest = self._waiting[0]
            if oldest.done():   # that review was abandoned while it waited
                self._waiting.popleft()
            elif all(self._idle):
                self._waiting.popleft().set_result([idle.pop() for idle in self._idle])
            elif any(self._idle) and (len(self._waiting) > 1 or not self._every_share_served()):
                worker = next(idle for idle in self._idle if idle).pop()
                self._waiting.popleft().set_result([worker])
            else:
                return

    def _every_share_served(self) -> bool:
        return len({worker.share for worker in self._workers}) == len(self._shares)

    async def _borrow(self, loop: asyncio.AbstractEventLoop) -> list[_Worker]:
        """A worker of every share, or one worker for the whole library (see the docstring)."""
        waiter: asyncio.Future[list[_Worker]] = loop.create_future()
        self._waiting.append(waiter)
        self._hand_out()
        try:
            return await waiter
        except BaseException:   # abandoned: workers handed over meanwhile are never used
            if waiter.done() and not waiter.cancelled():
                for worker in waiter.result():
                    self._give_back(worker)
            raise

    async def evaluate(self, review: Review) -> list[Finding]:
        if self._closed:
            raise PolicyEngineError("the policy workers are shut down")
        loop = self._attach()
        lent = await self._borrow(loop)
        shared = len(lent) > 1
        job = pickle.dumps((SHARE if shared else WHOLE, *review.context, review.document,
                            review.kind), protocol=pickle.HIGHEST_PROTOCOL)
        self.judged["shared" if shared else "whole"] += 1
        answers: list[asyncio.Future[list[Finding]]] = []
        for worker in lent:
            answer: asyncio.Future[list[Finding]] = loop.create_future()
            worker.pending = answer
            answers.append(answer)
            try:
                worker.connection.send_bytes(job)
            except OSError:
                self._lost(worker)
        if len(answers) == 1:
            return await answers[0]
        shares = await asyncio.gather(*answers, return_exceptions=True)
        for share in shares:
            if isinstance(share, BaseException):
                raise share
        return ordered(f for share in shares if not isinstance(share, BaseException)
                       for f in share)

    def _answered(self, worker: _Worker) -> None:
        try:
            status, detail = pickle.loads(worker.connection.recv_bytes())
        except (EOFError, OSError):
            self._lost(worker)
            return
        answer, worker.pending = worker.pending, None
        if answer is not None and not answer.done():   # done: the review was abandoned
            if status == "ok":
                answer.set_result(detail)
            else:
                answer.set_exception(PolicyEngineError(detail))
        self._give_back(worker)

    def _lost(self, worker: _Worker) -> None:
        """The worker died: fail its review, replace it without blocking the loop."""
        if worker not in self._workers:   # already lost (a failed send, then its EOF)
            return
        assert self._loop is not None
        self._loop.remove_reader(worker.connection.fileno())
        worker.connection.close()
        self._workers.remove(worker)
        if worker in self._idle[worker.share]:   # it died between reviews
            self._idle[worker.share].remove(worker)
        answer, worker.pending = worker.pending, None
        if answer is not None and not answer.done():
            answer.set_exception(PolicyEngineError(
                f"policy worker {worker.process.pid} died (exit code {worker.process.exitcode})"))
        if self._closed:
            return
        logger.error("policy worker %s died; starting another", worker.process.pid)
        replacement = self._loop.run_in_executor(None, self._spawn, worker.share)
        replacement.add_done_callback(self._replaced)

    def _replaced(self, done: asyncio.Future[_Worker]) -> None:
        if done.cancelled() or done.exception() is not None or self._closed:
            logger.error("could not replace a policy worker: %s",
                         None if done.cancelled() else done.exception())
            return
        worker = done.result()
        self._workers.append(worker)
        self._enlist(worker)

    def close(self) -> None:
        self._closed = True
        for worker in self._workers:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(worker.connection.fileno())
            worker.connection.close()   # the worker reads EOF and exits
        for worker in self._workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)
        self._workers.clear()
        for idle in self._idle:
            idle.clear()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]


def _serve(connection: Connection, policies: Path, engine_kind: str,
           share: tuple[str, ...] | None) -> None:
    """The worker: compile, say ready, then answer one job per message until EOF.

    A message is a pickled (SHARE or WHOLE, context id, context text, input document, kind
    under review); each engine holds the contexts it has parsed (modelops.policy.engine.Context),
    so a namespace's context is parsed again only when it changes.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the operator decides when workers stop
    _run_as_batch()
    try:
        library = PolicyLibrary.load(policies)
        whole = create_engine(library, engine_kind)
        engines = {WHOLE: whole, SHARE: whole if share is None
                   else create_engine(library.only(share), engine_kind)}
    except Exception as exc:   # anything: the parent reports it and refuses to start
        connection.send_bytes(pickle.dumps(("failed", str(exc))))
        return
    # What the start built (imports, the library, the engines) leaves the collector's view:
    # otherwise each full collection walks it, and every worker reaches its threshold
    # after about as many reviews as the others, so they stall together (handlers.py: the
    # plugin's own heap).
    gc.collect()
    gc.freeze()
    connection.send_bytes(pickle.dumps(("ready", None)))
    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            job, context_id, context_text, document, kind = pickle.loads(message)
            answer: tuple[str, Any] = ("ok", engines[job].evaluate_in_context(
                Context(context_id, context_text), document, kind))
        except PolicyEngineError as exc:
            answer = ("error", str(exc))
        connection.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def _run_as_batch() -> None:
    """SCHED_BATCH for this process (the module docstring says why); elsewhere, as it is."""
    if not hasattr(os, "SCHED_BATCH"):
        return
    # A seccomp profile may forbid it: then slower under load, still correct.
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
