"""`make bench SUITE=admission`: the webhook under an open-loop load, beside a no-op handler.

The plugin runs in its own process exactly as in tests/admission_support.py (kmock's API
emulator holding the cluster, the real kopf operator indexing it, the HTTPS server), with one
extra kopf validating handler that does nothing (`/noop-models`), so kopf, TLS and HTTP cost the
same in both rows and the difference is the policy evaluation. The cluster: 1,000 Models, in
namespaces shaped like the rendered prod environment (its Models, Servers, Pipelines,
Experiments, PrometheusRule and modelops-environment ConfigMap), all indexed.

The load generator (this process) sends reviews on a fixed schedule, `--rate` per second for
`--seconds` to each handler, the two handlers taking turns in 1 s slices, over keep-alive HTTPS
connections on loopback, whether or not earlier ones have been answered (open loop): latency is
measured from each request's scheduled time, so any queueing shows. A review not answered
within 5 s (the webhook's timeoutSeconds) is an error, as is any non-200 or a verdict other
than expected (9 in 10 reviews are allowed, 1 in 10 denied). Two shorter runs at lower rates
(`--lower-rates`) show where the plugin stands below the target.

The machine is shared, so each row also shows what it cost and how fair it was: at every turn
boundary the bench samples /proc/stat (the host's steal) and the plugin's process tree (user +
system CPU of the plugin and its policy workers), and charges the interval to the arm whose turn
it was. A latency target is judged only when its arms saw little steal (cpustat's limit);
otherwise it prints "not judged" with the steal. Errors are always judged.

A second, closed-loop table shows what one review costs as the reviewed namespace grows: the
policies judge a Model against every other Model on its pool, so the cost is linear in the
namespace's size, not in what is indexed elsewhere.

    python tests/bench/bench_admission.py [--rate 200] [--seconds 30] [--models 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from cpustat import (
    CpuSample,
    StealMeter,
    cpu_used,
    process_seconds,
    process_tree,
    sample,
    verdict,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

Obj = dict[str, Any]
NOOP = "noop-models"
DEPLOYMENT = ROOT / "platform" / "admission" / "deployment.yaml"
TIMEOUT = 5.0   # the webhook's timeoutSeconds: the apiserver gives up (and fails closed) here
TARGET_P99_MS = 15.0
SLICE_SECONDS = 1.0   # the arms' turns
TARGET_RATIO = 2.5   # the plugin's p99 against the no-op handler's
SWEEP = (0, 100, 300, 1000)


# --- the cluster -------------------------------------------------------------------------------

def deployed_workers() -> tuple[int, list[tuple[str, ...]]]:
    """`--policy-workers` and `--policy-split` as platform/admission's Deployment passes them."""
    from modelops.cli import build_parser

    deployment = yaml.safe_load(DEPLOYMENT.read_text(encoding="utf-8"))
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    args = build_parser().parse_args(container["args"])
    return args.policy_workers, list(args.policy_split)


def prod_objects() -> list[Obj]:
    from modelops_plugins.admission.local import indexed_objects, read_rendered

    return [obj for _, obj in indexed_objects(
        read_rendered(ROOT / "environments" / "prod" / "rendered"))]


def _in_namespace(obj: Obj, namespace: str) -> Obj:
    copied = copy.deepcopy(obj)
    copied["metadata"]["namespace"] = namespace
    if copied["kind"] == "ConfigMap":
        document = json.loads(copied["data"]["environment.json"])
        document["spec"]["namespace"] = namespace
        copied["data"]["environment.json"] = json.dumps(document)
    return copied


def filler(template: Obj, namespace: str, index: int) -> Obj:
    model = _in_namespace(template, namespace)
    model["metadata"]["name"] = f"filler-{index:04d}"
    model["spec"].update(memory="8Mi", replicas=1, minReplicas=1, maxReplicas=1)
    model["metadata"]["annotations"]["modelops.dev/artifact-size"] = "8Mi"
    return model


