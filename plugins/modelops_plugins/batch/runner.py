"""The scoring loop: batches in flight concurrently, results written in input order.

Batches are read and decoded in order and sent as tasks; at most `concurrency` requests are in
flight (a semaphore) and at most twice that many batches are held, so memory is bounded by
concurrency × batch size whatever the input's size. Results are taken from the oldest batch
first, so each shard's lines come out in input order even though requests finish in any order.
A finished shard is committed (fsync, renames) in a thread while the next one is scored; the
manifest is written once every commit has ended.

A server that stays unavailable after the retries stops the run: finished shards stay, the
unfinished one is discarded, and the manifest says why (a rerun resumes). More failures than
`max_failures` stop it the same way. What one batch takes is `scoring`'s.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modelops.errors import UsageError

from modelops_plugins.batch import shards, tensors
from modelops_plugins.batch.client import AsyncV2, CallError, CallStats, Retries, with_retries
from modelops_plugins.batch.outputs import (
    COMPLETE,
    MANIFEST,
    Failure,
    RunFolder,
    ShardState,
    ShardWriter,
    part_name,
)
from modelops_plugins.batch.progress import Progress
from modelops_plugins.batch.records import InputFileError, TensorChoice
from modelops_plugins.batch.scoring import Scorer, UnavailableError
from modelops_plugins.batch.sources import InputFile

MANIFEST_FAILURES = 10_000   # failures listed in the manifest; the count is always exact
BAD_INPUT = "bad input"      # a file could not be read: the run stops, exit 2


@dataclass(frozen=True)
class Plan:
    model: str
    files: list[InputFile]
    batch_size: int
    concurrency: int
    shard_size: int
    max_failures: int
    retries: Retries
    description: dict[str, Any]   # input, url, protocol... for the manifest


@dataclass
class Outcome:
    status: str            # complete | interrupted | stopped | bad input
    reason: str = ""
    scored: int = 0
    failed: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)


class Run:
    def __init__(self, plan: Plan, client: AsyncV2, folder: RunFolder,
                 progress: Progress) -> None:
        self.plan = plan
        self.client = client
        self.folder = folder
        self.progress = progress
        self.scorer = Scorer(client, plan.model, plan.concurrency, plan.retries)
        self.choice: TensorChoice | None = None
        self.offsets = {}
        offset = 0
        for source in plan.files:
            self.offsets[source.display] = offset
            offset += source.size
        self.failed = sum(s.failed for s in folder.done.values())
        self.scored = 0
        self.failed_now = 0
        self.listed = sum(len(s.failures) for s in folder.done.values())
        self.writer: ShardWriter | None = None
        self.commits: list[asyncio.Future[None]] = []
        self.current: ShardState | None = None
        self.source: InputFile | None = None

    async def _prepare(self, input_name: str | None, datatype: str | None) -> None:
        """The model's declared inputs (records are checked against them) and, for CSV and
        .npy rows, the tensor they become."""
        plan = self.plan
        try:
            metadata = await with_retries(lambda: self.client.metadata(plan.model),
                                          plan.retries, CallStats(), self.client.url)
        except CallError as failure:
            if failure.kind == "unavailable":
                raise UnavailableError(failure.message) from None
            metadata = None
            self.progress.note(f"no metadata for model {plan.model!r} ({failure.message}); "
                               "records are not checked against its inputs before sending")
        self.scorer.contract = tensors.Contract(metadata)
        if plan.files[0].format == "jsonl":
            return
        declared = metadata["inputs"] if metadata is not None else []
        name = input_name or (declared[0]["name"] if declared else None)
        if name is None:
            raise UsageError(f"model {plan.model!r} declares no inputs: give --input-name "
                             "(and --datatype) for CSV and .npy rows")
        spec = next((d for d in declared if d["name"] == name), None)
        chosen = datatype or (spec["datatype"] if spec is not None else None)
        if chosen is None and plan.files[0].format == "csv":
            raise UsageError(f"the model declares no datatype for input {name!r}: give "
                             "--datatype for CSV rows")
        self.choice = TensorChoice(name, chosen)

    async def execute(self, *, input_name: str | None = None,
                      datatype: str | None = None) -> Outcome:
        started = datetime.now(UTC)
        clock = time.monotonic()
        pending: deque[tuple[shards.Event, asyncio.Task[Any] | None]] = deque()
        in_flight = 0
        status, reason = COMPLETE, ""
        try:
            try:
                await self._prepare(input_name, datatype)
                events = shards.events(self.plan.files, shard_size=self.plan.shard_size,
                                       batch_size=self.plan.batch_size,
                                       done={i: (s.file, s.records)
                                             for i, s in self.folder.done.items()},
                                       choice=self.choice)
                while True:
                    try:
                        event = next(events)
                    except StopIteration:
                        break
                    except InputFileError as exc:   # what was read before it is still written
                        status, reason = BAD_INPUT, str(exc)
                        break
                    if isinstance(event, shards.ShardSkipped):
                        self.progress.skipped(part_name(event.index), event.records,
                                              self._offset(event.source, event.position))
                        continue
                    task = None
                    if isinstance(event, shards.Batch):
                        task = asyncio.ensure_future(self.scorer.score(event))
                        in_flight += 1
                    pending.append((event, task))
                    while in_flight > 2 * self.plan.concurrency:
                        in_flight -= await self._drain_one(pending)
                    if self.failed > self.plan.max_failures:
                        break
                while pending and self.failed <= self.plan.max_failures:
                    in_flight -= await self._drain_one(pending)
                if self.failed > self.plan.max_failures:
                    status = "stopped"
                    reason = (f"more than --max-failures {self.plan.max_failures} record(s) "
                              f"failed ({self.failed} so far); the rest was not scored")
            except UnavailableError as exc:
                status, reason = "interrupted", f"{exc}; rerun the same command to resume"
            except OSError as exc:
                status, reason = "interrupted", (f"cannot write to {self.folder.display}: "
                                                 f"{exc.strerror or exc}")
        finally:
            for _, task in pending:
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for _, t in pending if t is not None),
                                 return_exceptions=True)
            if self.writer is not None:   # a shard the run stopped in: never half written
                self.writer.discard()
                self.writer = None
            for outcome in await asyncio.gather(*self.commits, return_exceptions=True):
                if isinstance(outcome, OSError):
                    status, reason = "interrupted", (f"cannot write to {self.folder.display}: "
                                                     f"{outcome.strerror or outcome}")
        unwritten = self.current.failures if self.current is not None else []
        manifest = self._manifest(status, reason, started, time.monotonic() - clock,
                                  unwritten)
        self.folder.write_json(MANIFEST, manifest)
        return Outcome(status, reason, self.scored, self.failed, manifest)

    async def _commit(self, writer: ShardWriter, state: ShardState, index: int) -> None:
        await asyncio.to_thread(writer.commit, state)
        self.folder.done[index] = state
        self.progress.shard_written(part_name(index))

    def _offset(self, source: InputFile, position: int) -> int:
        return self.offsets[source.display] + position

    async def _drain_one(self, pending: deque[tuple[shards.Event, Any]]) -> int:
        """Handle the oldest event; 1 when it was a batch (no longer in flight)."""
        event, task = pending[0]
        if isinstance(event, shards.ShardStart):
            pending.popleft()
            self.writer = self.folder.begin(event.index)
            self.current = ShardState(event.index, event.source.display, 0, 0, 0, 0)
            self.source = event.source
            return 0
        if isinstance(event, shards.ShardEnd):
            pending.popleft()
            assert self.writer is not None and self.current is not None
            # fsync and renames in a thread, while the next shard is read and scored
            for finished in [c for c in self.commits if c.done()]:
                self.commits.remove(finished)
                finished.result()   # an OSError stops the run
            self.commits.append(asyncio.ensure_future(
                self._commit(self.writer, self.current, event.index)))
            self.writer = self.current = None
            return 0
        assert isinstance(event, shards.Batch) and self.current is not None
        lines, failures = await task
        pending.popleft()
        assert self.writer is not None and self.source is not None
        self.writer.write(lines)
        state = self.current
        if not state.records:
            state.first_record = event.records[0].number
        state.last_record = event.records[-1].number
        state.records += len(lines)
        state.failed += len(failures)
        listed = [Failure(state.file, number, why) for number, why in failures][
            :max(0, MANIFEST_FAILURES - self.listed)]
        state.failures += listed
        self.listed += len(listed)
        self.failed += len(failures)
        self.failed_now += len(failures)
        self.scored += len(lines) - len(failures)
        self.progress.advance(len(lines), len(failures),
                              self._offset(self.source, event.position))
        return 1

    def _manifest(self, status: str, reason: str, started: datetime, seconds: float,
                  unwritten: list[Failure]) -> dict[str, Any]:
        """`unwritten`: failures found in a shard the run stopped in (not written)."""
        done = [self.folder.done[i] for i in sorted(self.folder.done)]
        records = sum(s.records for s in done)
        failed = sum(s.failed for s in done)
        failures = [vars(f) for s in done for f in s.failures]
        failures += [{**vars(f), "unwritten": True} for f in unwritten]
        attempt = self.scored + self.failed_now
        return {
            "status": status,
            **({"reason": reason} if reason else {}),
            **self.plan.description,
            "records": {"written": records, "scored": records - failed, "failed": failed},
            "failures": failures,
            "failuresListed": len(failures),
            "shards": [{"part": part_name(s.index), "file": s.file,
                        "firstRecord": s.first_record, "lastRecord": s.last_record,
                        "records": s.records, "failed": s.failed} for s in done],
            "timings": {"started": started.isoformat(timespec="seconds"),
                        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                        "seconds": round(seconds, 3),
                        "recordsThisAttempt": attempt,
                        "recordsPerSecond": round(attempt / seconds, 1) if seconds else None,
                        **self.scorer.stats.summary()},
        }
