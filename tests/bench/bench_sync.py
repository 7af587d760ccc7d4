"""`make bench SUITE=sync`: an Argo CD sync of one whole environment through the webhook.

The load that matters in production is not a trickle of single reviews but Argo CD re-applying
an environment: every Seldon object in it reviewed at once, over a handful of connections. The
bench writes the synthetic repository (tests/bench/synthetic.py) with `--models` specs in one
environment, renders it with this checkout's code, and starts the plugin (as bench_admission
does: emulator, kopf operator, HTTPS server, the Deployment's workers and split) with that
environment's objects indexed, as the cluster holds them after a sync. Then every Model, Server,
Pipeline and Experiment of the environment is sent as an UPDATE AdmissionReview with itself as
oldObject (Argo CD re-applying what is live), `--concurrency` requests in flight (closed loop),
to the plugin and, as a baseline for kopf, TLS and HTTP, to a no-op handler for the same kind.
The arms alternate for `--rounds` rounds.

Each row: total time of the sync (median over rounds), reviews/s, latency per review from its
send (p50, p99, max over all rounds), errors (anything but a 200 allowing the object), the
host's steal and the plugin's CPU per review over that arm's syncs.

    python tests/bench/bench_sync.py [--models 1000] [--concurrency 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).parent))
from bench_admission import (
    ROOT,
    ROW_HEADER,
    TIMEOUT,
    Account,
    Obj,
    Result,
    Row,
    Server,
    add_plugin_arguments,
    noop_webhooks,
    plugin_split,
    row_text,
    send,
    start_server,
    summarize,
)
from cpustat import cpu_used, sample
from synthetic import make_repo

REVIEW_ORDER = ("Server", "Model", "Pipeline", "Experiment")   # as Argo CD's waves apply them
TMPFS = Path("/dev/shm")


def synced_environment(scratch: Path, models: int, environment: str) -> list[Obj]:
    """The rendered objects of `environment` in a synthetic repository of `models` specs."""
    repo = make_repo(scratch / "repo", ROOT, models)
    if not (repo / "environments" / environment).is_dir():
        raise SystemExit(f"bench: no environment {environment!r} among the samples")
    shutil.copytree(ROOT / "policies", repo / "policies")
    subprocess.run([sys.executable, "-m", "modelops.cli", "--repo", str(repo), "render",
                    "--env", environment], check=True, stdout=subprocess.DEVNULL)
    from modelops_plugins.admission.local import read_rendered

    return read_rendered(repo / "environments" / environment / "rendered")


def reviews_of(objects: list[Obj]) -> list[tuple[str, Obj]]:
    """(webhook resource plural, UPDATE review) for every reviewed object, in apply order."""
    from admission_support import review
    from modelops_plugins.admission.local import resource_of
    from modelops_plugins.admission.resources import WEBHOOKS

    reviewed = {w.resource for w in WEBHOOKS}
    chosen = [o for o in objects if resource_of(o) in reviewed]
    chosen.sort(key=lambda o: REVIEW_ORDER.index(o["kind"]) if o["kind"] in REVIEW_ORDER
                else len(REVIEW_ORDER))
    out = []
    for i, obj in enumerate(chosen):
        resource = resource_of(obj)
        assert resource is not None
        out.append((resource.plural, review(obj, operation="UPDATE", old=copy.deepcopy(obj),
                                            uid=f"sync-{i}")))
    return out


async def sync(server: Server, session: Any, requests: list[tuple[str, bytes]],
               concurrency: int) -> tuple[list[Result], float]:
    """Every request once, `concurrency` in flight; (results, seconds from first to last)."""
    loop = asyncio.get_running_loop()
    pending = iter(requests)
    results: list[Result] = []

    async def connection() -> None:
        for path, body in pending:   # one shared iterator: each request is taken once
            url = f"https://127.0.0.1:{server.port}{path}"
            results.append(await send(session, url, body, True, loop.time()))

    started = loop.time()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return results, loop.time() - started


class SyncRow(NamedTuple):
    row: Row
    seconds: float   # median over rounds of one whole sync


async def measure(server: Server, arms: dict[str, list[tuple[str, bytes]]], concurrency: int,
                  rounds: int) -> dict[str, SyncRow]:
    """The arms' syncs, alternating, each arm over its own kept-alive connections (as the
    apiserver keeps them to a webhook), opened by an unmeasured first batch."""
    import aiohttp

    results: dict[str, list[Result]] = {name: [] for name in arms}
    durations: dict[str, list[float]] = {name: [] for name in arms}
    accounts = {name: Account() for name in arms}
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    sessions = {name: aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=server.context, limit=concurrency), timeout=timeout)
        for name in arms}
    try:
        for name, requests in arms.items():
            await sync(server, sessions[name], requests[:2 * concurrency], concurrency)
        for _ in range(rounds):
            for name, requests in arms.items():
                stat, cpu, own = sample(), server.cpu_seconds(), time.process_time()
                answers, seconds = await sync(server, sessions[name], requests, concurrency)
                accounts[name].charge(stat, sample(), cpu_used(cpu, server.cpu_seconds()),
                                      time.process_time() - own)
                results[name] += answers
                durations[name].append(seconds)
    finally:
        for session in sessions.values():
            await session.close()
    return {name: SyncRow(summarize(name, results[name], accounts[name]),
                          statistics.median(durations[name])) for name in arms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000, help="model specs in the environment")
    parser.add_argument("--environment", default="prod",
                        help="which sample environment the synthetic one is made from")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="syncs per arm, alternating")
    add_plugin_arguments(parser)
    args = parser.parse_args()
    split = plugin_split(args)

    load_before = os.getloadavg()[0]
    started = time.time()
    scratch_parent = TMPFS if TMPFS.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="bench-sync-", dir=scratch_parent) as tmp:
        scratch = Path(tmp)
        objects = synced_environment(scratch, args.models, args.environment)
        from modelops_plugins.admission.local import indexed_objects
        from modelops_plugins.admission.resources import WEBHOOKS

        indexed = [obj for _, obj in indexed_objects(objects)]
        objects_file = scratch / "indexed.json"
        objects_file.write_text(json.dumps(indexed))
        reviews = reviews_of(objects)
        noop_path = {w.resource.plural: w.path for w in noop_webhooks()}
        plugin_path = {w.resource.plural: w.path for w in WEBHOOKS}
        bodies = [(plural, json.dumps(document).encode()) for plural, document in reviews]
        arms = {"no-op kopf validate handlers": [(noop_path[p], b) for p, b in bodies],
                "modelops validate-*": [(plugin_path[p], b) for p, b in bodies]}
        kinds = Counter(document["request"]["kind"]["kind"] for _, document in reviews)
        indexed_kinds = Counter(str(o["kind"]) for o in indexed)
        server = start_server("file", 0, args.policy_workers, split, scratch, objects_file)
        try:
            rss = server.rss_mib()
            gc.collect()
            gc.freeze()
            gc.disable()   # no collection of the load generator's heap is timed as latency
            rows = asyncio.run(measure(server, arms, args.concurrency, args.rounds))
            gc.enable()
        finally:
            server.stop()

    print(f"sync bench: Argo CD re-applying one environment ({args.models} model specs made "
          f"from the {args.environment!r} sample), every Seldon object an UPDATE review, "
          f"{args.concurrency} concurrent connections (closed loop), {args.rounds} rounds per "
          f"arm alternating; load average {load_before:.2f} before, "
          f"{time.time() - started:.0f} s total")
    print("indexed: " + ", ".join(f"{n} {k}" for k, n in sorted(indexed_kinds.items())) +
          f"; {args.policy_workers} policy worker(s); RSS (plugin + workers) {rss:.0f} MiB")
    print("reviewed per sync: " + ", ".join(f"{kinds[k]} {k}" for k in REVIEW_ORDER if k in kinds)
          + f" = {len(reviews)} reviews")
    print("steal, others (CPU this VM spent on anything but the plugin and the load generator) "
          "and CPU ms/review (plugin + workers) over each arm's own syncs\n")
    print(f"{'handler':<30} {'sync s':>7} {'reviews/s':>9} {ROW_HEADER}")
    for name, result in rows.items():
        print(f"{name:<30} {result.seconds:>7.2f} {len(reviews) / result.seconds:>9.0f} "
              f"{row_text(result.row)}  {result.row.kinds}")
    noop, plugin = rows.values()
    print(f"\nsync time plugin/no-op {plugin.seconds / noop.seconds:.2f}x, "
          f"p99 plugin/no-op {plugin.row.p99 / noop.row.p99:.2f}x; errors "
          f"{'ok' if plugin.row.errors == 0 and noop.row.errors == 0 else 'MISSED'} "
          f"({plugin.row.errors} + {noop.row.errors} no-op)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