def spread_cluster(models: int) -> tuple[list[Obj], int]:
    """`models` Models in as many prod-shaped namespaces as it takes; (objects, namespaces)."""
    base = prod_objects()
    per_namespace = sum(1 for o in base if o["kind"] == "Model")
    objects: list[Obj] = []
    namespace_count = -(-models // per_namespace)
    left = models
    for n in range(namespace_count):
        namespace = f"models-b{n:03d}"
        for obj in base:
            if obj["kind"] == "Model":
                if left == 0:
                    continue
                left -= 1
            objects.append(_in_namespace(obj, namespace))
    return objects, namespace_count


def sweep_cluster() -> list[Obj]:
    """One prod-shaped namespace per SWEEP size, with that many small extra Models on it."""
    base = prod_objects()
    template = next(o for o in base if o["kind"] == "Model" and not o["metadata"]["name"]
                    .endswith(("-candidate", "-drift", "-explainer")))
    objects = []
    for extra in SWEEP:
        namespace = f"sweep-{extra}"
        objects += [_in_namespace(o, namespace) for o in base]
        objects += [filler(template, namespace, i) for i in range(extra)]
    return objects


def candidate(namespace: str, denied: bool) -> Obj:
    base = prod_objects()
    model = _in_namespace(next(o for o in base if o["kind"] == "Model"
                               and o["metadata"]["name"] == "churn-predictor"), namespace)
    model["metadata"]["name"] = "bench-candidate"
    if denied:   # more memory than one replica of its pool can register: overcommit denies
        model["spec"]["memory"] = "64Gi"
    return model


# --- the server process --------------------------------------------------------------------------

def noop_webhooks() -> tuple[Any, ...]:
    """One no-op validating webhook per kind the plugin reviews, at `/noop-<plural>`."""
    from modelops_plugins.admission.resources import WEBHOOKS, Webhook

    return tuple(Webhook(f"noop-{w.resource.plural}", w.resource) for w in WEBHOOKS)


def serve(kind: str, models: int, workers: int, split: list[tuple[str, ...]],
          port_file: Path, objects_file: Path | None) -> int:
    import kopf
    from admission_support import Harness, make_certificates
    from modelops_plugins.admission.resources import WEBHOOKS

    if kind == "file" and objects_file is not None:
        objects = json.loads(objects_file.read_text())
    else:
        objects = spread_cluster(models)[0] if kind == "spread" else sweep_cluster()
    noops = noop_webhooks()

    def noop(registry: kopf.OperatorRegistry) -> None:
        async def nothing(**_: Any) -> None:
            return None
        for webhook in noops:
            resource = webhook.resource
            kopf.on.validate(resource.group, resource.version, resource.plural, id=webhook.id,
                             registry=registry)(nothing)

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    certs = make_certificates(port_file.parent / "certs")
    with Harness(objects, certs, webhooks=(*WEBHOOKS, *noops),
                 extra=noop, policy_workers=workers, policy_split=split,
                 freeze_heap=True) as plugin:
        partial = port_file.with_suffix(".partial")
        partial.write_text(json.dumps({"port": plugin.port, "ca": str(certs.ca)}))
        partial.rename(port_file)   # atomic: the parent never reads a half-written file
        parent = os.getppid()
        while not stop["now"] and os.getppid() == parent:   # never outlive the bench
            time.sleep(0.1)
    return 0


class Server(NamedTuple):
    process: subprocess.Popen[bytes]
    port: int
    context: ssl.SSLContext

    def rss_mib(self) -> float:
        """Resident memory of the plugin and its policy workers (what the container holds)."""
        total = 0
        for pid in process_tree(self.process.pid):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def cpu_seconds(self) -> dict[int, float]:
        """CPU used so far by the plugin and its policy workers, per process."""
        return process_seconds(process_tree(self.process.pid))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def start_server(kind: str, models: int, workers: int, split: list[tuple[str, ...]],
                 workdir: Path, objects_file: Path | None = None) -> Server:
    port_file = workdir / f"{kind}.json"
    process = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--models",
                                str(models), "--policy-workers", str(workers),
                                *[f"--policy-split={','.join(group)}" for group in split or
                                  [("none",)]],
                                "--port-file", str(port_file),
                                *(["--objects-file", str(objects_file)] if objects_file else [])],
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait(30)
            raise SystemExit(f"bench: the {kind} server did not start")
        time.sleep(0.1)
    info = json.loads(port_file.read_text())
    return Server(process, info["port"], ssl.create_default_context(cafile=info["ca"]))


# --- the load ------------------------------------------------------------------------------------

class Result(NamedTuple):
    latency: float   # seconds from the scheduled (or actual) send time to the complete answer
    error: str       # "" when the answer was a 200 with the expected verdict
    answered: bool   # the handler answered (HTTP 200), whatever the verdict


