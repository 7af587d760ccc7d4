"""The serving-target rules, written down once: what each looks at, what it says, and why.

Every rule is a row of `RULES`: an id, the condition in words, a verdict, a reason and the
source of the claim behind it, and `applies`, the predicate over `ModelFacts` that returns what
it saw (or None). `README.md` beside this file carries the same table, rendered by
`rules_markdown()` and compared by a test; `policies/serving-target/` encodes the rows whose
`policy` column is filled, and a test runs both on the same specs.

Verdicts: `seldon` / `kserve` vote for a target, `requires` (the other target cannot serve what
the spec asks) or `prefers` (cost or latency); `grpc` and `warn` advise without voting. How
votes become a recommendation is `advise.recommend`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from modelops.advice.facts import ModelFacts

Verdict = Literal["seldon", "kserve", "grpc", "warn"]
Strength = Literal["requires", "prefers", "advice"]

# More small GPU models than this in one environment: packing them pays (seed 000).
GPU_PACKING_MODELS = 20
# Peak requests per second from which gRPC's lower overhead shows in p95 latency (seed 002).
GRPC_PEAK_RPS = 1000

SEED_002 = "research/kserve.md, \"Seed 002's numbers\""
SEED_000 = "research/kserve.md, \"Seed 002's numbers\" (seed 000)"


@dataclass(frozen=True)
class Rule:
    id: str
    when: str
    verdict: Verdict
    strength: Strength
    reason: str
    source: str
    policy: str                  # what policies/serving-target checks of it; "" for none
    applies: Callable[[ModelFacts], str | None]


def _flag(seen: bool, detail: str) -> str | None:
    return detail if seen else None


def _sparse_traffic(f: ModelFacts) -> str | None:
    if f.traffic_pattern not in ("idle", "bursty") or not f.cold_start.fits:
        return None
    return f"traffic.pattern {f.traffic_pattern}; cold start {f.cold_start.describe()}"


def _cold_start_over_budget(f: ModelFacts) -> str | None:
    if f.min_replicas != 0 or f.cold_start.fits:
        return None
    return f"replicas.min 0; cold start {f.cold_start.describe()}"


def _gpu_packing(f: ModelFacts) -> str | None:
    if not (f.gpu and f.small and f.small_gpu_models > GPU_PACKING_MODELS):
        return None
    return (f"a small model on a GPU, one of {f.small_gpu_models} in the environment "
            f"(more than {GPU_PACKING_MODELS})")


def _critical_shared(f: ModelFacts) -> str | None:
    if not (f.critical and f.target == "seldon" and f.pool_runtime == "mlserver"
            and f.shares_pool_with):
        return None
    return (f"critical: true on MLServer pool {f.pool}, shared with "
            f"{', '.join(f.shares_pool_with)}")


def _grpc(f: ModelFacts) -> str | None:
    if f.peak_rps is None or f.peak_rps < GRPC_PEAK_RPS:
        return None
    return f"traffic.peakRps {f.peak_rps}"


RULES: tuple[Rule, ...] = (
    Rule("drift", "`spec.drift` is set", "seldon", "requires",
         "the drift detector runs as an asynchronous, batched step of a Seldon Pipeline; "
         "KServe has no pipelines to run it in",
         "issue 23 §5; research/seldon-core-2.md §4",
         "a Pipeline has a drift detector step reading the model's inputs",
         lambda f: _flag(f.drift, "spec.drift is set")),
    Rule("processing", "`spec.processing` names pre or post steps", "seldon", "requires",
         "pre/post steps are chained as a Seldon Pipeline",
         "issue 23 §5; research/seldon-core-2.md §1",
         "as `pipeline-step`: the model is a step of a Pipeline beside steps that are not "
         "drift detectors",
         lambda f: _flag(f.processing, "spec.processing names steps")),
    Rule("pipeline-step", "another model chains this one in its `spec.processing`", "seldon",
         "requires", "a Pipeline step is a Seldon Model of the same namespace",
         "issue 23 §5; research/seldon-core-2.md §1",
         "a Pipeline has a step named after the model beside steps that are not drift "
         "detectors",
         lambda f: _flag(bool(f.step_of), f"a processing step of {', '.join(f.step_of)}")),
    Rule("explainer", "`spec.explainer` is set", "seldon", "requires",
         "the alibi-explain explainer is a Seldon Model that references this one "
         "(`spec.explainer.modelRef`)",
         "issue 23 §5; research/seldon-core-2.md §1",
         "a Model's `spec.explainer.modelRef` names the model",
         lambda f: _flag(f.explainer, "spec.explainer is set")),
    Rule("kafka", "`spec.logger` is set", "seldon", "requires",
         "request logging goes to the model's Kafka topics, which only Seldon writes",
         "issue 23 §5; research/seldon-core-2.md §5",
         "the Model sets `spec.logger`",
         lambda f: _flag(f.logger, "spec.logger is set")),
    Rule("mirror", "`spec.rollout.strategy` is `mirror`", "seldon", "requires",
         "KServe has no mirroring or shadow traffic",
         "research/kserve.md \"Canary and rollback\" (inference_service_validation.go:183)",
         "an Experiment mirrors traffic from the model, or the InferenceService carries "
         "`modelops.dev/rollout-strategy: mirror`",
         lambda f: _flag(f.mirror, "spec.rollout.strategy is mirror")),
    Rule("scale-to-zero", "`spec.replicas.min` is 0", "kserve", "requires",
         "only KServe scales a model to zero and back on demand; Seldon Core 2 does not (the "
         "loader refuses `replicas.min: 0` on Seldon)",
         "issue 23 §5; research/kserve.md \"Scaling\"",
         "the InferenceService sets `minReplicas: 0`",
         lambda f: _flag(f.min_replicas == 0, "spec.replicas.min is 0")),
    Rule("sparse-traffic",
         "`traffic.pattern` is `idle` or `bursty` and the cold start fits the budget",
         "kserve", "prefers",
         "scale-to-zero frees the pods between bursts, and a first request after idle waits "
         "no longer than the spec allows", f"issue 23 §5; {SEED_002}",
         "annotations `modelops.dev/traffic-pattern`, `modelops.dev/artifact-size`, "
         "`modelops.dev/cold-start-budget-seconds` and the environment's storage bandwidth",
         _sparse_traffic),
    Rule("gpu-packing",
         f"the model takes a GPU, its artifact is at most 2 GiB, and the environment holds "
         f"more than {GPU_PACKING_MODELS} such models", "seldon", "prefers",
         "packing many small models into shared MLServer/Triton processes cuts GPU idle cost "
         f"30-40 % above {GPU_PACKING_MODELS} models", f"issue 23 §5; {SEED_000}",
         "Models on pools and InferenceServices on runtimes with a GPU in the environment, "
         "by `modelops.dev/artifact-size`",
         _gpu_packing),
    Rule("cold-start-over-budget",
         "`spec.replicas.min` is 0 and the cold start exceeds the budget", "warn", "advice",
         "the first request after idle waits for the whole artifact to load: keep a replica, "
         "cache the artifact on the nodes (`spec.kserve.localModelCache`) or raise "
         "`traffic.coldStartBudgetSeconds`", f"issue 23 §5; {SEED_002}",
         "an InferenceService with `minReplicas: 0`, by the same estimate",
         _cold_start_over_budget),
    Rule("critical-shared-process",
         "`spec.critical` and served by Seldon on an MLServer pool that hosts other Models",
         "warn", "advice",
         "one runaway model can OOM-kill the shared MLServer process and this model with it: "
         "give it a pool of its own or serve it on KServe", f"issue 23 §5; {SEED_000}",
         "a Model annotated `modelops.dev/critical: \"true\"` pinned to an MLServer Server "
         "other Models are pinned to",
         _critical_shared),
    Rule("grpc", f"`traffic.peakRps` is at least {GRPC_PEAK_RPS:,}", "grpc", "advice",
         "gRPC cuts p95 latency by 8-15 % at 1,000-2,000 rps; call the model over gRPC",
         f"issue 23 §5; {SEED_002}", "", _grpc),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


def rules_markdown() -> str:
    """The rule table as Markdown: what README.md carries between its table markers."""
    lines = ["| rule | when | verdict | why | source | checked by the policy from |",
             "|---|---|---|---|---|---|"]
    for rule in RULES:
        verdict = (rule.verdict if rule.strength == "advice"
                   else f"{rule.verdict} ({rule.strength})")
        lines.append(f"| `{rule.id}` | {rule.when} | {verdict} | {rule.reason} | "
                     f"{rule.source} | {rule.policy or '— (advise only)'} |")
    return "\n".join(lines) + "\n"

