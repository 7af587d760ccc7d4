"""One batch scored: the requests it takes, and one output line per record, in order.

A batch read as `Uniform` (every record one row of the same inputs) is one request. Anything
else is grouped by what records must share to stack (`RecordInputs.key`), one request per
group. A request the server refuses is split in halves until the records it refuses are alone;
each of those fails with the server's message and its neighbours are scored. Halves are sent
without retrying a 5xx: the whole already showed the error persists. A server that stays
unavailable raises `UnavailableError`, which stops the run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from modelops_plugins.batch import shards, tensors
from modelops_plugins.batch.client import AsyncV2, CallError, CallStats, Retries, with_retries
from modelops_plugins.batch.outputs import failure_line, result_lines, whole_line

Failures = list[tuple[int, str]]   # (record number, why)


class UnavailableError(Exception):
    """The server stayed unreachable; the run stops and can be resumed."""


class Scorer:
    def __init__(self, client: AsyncV2, model: str, concurrency: int,
                 retries: Retries) -> None:
        self.client = client
        self.model = model
        self.retries = retries
        self.contract = tensors.Contract(None)
        self.stats = CallStats()
        self.gate = asyncio.Semaphore(concurrency)

    async def score(self, batch: shards.Batch) -> tuple[list[str], Failures]:
        """The batch's output lines, in record order, and the records that failed."""
        if batch.uniform is not None:
            scored = await self._score_uniform(batch, batch.uniform)
            if scored is not None:
                return scored
            return await _Lines(self, batch).score(refused=True)
        return await _Lines(self, batch).score(refused=False)

    async def send(self, inputs: Sequence[tuple[str, str, Any]], outputs: Sequence[str],
                   request_id: str, parameters: dict[str, Any] | None, *,
                   retry_server_errors: bool) -> tuple[str, Any]:
        async def call() -> tuple[str, Any]:
            async with self.gate:
                return await self.client.infer(self.model, inputs, outputs, request_id,
                                               parameters)

        try:
            result: tuple[str, Any] = await with_retries(
                call, self.retries, self.stats, self.client.url,
                retry_server_errors=retry_server_errors)
        except CallError as failure:
            if failure.kind == "unavailable":
                raise UnavailableError(failure.message) from None
            raise
        return result

    async def _score_uniform(self, batch: shards.Batch,
                             uniform: tensors.Uniform) -> tuple[list[str], Failures] | None:
        """None when the server refused the batch or its outputs cannot be cut per record:
        then it is scored record by record."""
        numbers = [r.number for r in batch.records]
        problem = self.contract.problem(uniform.template())
        if problem is not None:
            return [failure_line(n, problem) for n in numbers], [(n, problem) for n in numbers]
        try:
            model, answer = await self.send(uniform.tensors, self.contract.outputs, "", None,
                                            retry_server_errors=True)
        except CallError:
            return None
        lines = result_lines(model, numbers, [1] * len(numbers), answer)
        return (lines, []) if lines is not None else None


class _Lines:
    """The record-by-record path of one batch: output lines filled in as groups are scored."""

    def __init__(self, scorer: Scorer, batch: shards.Batch) -> None:
        self.scorer = scorer
        self.numbers = [r.number for r in batch.records]
        self.decoded = batch.decoded()
        self.lines: list[str] = [""] * len(self.numbers)
        self.failures: Failures = []

    def fail(self, position: int, why: str) -> None:
        self.lines[position] = failure_line(self.numbers[position], why)
        self.failures.append((self.numbers[position], why))

    async def score(self, *, refused: bool) -> tuple[list[str], Failures]:
        groups: dict[Any, list[int]] = {}
        contract = self.scorer.contract
        for position, decoded in enumerate(self.decoded):
            if isinstance(decoded, str):
                self.fail(position, decoded)
                continue
            problem = contract.problem(decoded)
            if problem is not None:
                self.fail(position, problem)
                continue
            key = decoded.key if decoded.key is not None else ("alone", position)
            groups.setdefault(key, []).append(position)
        for positions in groups.values():
            if refused and len(positions) > 1:
                await self._halves(positions)
            else:
                await self._group(positions, retry_server_errors=True)
        self.failures.sort()
        return self.lines, self.failures

    def _inputs(self, positions: Sequence[int]) -> list[tensors.RecordInputs]:
        found = [self.decoded[p] for p in positions]
        return [r for r in found if isinstance(r, tensors.RecordInputs)]

    async def _group(self, positions: Sequence[int], *, retry_server_errors: bool) -> None:
        records = self._inputs(positions)
        first = records[0]
        try:
            model, answer = await self.scorer.send(
                tensors.merge(records), first.outputs or self.scorer.contract.outputs,
                first.request_id if len(records) == 1 else "",
                json.loads(first.parameters) if first.parameters else None,
                retry_server_errors=retry_server_errors)
        except CallError as failure:
            if len(positions) == 1:
                self.fail(positions[0], failure.message)
            else:
                await self._halves(positions)
            return
        lines = result_lines(model, [self.numbers[p] for p in positions],
                             [r.rows or 0 for r in records], answer,
                             [r.request_id for r in records])
        if lines is None and len(positions) == 1:
            lines = [whole_line(model, self.numbers[positions[0]], first.request_id, answer)]
        if lines is None:   # outputs without a row per input row: one record per request
            for position in positions:
                await self._group([position], retry_server_errors=True)
            return
        for position, line in zip(positions, lines, strict=True):
            self.lines[position] = line

    async def _halves(self, positions: Sequence[int]) -> None:
        middle = len(positions) // 2
        for half in (positions[:middle], positions[middle:]):
            await self._group(half, retry_server_errors=False)