def review_body(obj: Obj, uid: str) -> bytes:
    from admission_support import review

    return json.dumps(review(obj, uid=uid)).encode()


class Arm(NamedTuple):
    """One handler under load: its URL path and the (body, expected allowed) pairs it is sent."""

    path: str
    bodies: list[tuple[bytes, bool]]


HEADERS = {"Content-Type": "application/json"}


async def send(session: Any, url: str, body: bytes, allowed: bool, since: float) -> Result:
    """POST one AdmissionReview; latency counted from `since` (event loop time)."""
    import aiohttp

    loop = asyncio.get_running_loop()
    try:
        async with session.post(url, data=body, headers=HEADERS) as response:
            payload = await response.read()
        latency = loop.time() - since
        if response.status != 200:
            return Result(latency, f"HTTP {response.status}", False)
        if json.loads(payload)["response"]["allowed"] is not allowed:
            return Result(latency, "unexpected verdict", True)
        return Result(latency, "", True)
    except TimeoutError:
        return Result(loop.time() - since, "timeout", False)
    except aiohttp.ClientError as exc:
        return Result(loop.time() - since, type(exc).__name__, False)


class Account:
    """What one arm's share of a load cost: the host's steal and the plugin's CPU."""

    def __init__(self) -> None:
        self.steal = StealMeter()
        self.cpu_seconds = 0.0

    def charge(self, before: CpuSample, after: CpuSample, plugin_seconds: float,
               client_seconds: float) -> None:
        """An interval of this arm: the plugin's CPU, and the load generator's (only to tell
        the measured processes from the VM's other work)."""
        self.cpu_seconds += plugin_seconds
        self.steal.add(before, after, plugin_seconds + client_seconds)


class TurnClock:
    """Charges each interval between turn boundaries to the arm whose turn it was.

    At every boundary it samples /proc/stat (steal) and the plugin's process tree (CPU), so
    steal and CPU are accounted per arm even though the arms alternate.
    """

    def __init__(self, server: Server, arms: int) -> None:
        self.server = server
        self.accounts = [Account() for _ in range(arms)]
        self._arm: int | None = None
        self._stat = sample()
        self._cpu = server.cpu_seconds()
        self._own = time.process_time()

    def turn(self, arm: int | None) -> None:
        """The turn of `arm` begins now (None: the load is over)."""
        stat, cpu, own = sample(), self.server.cpu_seconds(), time.process_time()
        if self._arm is not None:
            self.accounts[self._arm].charge(self._stat, stat, cpu_used(self._cpu, cpu),
                                            own - self._own)
        self._arm, self._stat, self._cpu, self._own = arm, stat, cpu, own


class Load(NamedTuple):
    results: list[list[Result]]   # per arm, warm-up excluded
    accounts: list[Account]


