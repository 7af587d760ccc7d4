"""The kopf side: indexes over the cluster, one validating handler per Seldon kind, readiness.

Handlers are registered into a registry passed in (never kopf's global default one), so the
in-cluster operator, local mode, the tests and the benchmark each build exactly the operator
they run, with the login they need and nothing else.

Readiness: kopf fills every index from its initial listing before it runs any event handler
(its `operator_indexed` gate), so the first `@kopf.on.event` call on an indexed kind proves the
indexes are complete. Until then /readyz says 503, so the Service sends no reviews to a replica
that would judge against a partial view of the cluster.

In the plugin's own process (`freeze_heap`, set by `modelops admission run|serve`), the heap is
frozen at that moment (`gc.freeze`): what the start built (kopf, the library, the indexes as
first listed) leaves the garbage collector's view. Without it every full collection walks all
of that with the event loop stopped, and every review in flight waits.

A burst of watch events (a mass sync, a re-list; kmock's emulator replays every object right
after the listing) replaces indexed manifests with new, unfrozen ones, and each event leaves
some of kopf's cyclic garbage, so the next full collection is long and every later one walks
the new manifests again. So once at least `HeapFreeze.burst` index events have been quiet for
`HeapFreeze.quiet` seconds, the heap is collected and frozen again: one pause per burst.

Frozen objects are still freed by reference counting when an index drops them; only cyclic
garbage among them is never collected. What that can keep is bounded by what was alive at
each freeze (the indexes and the reviews then in flight), once at start and once per burst.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

import kopf
from modelops.policy import PolicyEngineError
from modelops.policy.inputs import ENVIRONMENT_CONFIGMAP, Manifest

from modelops_plugins.admission import cluster
from modelops_plugins.admission.resources import (
    CONTEXT,
    ENVIRONMENTS,
    INDEXED,
    OPERATIONS,
    WEBHOOKS,
    Indexed,
)
from modelops_plugins.admission.verdict import BROKEN, DENIED, Judge

logger = logging.getLogger(__name__)


class HeapFreeze(NamedTuple):
    """When a burst of index events is over and the heap is frozen again (module docstring)."""

    burst: int = 200      # index events since the last freeze
    quiet: float = 1.0    # seconds without one


DEFAULT_HEAP_FREEZE: Final = HeapFreeze()


class Readiness:
    """Set once every index has been filled from its initial listing.

    With `freeze_heap`, also freezes the heap then, and again after each burst of index
    events (`index_changed` counts them).
    """

    def __init__(self, freeze_heap: bool = False,
                 heap_freeze: HeapFreeze = DEFAULT_HEAP_FREEZE) -> None:
        self.indexed = asyncio.Event()
        self._freeze_heap = freeze_heap
        self._heap_freeze = heap_freeze
        self._changes = 0
        self._last_change = 0.0
        self.heap_freezes = 0

    def index_changed(self) -> None:
        self._changes += 1
        self._last_change = time.monotonic()

    def mark_indexed(self) -> None:
        if self.indexed.is_set():
            return
        if self._freeze_heap:
            self._freeze()
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:   # called outside the operator: nothing to watch for bursts
                pass
            else:
                loop.call_later(self._heap_freeze.quiet, self._after_burst, loop)
        self.indexed.set()

    def _freeze(self) -> None:
        gc.collect()
        gc.freeze()
        self._changes = 0
        self.heap_freezes += 1

    def _after_burst(self, loop: asyncio.AbstractEventLoop) -> None:
        quiet = time.monotonic() - self._last_change
        if self._changes >= self._heap_freeze.burst and quiet >= self._heap_freeze.quiet:
            started = time.monotonic()
            self._freeze()
            logger.info("heap frozen again after a burst of index events (%.0f ms)",
                        (time.monotonic() - started) * 1000)
        loop.call_later(self._heap_freeze.quiet, self._after_burst, loop)


def register(registry: kopf.OperatorRegistry, judge: Judge, readiness: Readiness) -> None:
    """Indexes, validating handlers and the readiness signal, into `registry`."""
    # `async def`: an index handler is a dict lookup; kopf would run a plain `def` in its
    # thread pool, a thread hop per watch event.
    async def manifest_by_namespace(body: kopf.Body, namespace: str | None,
                                    **_: Any) -> dict[str, Manifest]:
        readiness.index_changed()
        return {namespace or "": cluster.manifest(body)}

    async def environment_by_namespace(body: kopf.Body, namespace: str | None,
                                       **_: Any) -> dict[str, cluster.EnvironmentEntry]:
        readiness.index_changed()
        return {namespace or "": cluster.environment_entry(body)}

    for kind in CONTEXT:
        kopf.index(*_selector(kind), id=kind.id, registry=registry,
                   **_filters(kind))(manifest_by_namespace)
    kopf.index(*_selector(ENVIRONMENTS), id=ENVIRONMENTS.id, registry=registry,
               **_filters(ENVIRONMENTS))(environment_by_namespace)

    for webhook in WEBHOOKS:
        res = webhook.resource
        kopf.on.validate(res.group, res.version, res.plural, id=webhook.id,
                         operations=list(OPERATIONS), registry=registry)(_validator(judge))

    async def mark_indexed(**_: Any) -> None:
        readiness.mark_indexed()

    def not_yet(**_: Any) -> bool:
        return not readiness.indexed.is_set()

    for kind in INDEXED:
        kopf.on.event(*_selector(kind), id=f"readiness-{kind.resource.plural}", when=not_yet,
                      registry=registry, **_filters(kind))(mark_indexed)


def _selector(indexed: Indexed) -> tuple[str, str, str]:
    return indexed.resource.group, indexed.resource.version, indexed.resource.plural


def _filters(indexed: Indexed) -> dict[str, Any]:
    """The server-side field selector again, client-side, for servers that ignore it."""
    selected = indexed.selected_field
    return {} if selected is None else {"field": selected[0], "value": selected[1]}


def _validator(judge: Judge) -> Any:
    async def validate(body: kopf.Body, old: kopf.Body | None, namespace: str | None,
                       operation: str | None, warnings: list[str], **kwargs: Any) -> None:
        # `async def`: runs on the event loop's thread, where the regorus engine lives (or
        # hands the review to the judge's worker processes).
        # dryRun needs no branch: judging has no side effects, so a dry run is judged the same.
        if operation not in OPERATIONS:
            # kopf calls validators for every operation (`operations=` only shapes a managed
            # webhook configuration). A DELETE's body is the old object: nothing to judge.
            return
        if body.metadata.get("deletionTimestamp"):
            # Finalizers being removed from an object on its way out: never block a deletion.
            return
        where = namespace or ""
        what = f"{body.get('kind')} {where}/{body.metadata.get('name')}"
        indexes: list[Mapping[str, Iterable[Manifest]]] = [kwargs[i.id] for i in CONTEXT]
        entry = cluster.environment_of(where, kwargs[ENVIRONMENTS.id])
        notes: list[str] = []
        if entry is None:
            notes.append(f"[admission] namespace {where} has no {ENVIRONMENT_CONFIGMAP} "
                         "ConfigMap: judged with the platform-wide thresholds")
        elif entry.document is None:
            raise kopf.AdmissionError(f"cannot judge {what}: the {ENVIRONMENT_CONFIGMAP} "
                                      f"ConfigMap of namespace {where} is unusable: "
                                      f"{entry.problem}", code=BROKEN)
        failure: str | None = None
        # An UPDATE's old object: what the policies compare the new one with (a KServe
        # deployment mode must never change).
        previous = cluster.manifest(old) if operation == "UPDATE" and old is not None else None
        try:
            verdict = await judge.review_async(cluster.manifest(body),
                                               cluster.context(where, *indexes),
                                               entry.document if entry else None, notes,
                                               previous)
        except PolicyEngineError as exc:
            failure = str(exc)
        if failure is not None:
            # Raised outside the `except`: the engine error's traceback (which holds the
            # engine) must not travel with the answer into kopf's logs.
            logger.error("policy engine failed on %s: %s", what, failure)
            raise kopf.AdmissionError(f"policy engine error: {failure}", code=BROKEN)
        warnings.extend(verdict.warnings)
        if not verdict.allowed:
            # kopf logs the denial (handler id, object, message) on `kopf.objects`.
            raise kopf.AdmissionError(verdict.message(), code=DENIED)

    return validate
