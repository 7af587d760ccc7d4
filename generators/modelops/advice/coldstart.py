"""The cold-start estimate: how long a scaled-to-zero model makes its first request wait.

Loading is reading the artifact: `load_seconds = artifact bytes / (MB/s × 10^6)`, with the
environment's remote storage bandwidth, or the node-local one when the environment keeps a
`localModelCache` (KServe then reads the artifact from the node's disk). Container start and
deserialisation come on top, so the estimate is a floor. The same formula is written in Rego as
`cold_start_seconds` in `policies/serving-target/policy.rego`; a test holds the two together.

The budget a cold start is held against is `traffic.coldStartBudgetSeconds`; a spec that sets
none promises its p99 latency threshold (`alerts.p99LatencyMs`, else the environment's) to every
request, a first request after idle included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from modelops.quantity import parse_bytes
from modelops.spec import EnvironmentSpec, ModelSpec, StorageBandwidth

MEGABYTE = 1_000_000


def load_seconds(size_bytes: int, mb_per_second: int) -> float:
    """Seconds to read `size_bytes` at `mb_per_second` (decimal megabytes, as storage is rated)."""
    return size_bytes / (mb_per_second * MEGABYTE)


@dataclass(frozen=True)
class Bandwidth:
    mb_per_second: int
    where: str          # "remote storage" | "the node-local model cache"
    origin: str         # the environment.yaml field, or the default it fell back to


def storage_bandwidth(env: EnvironmentSpec) -> Bandwidth:
    """Where a KServe model of this environment loads from, and how fast."""
    settings = env.kserve
    if settings is None:
        return Bandwidth(StorageBandwidth().remote_mb_per_second, "remote storage",
                         "the default (environment.yaml has no spec.kserve)")
    if settings.local_model_cache is not None:
        return Bandwidth(settings.storage.local_mb_per_second, "the node-local model cache",
                         "environment.yaml spec.kserve.storage.localMbPerSecond")
    return Bandwidth(settings.storage.remote_mb_per_second, "remote storage",
                     "environment.yaml spec.kserve.storage.remoteMbPerSecond")


@dataclass(frozen=True)
class Budget:
    seconds: Decimal
    origin: str


def cold_start_budget(env: EnvironmentSpec, spec: ModelSpec) -> Budget:
    """How long a first request after idle may wait for the model to load."""
    if spec.traffic is not None and spec.traffic.cold_start_budget_seconds is not None:
        return Budget(Decimal(spec.traffic.cold_start_budget_seconds),
                      "spec.traffic.coldStartBudgetSeconds")
    if spec.alerts is not None and spec.alerts.p99_latency_ms is not None:
        return Budget(Decimal(spec.alerts.p99_latency_ms) / 1000,
                      "spec.alerts.p99LatencyMs; no traffic.coldStartBudgetSeconds")
    return Budget(Decimal(env.alerts.p99_latency_ms) / 1000,
                  "environment.yaml spec.alerts.p99LatencyMs; no "
                  "traffic.coldStartBudgetSeconds")


@dataclass(frozen=True)
class ColdStart:
    seconds: float
    size: str
    bandwidth: Bandwidth
    budget: Budget

    @property
    def fits(self) -> bool:
        return self.seconds <= self.budget.seconds

    def describe(self) -> str:
        verdict = "within" if self.fits else "over"
        return (f"~{format_seconds(self.seconds)} to load {self.size} at "
                f"{self.bandwidth.mb_per_second} MB/s from {self.bandwidth.where}, {verdict} "
                f"the budget of {format_seconds(self.budget.seconds)} "
                f"({self.budget.origin})")


def cold_start(env: EnvironmentSpec, spec: ModelSpec) -> ColdStart:
    bandwidth = storage_bandwidth(env)
    return ColdStart(load_seconds(parse_bytes(spec.artifact.size), bandwidth.mb_per_second),
                     spec.artifact.size, bandwidth, cold_start_budget(env, spec))


def format_seconds(seconds: float | Decimal) -> str:
    """`0.3 s`, `40 s`, `4.7 min`: a duration a person reads at a glance."""
    value = float(seconds)
    if value >= 120:
        return f"{value / 60:.1f} min"
    if value >= 10:
        return f"{value:.0f} s"
    return f"{value:.2g} s" if value < 1 else f"{value:.1f} s"


def budget_text(budget: Budget) -> str:
    """The budget in seconds as annotation text: `0.3`, `120`."""
    return format(budget.seconds.normalize(), "f")
