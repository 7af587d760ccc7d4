"""One review judged by the policy library: findings in, an admission decision out.

This is the only place that calls the policy engine, with the input CI uses (`build_input`'s
document, serialised by documents.py): the reviewed object under `objects`, the rest of its
namespace as the cluster (a context the engine holds across reviews), the namespace's
environment. A deny finding rejects the request with 403 and names every denying policy; warn
findings become AdmissionReview `warnings`, which kubectl prints as `Warning:` lines.

The engine is compiled once (regorus, the default) and used from the event loop's thread only:
regorus engines are `unsendable` and panic when touched (or freed) on another thread, which is
why the kopf handlers are `async def` (kopf runs plain `def` handlers in a thread pool) and why
the engine is held per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

from modelops.errors import UsageError
from modelops.policy import Finding, PolicyEngine, PolicyLibrary, create_engine
from modelops.policy.inputs import Manifest

from modelops_plugins.admission.documents import InputDocuments
from modelops_plugins.admission.workers import PolicyWorkers

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

    With `workers`, reviews are evaluated in that many worker processes (workers.py), each
    with its own compiled engine, which keeps the event loop free and uses every core. With
    `split` too, each review is shared out: one worker evaluates each named group of policies
    and one more the policies no group names; once reviews queue, each worker that comes free
    judges the oldest whole.
    """

    def __init__(self, library: PolicyLibrary, engine: str = "regorus",
                 workers: int = 0, split: Sequence[Sequence[str]] = ()) -> None:
        self.library = library
        self.engine_kind = engine
        self.policies = tuple(p.name for p in library.policies)
        # One engine per thread, dropped with its thread: regorus engines may neither be used
        # nor freed on another thread. The operator uses exactly one (the event loop's).
        self._local = threading.local()
        self.engine()   # compile now: a broken library fails at start, not on a request
        shares = partitions(library, split)   # checked even without workers: a typo fails now
        self._workers = (PolicyWorkers(workers, library.root, engine, shares)
                         if workers > 0 else None)
        # Facts are computed on the thread that builds the document, with its own engine.
        self._documents = InputDocuments(lambda cluster: self.engine().cluster_facts(cluster))

    @classmethod
    def load(cls, policies: Path, engine: str = "regorus", workers: int = 0,
             split: Sequence[Sequence[str]] = ()) -> Judge:
        return cls(PolicyLibrary.load(policies), engine, workers, split)

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    async def review_async(self, obj: Manifest, cluster: Sequence[Manifest],
                           environment: Mapping[str, Any] | None,
                           notes: Sequence[str] = (),
                           previous: Manifest | None = None) -> Verdict:
        """Judge `obj` in its namespace, in a worker process when there are workers;
        `previous` is the object it replaces (an UPDATE's oldObject), if any.

        Raises PolicyEngineError if a policy is broken.
        """
        review = self._documents.build(obj, cluster, environment or {}, previous)
        if self._workers is None:
            findings = self.engine().evaluate_in_context(*review)
        else:
            findings = await self._workers.evaluate(review)
        return _verdict(findings, notes)

    def engine(self) -> PolicyEngine:
        engine: PolicyEngine | None = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = create_engine(self.library, self.engine_kind)
        return engine


def partitions(library: PolicyLibrary,
               split: Sequence[Sequence[str]]) -> list[tuple[str, ...]] | None:
    """The named groups and the rest of the library: every policy in exactly one partition.

    Raises UsageError for a name the library lacks or one named twice.
    """
    if not split:
        return None
    named = [name for group in split for name in group]
    library.only(named)   # raises for an unknown name
    if len(set(named)) != len(named):
        raise UsageError(f"a policy is named in more than one group: {', '.join(named)}")
    rest = tuple(p.name for p in library.policies if p.name not in named)
    groups = [tuple(group) for group in split if group]
    return groups + [rest] if rest else groups


def _verdict(findings: Sequence[Finding], notes: Sequence[str]) -> Verdict:
    denials = tuple(f for f in findings if f.severity == "deny")
    warns = [f"[{f.policy}] {f.message}" for f in findings if f.severity == "warn"]
    return Verdict(denials, bounded_warnings([*notes, *warns]))


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