async def open_loop(server: Server, arms: list[Arm], rate: float, seconds: float,
                    warmup: float, slice_seconds: float = SLICE_SECONDS) -> Load:
    """`rate` requests/s to each arm for `seconds`, the arms taking turns in slices.

    Turns of `slice_seconds`, not one arm after the other: this machine (2 shared cores) has
    stalls of tens of ms now and then, and taking turns spreads them over every arm alike, so
    the no-op row stays a fair baseline. Results per arm, warm-up excluded.
    """
    import aiohttp

    connector = aiohttp.TCPConnector(ssl=server.context, limit=256)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    loop = asyncio.get_running_loop()
    per_slice = max(1, round(rate * slice_seconds))
    warm = int(warmup * rate) * len(arms)
    total = warm + int(seconds * rate) * len(arms)
    clock = TurnClock(server, len(arms))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = loop.time() + 0.05
        tasks: list[tuple[int, asyncio.Task[Result]]] = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            arm = (i // per_slice) % len(arms)
            if i >= warm and (i == warm or i % per_slice == 0):
                clock.turn(arm)
            body, allowed = arms[arm].bodies[i % len(arms[arm].bodies)]
            url = f"https://127.0.0.1:{server.port}{arms[arm].path}"
            tasks.append((arm, asyncio.create_task(send(session, url, body, allowed,
                                                        scheduled))))
        results = [(arm, await task) for arm, task in tasks]
        clock.turn(None)
    return Load([[r for arm, r in results[warm:] if arm == a] for a in range(len(arms))],
                clock.accounts)


async def closed_loop(server: Server, path: str, body: bytes, count: int) -> list[float]:
    import aiohttp

    connector = aiohttp.TCPConnector(ssl=server.context, limit=1)
    url = f"https://127.0.0.1:{server.port}{path}"
    latencies = []
    async with aiohttp.ClientSession(connector=connector) as session:
        for i in range(count + 5):
            started = time.perf_counter()
            async with session.post(url, data=body, headers=HEADERS) as response:
                await response.read()
                assert response.status == 200
            if i >= 5:
                latencies.append(time.perf_counter() - started)
    return latencies


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Row(NamedTuple):
    label: str
    sent: int
    errors: int
    p50: float
    p99: float
    max: float
    kinds: str
    steal: StealMeter
    cpu_ms: float   # the plugin's CPU (process and workers) per review answered


def summarize(label: str, results: list[Result], account: Account) -> Row:
    latencies = [r.latency * 1000 for r in results]
    errors = [r.error for r in results if r.error]
    kinds = ", ".join(f"{e} x{errors.count(e)}" for e in sorted(set(errors)))
    answered = sum(1 for r in results if r.answered)
    cpu_ms = 1000 * account.cpu_seconds / answered if answered else float("nan")
    return Row(label, len(results), len(errors), quantile(latencies, 0.5),
               quantile(latencies, 0.99), max(latencies, default=float("nan")), kinds,
               account.steal, cpu_ms)


ROW_HEADER = (f"{'sent':>6} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8} "
              f"{'CPU ms/review':>13} {'steal %':>7} {'others %':>8}")


def row_text(row: Row) -> str:
    return (f"{row.sent:>6} {row.errors:>6} {row.p50:>7.2f} {row.p99:>7.2f} {row.max:>8.2f} "
            f"{row.cpu_ms:>13.2f} {row.steal.percent:>7.2f} {row.steal.others_percent:>8.1f}")


def worst_steal(*meters: StealMeter) -> StealMeter:
    return max(meters, key=lambda m: m.percent)


def add_plugin_arguments(parser: argparse.ArgumentParser) -> None:
    """How the plugin runs (workers, split), defaulting to the Deployment; the server flags."""
    from modelops_plugins.admission.cli import policy_group

    workers, deployed_split = deployed_workers()
    parser.add_argument("--policy-workers", type=int, default=workers, metavar="N",
                        help=f"default {workers}, as the Deployment runs the plugin")
    parser.add_argument("--policy-split", action="append", metavar="P1,P2", type=policy_group,
                        help="default as the Deployment runs the plugin ("
                             f"{' '.join(','.join(g) for g in deployed_split) or 'none'}); "
                             "'none' judges each review whole")
    parser.add_argument("--serve", choices=("spread", "sweep", "file"), help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--objects-file", type=Path, help=argparse.SUPPRESS)


def plugin_split(args: argparse.Namespace) -> list[tuple[str, ...]]:
    return [g for g in (args.policy_split or deployed_workers()[1]) if g != ("none",)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--sweep-count", type=int, default=40)
    parser.add_argument("--lower-rates", type=float, nargs="*", default=[100.0, 50.0],
                        help="also load the plugin at these rates (not against the targets)")
    parser.add_argument("--lower-seconds", type=float, default=10.0)
    add_plugin_arguments(parser)
    args = parser.parse_args()
    split = plugin_split(args)
    if args.serve:
        return serve(args.serve, args.models, args.policy_workers, split, args.port_file,
                     args.objects_file)

    load_before = os.getloadavg()[0]
    started = time.time()
    _, namespaces = spread_cluster(args.models)
    ok = candidate("models-b000", denied=False)
    bad = candidate("models-b000", denied=True)
    with tempfile.TemporaryDirectory(prefix="bench-admission-") as tmp:
        server = start_server("spread", args.models, args.policy_workers, split, Path(tmp))
        try:
            rss_indexed = server.rss_mib()
            bodies = [(review_body(bad if i % 10 == 9 else ok, f"bench-{i}"), i % 10 != 9)
                      for i in range(50)]
            noop_arm = Arm(f"/{NOOP}", [(body, True) for body, _ in bodies])   # allows all
            plugin_arm = Arm("/validate-models", bodies)
            # The load generator built the 1,000-Model cluster too: a full collection of its
            # heap stops it for 100-300 ms, which would be measured as the handlers' latency.
            # Even frozen, the 13,000 reviews it keeps make a 10-20 ms collection near the
            # end, in the plugin's last turn; a minute of load leaves little garbage, so the
            # collector is off while the load runs.
            gc.collect()
            gc.freeze()
            gc.disable()
            target = asyncio.run(open_loop(server, [noop_arm, plugin_arm], args.rate,
                                           args.seconds, args.warmup))
            rows = [summarize("no-op kopf validate handler", target.results[0],
                              target.accounts[0]),
                    summarize("modelops validate-models", target.results[1],
                              target.accounts[1])]
            for rate in args.lower_rates:   # where the plugin stands below the target rate
                lower = asyncio.run(open_loop(server, [plugin_arm], rate, args.lower_seconds,
                                              args.warmup))
                rows.append(summarize(f"modelops validate @ {rate:g}/s", lower.results[0],
                                      lower.accounts[0]))
            gc.enable()
            rss_after = server.rss_mib()
        finally:
            server.stop()

        sweep = start_server("sweep", 0, args.policy_workers, split, Path(tmp))
        try:
            sweep_rows = []
            for extra in SWEEP:
                body = review_body(candidate(f"sweep-{extra}", denied=False), "sweep")
                latencies = asyncio.run(closed_loop(sweep, "/validate-models", body,
                                                    args.sweep_count))
                sweep_rows.append((extra, latencies))
        finally:
            sweep.stop()

    noop, plugin = rows[:2]
    print(f"admission bench: {args.rate:g} reviews/s open loop for {args.seconds:g} s to each "
          f"handler, taking turns in {SLICE_SECONDS:g} s slices (after {args.warmup:g} s "
          "warm-up each), loopback HTTPS, keep-alive; "
          f"load average {load_before:.2f} before, {time.time() - started:.0f} s total")
    print(f"indexed: {args.models} Models in {namespaces} namespaces shaped like the rendered "
          f"prod environment; {args.policy_workers} policy worker(s); RSS (plugin + workers) "
          f"{rss_indexed:.0f} MiB indexed, {rss_after:.0f} MiB after the runs")
    print("steal: CPU time this VM's vCPUs waited for the host, over each row's own turns; "
          "others: CPU this VM spent meanwhile on anything but the plugin and the load generator "
          "(contention steal does not show); CPU ms/review: the plugin process and its policy "
          "workers (user + system) over those turns, per review answered\n")
    print(f"{'handler (rows 1-2: the target load)':<36} {ROW_HEADER}")
    for row in rows:
        print(f"{row.label:<36} {row_text(row)}  {row.kinds}")
    if max(noop.max, plugin.max) > 1000 * SLICE_SECONDS:
        print("(answers came later than a turn lasts: some of one arm's work was done in the "
              "other's turn, so rows 1-2 split CPU and steal only roughly)")
    print()
    both = worst_steal(noop.steal, plugin.steal)
    checks = (
        (f"p99 <= {TARGET_P99_MS:g} ms", verdict(plugin.p99 <= TARGET_P99_MS, plugin.steal),
         f"{plugin.p99:.2f} ms"),
        (f"p99 <= {TARGET_RATIO:g}x the no-op handler's",
         verdict(plugin.p99 <= TARGET_RATIO * noop.p99, both),
         f"{plugin.p99:.2f} vs {TARGET_RATIO:g} x {noop.p99:.2f} = "
         f"{TARGET_RATIO * noop.p99:.2f} ms"),
        ("zero errors", "ok" if plugin.errors == 0 and noop.errors == 0 else "MISSED",
         f"{plugin.errors} + {noop.errors} (no-op)"),
    )
    for name, outcome, value in checks:
        print(f"target {name:<34} {outcome:<7} {value}")
    print(f"\none review, closed loop ({args.sweep_count} in a row, one connection): cost vs "
          "Models in the reviewed namespace")
    print(f"{'Models in namespace':>20} {'p50 ms':>7} {'p99 ms':>7} {'reviews/s at p50':>17}")
    per_namespace = sum(1 for o in prod_objects() if o["kind"] == "Model")
    for extra, latencies in sweep_rows:
        p50 = statistics.median(latencies) * 1000
        print(f"{per_namespace + extra:>20} {p50:>7.2f} {quantile(latencies, 0.99) * 1000:>7.2f} "
              f"{1000 / p50:>17.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
