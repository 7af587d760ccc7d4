"""Policy worker processes: each compiles the library once and evaluates the reviews it is sent.

Why processes: the engine holds the GIL while it evaluates (about 2 ms for a prod-shaped
namespace), so evaluating on the event loop makes every review wait for the one being judged
and caps the webhook at one core. Why not ProcessPoolExecutor: its feeder and result threads
cost about 0.5 ms per call and several ms at p99 (measured here). Instead each worker has its
own pipe, written with `send_bytes` and read by the event loop itself (`add_reader`): no
threads; the input goes as JSON text (documents.py), the findings come back pickled.

With partitions, one review is judged by several workers at once, each evaluating its share
of the policies (the policies are independent; findings are merged in the usual order). Where
the policies' costs split well, that cuts a review's latency almost in half for some extra CPU:
each partition computes the shared helpers it needs (measured in plugins/README.md).

A worker is lent to one review at a time and taken back only when its answer arrives, so a
review abandoned half-way (the apiserver gave up) can never hand its answer to the next one.
A worker that dies fails the review it held with PolicyEngineError (the apiserver then fails
closed) and is replaced in the background.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import pickle
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from modelops.errors import UsageError
from modelops.policy import Finding, PolicyEngineError, PolicyLibrary
from modelops.policy.findings import ordered

logger = logging.getLogger(__name__)

START_TIMEOUT = 120.0   # seconds for a worker to import and compile the library


@dataclass(eq=False)
class _Worker:
    process: Any   # multiprocessing.context.SpawnProcess (not exported for typing)
    connection: Connection
    partition: int
    pending: asyncio.Future[list[Finding]] | None = field(default=None)


class PolicyWorkers:
    """`count` worker processes evaluating policy inputs (JSON text) for one event loop.

    `partitions` lists the policy names each share of a review evaluates (None: one share, the
    whole library); worker i serves partition i modulo their number, so `count` must be a
    multiple of it.
    """

    def __init__(self, count: int, policies: Path, engine: str,
                 partitions: Sequence[Sequence[str]] | None = None) -> None:
        self._partitions: tuple[tuple[str, ...] | None, ...] = (
            tuple(tuple(names) for names in partitions) if partitions else (None,))
        if count < 1 or count % len(self._partitions):
            raise UsageError(f"{count} policy workers cannot serve "
                             f"{len(self._partitions)} partitions evenly")
        self._context = multiprocessing.get_context("spawn")   # the operator has threads
        self._policies = policies
        self._engine = engine
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[asyncio.Queue[_Worker]] | None = None
        self._workers: list[_Worker] = []
        self._closed = False
        for index in range(count):   # every worker compiled before the first review
            self._workers.append(self._spawn(index % len(self._partitions)))

    def _spawn(self, partition: int) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(theirs, self._policies,
                                                             self._engine,
                                                             self._partitions[partition]),
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
        return _Worker(process, ours, partition)

    def _attach(self) -> list[asyncio.Queue[_Worker]]:
        """Bind to the running loop on first use (the operator's loop starts after __init__)."""
        if self._idle is None:
            self._loop = asyncio.get_running_loop()
            self._idle = [asyncio.Queue() for _ in self._partitions]
            for worker in self._workers:
                self._enlist(worker)
        return self._idle

    def _enlist(self, worker: _Worker) -> None:
        assert self._loop is not None and self._idle is not None
        self._loop.add_reader(worker.connection.fileno(), self._answered, worker)
        self._idle[worker.partition].put_nowait(worker)

    async def evaluate(self, document: str) -> list[Finding]:
        if self._closed:
            raise PolicyEngineError("the policy workers are shut down")
        idle = self._attach()
        payload = document.encode()
        lent: list[_Worker] = []
        try:   # one worker of each partition, always taken in partition order: no deadlock
            for queue in idle:
                lent.append(await queue.get())
        except BaseException:   # abandoned while waiting: what it holds was never used
            for worker in lent:
                idle[worker.partition].put_nowait(worker)
            raise
        assert self._loop is not None
        answers: list[asyncio.Future[list[Finding]]] = []
        for worker in lent:
            answer: asyncio.Future[list[Finding]] = self._loop.create_future()
            worker.pending = answer
            answers.append(answer)
            try:
                worker.connection.send_bytes(payload)
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
        assert self._idle is not None
        self._idle[worker.partition].put_nowait(worker)

    def _lost(self, worker: _Worker) -> None:
        """The worker died: fail its review, replace it without blocking the loop."""
        assert self._loop is not None
        self._loop.remove_reader(worker.connection.fileno())
        worker.connection.close()
        self._workers.remove(worker)
        answer, worker.pending = worker.pending, None
        if answer is not None and not answer.done():
            answer.set_exception(PolicyEngineError(
                f"policy worker {worker.process.pid} died (exit code {worker.process.exitcode})"))
        if self._closed:
            return
        logger.error("policy worker %s died; starting another", worker.process.pid)
        replacement = self._loop.run_in_executor(None, self._spawn, worker.partition)
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

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]


def _serve(connection: Connection, policies: Path, engine_kind: str,
           partition: tuple[str, ...] | None) -> None:
    """The worker: compile, say ready, then answer one input per message until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the operator decides when workers stop
    try:
        library = PolicyLibrary.load(policies)
        engine = (library if partition is None else library.only(partition)).engine(engine_kind)
    except Exception as exc:   # anything: the parent reports it and refuses to start
        connection.send_bytes(pickle.dumps(("failed", str(exc))))
        return
    connection.send_bytes(pickle.dumps(("ready", None)))
    while True:
        try:
            document = connection.recv_bytes().decode()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", engine.evaluate_json(document))
        except PolicyEngineError as exc:
            answer = ("error", str(exc))
        connection.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
