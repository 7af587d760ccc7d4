"""One review judged by the policy library: findings in, an admission decision out.

This is the only place that calls the policy engine, with the input CI uses (`build_input`):
the reviewed object under `objects`, the rest of its namespace under `cluster`, the namespace's
environment. A deny finding rejects the request with 403 and names every denying policy; warn
findings become AdmissionReview `warnings`, which kubectl prints as `Warning:` lines.

The engine is compiled once (regorus, the default) and used from the event loop's thread only:
regorus engines are `unsendable` and panic when touched (or freed) on another thread, which is
why the kopf handlers are `async def` (kopf runs plain `def` handlers in a thread pool) and why
the engine is held per thread.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Final, NamedTuple

from modelops.policy import Finding, PolicyEngine, PolicyInput, PolicyLibrary, build_input
from modelops.policy.inputs import Manifest

# kubectl shows each warning as a header; the apiserver may cut one at 256 characters and
# drops them past 4096 in total (Kubernetes docs, admission webhooks: "Response").
WARNING_LIMIT: Final = 256
WARNINGS_TOTAL_LIMIT: Final = 4096
DENIED: Final = 403
BROKEN: Final = 500


class Verdict(NamedTuple):
    denials: tuple[Finding, ...]
    warnings: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.denials

    def message(self) -> str:
        """What the user sees after `admission webhook ... denied the request:`."""
        return "; ".join(f"policy {f.policy} denies {f.object}: {f.message}"
                         for f in self.denials)


class Judge:
    """The policy library, compiled once per thread, answering reviews.

    With `workers`, reviews are evaluated in that many worker processes, each with its own
    compiled engine: the engine holds the GIL while it evaluates (a few ms per review), so in
    process one core caps the webhook at a few hundred reviews/s and every review queues behind
    the one being judged. Workers keep the event loop free and use every core.
    """

    def __init__(self, library: PolicyLibrary, engine: str = "regorus",
                 workers: int = 0) -> None:
        self.library = library
        self.engine_kind = engine
        self.policies = tuple(p.name for p in library.policies)
        # One engine per thread, dropped with its thread: regorus engines may neither be used
        # nor freed on another thread. The operator uses exactly one (the event loop's).
        self._local = threading.local()
        self.engine()   # compile now: a broken library fails at start, not on a request
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            # spawn, not fork: the operator has threads and an event loop by now.
            self._pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(library.root, engine))
            for done in [self._pool.submit(_worker_ready) for _ in range(workers)]:
                done.result()   # every worker compiled before the first review

    @classmethod
    def load(cls, policies: Path, engine: str = "regorus", workers: int = 0) -> Judge:
        return cls(PolicyLibrary.load(policies), engine, workers)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def review_async(self, obj: Manifest, cluster: Sequence[Manifest],
                           environment: Mapping[str, Any] | None,
                           notes: Sequence[str] = ()) -> Verdict:
        """`review`, in a worker process when there are workers."""
        if self._pool is None:
            return self.review(obj, cluster, environment, notes)
        document = build_input([obj], cluster=cluster, environment=environment or {})
        loop = asyncio.get_running_loop()
        findings = await loop.run_in_executor(self._pool, _evaluate_in_worker, document)
        return _verdict(findings, notes)

    def engine(self) -> PolicyEngine:
        engine: PolicyEngine | None = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self.library.engine(self.engine_kind)
        return engine

    def review(self, obj: Manifest, cluster: Sequence[Manifest],
               environment: Mapping[str, Any] | None, notes: Sequence[str] = ()) -> Verdict:
        """Judge `obj` in its namespace. Raises PolicyEngineError if a policy is broken."""
        findings = self.engine().evaluate(build_input([obj], cluster=cluster,
                                                      environment=environment or {}))
        return _verdict(findings, notes)


def _verdict(findings: Sequence[Finding], notes: Sequence[str]) -> Verdict:
    denials = tuple(f for f in findings if f.severity == "deny")
    warns = [f"[{f.policy}] {f.message}" for f in findings if f.severity == "warn"]
    return Verdict(denials, bounded_warnings([*notes, *warns]))


_worker_engine: PolicyEngine | None = None


def _start_worker(policies: Path, engine: str) -> None:
    global _worker_engine
    _worker_engine = PolicyLibrary.load(policies).engine(engine)


def _worker_ready() -> bool:
    return _worker_engine is not None


def _evaluate_in_worker(document: PolicyInput) -> list[Finding]:
    assert _worker_engine is not None
    return _worker_engine.evaluate(document)


def bounded_warnings(lines: Sequence[str]) -> tuple[str, ...]:
    """Each warning cut to WARNING_LIMIT, and no more than WARNINGS_TOTAL_LIMIT in all."""
    kept: list[str] = []
    total = 0
    for index, line in enumerate(lines):
        text = line if len(line) <= WARNING_LIMIT else line[:WARNING_LIMIT - 1] + "…"
        rest = len(lines) - index - 1
        tail = f"… {rest + 1} more warning(s) not shown"
        if total + len(text) + (len(tail) if rest else 0) > WARNINGS_TOTAL_LIMIT:
            kept.append(tail)
            break
        kept.append(text)
        total += len(text)
    return tuple(kept)
