"""What the target rules read off a model's spec and its environment, computed once per model.

The rules in `rules.py` are predicates over `ModelFacts`; nothing else looks at specs. The
environment-wide facts (how many small GPU models the environment holds, which Seldon Models
share each pool) are gathered once per environment in `EnvironmentFacts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelops.advice.coldstart import ColdStart, cold_start
from modelops.quantity import GIB, parse_bytes
from modelops.repository import LoadedEnvironment, LoadedModel
from modelops.spec import EnvironmentSpec, ModelSpec, Target, serving_target

# A model at most this large is "small" for GPU packing: the same line the probe windows draw
# between ordinary and large artifacts.
SMALL_ARTIFACT_BYTES = 2 * GIB


@dataclass(frozen=True)
class EnvironmentFacts:
    small_gpu_models: int
    # Seldon pool -> the names of the Model objects rendered onto it (candidates, explainers
    # and drift detectors included: they run in the same server process).
    pool_members: dict[str, tuple[str, ...]]
    # model -> the models that chain it as a pre/post processing step
    step_of: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ModelFacts:
    name: str
    target: Target
    kserve_available: bool
    drift: bool
    processing: bool
    step_of: tuple[str, ...]
    explainer: bool
    logger: bool
    mirror: bool
    min_replicas: int
    traffic_pattern: str | None
    peak_rps: int | None
    cold_start: ColdStart
    gpu: bool
    small: bool
    small_gpu_models: int
    critical: bool
    pool: str | None
    pool_runtime: str | None
    shares_pool_with: tuple[str, ...]


def kserve_runtime(env: EnvironmentSpec, spec: ModelSpec) -> str | None:
    """The KServe runtime a model would use: its own, else the first by name serving its
    framework; None when the environment offers none."""
    if env.kserve is None:
        return None
    if spec.kserve is not None and spec.kserve.runtime is not None:
        return spec.kserve.runtime
    return next((name for name, runtime in sorted(env.kserve.runtimes.items())
                 if spec.framework in runtime.formats), None)


def needs_gpu(env: EnvironmentSpec, spec: ModelSpec) -> bool:
    """Whether the model's pool (Seldon) or runtime (KServe) takes a GPU."""
    if serving_target(spec, env) == "seldon":
        pool = env.servers.get(spec.server or "")
        return pool is not None and pool.gpu > 0
    runtime = kserve_runtime(env, spec)
    offered = env.kserve.runtimes.get(runtime) if env.kserve and runtime else None
    return offered is not None and offered.gpu > 0


def _is_small(spec: ModelSpec) -> bool:
    return parse_bytes(spec.artifact.size) <= SMALL_ARTIFACT_BYTES


def environment_facts(env: LoadedEnvironment) -> EnvironmentFacts:
    spec_env = env.spec.spec
    members: dict[str, list[str]] = {}
    step_of: dict[str, list[str]] = {}
    small_gpu = 0
    for model in env.models:
        spec = model.spec.spec
        if needs_gpu(spec_env, spec) and _is_small(spec):
            small_gpu += 1
        if spec.processing is not None:
            for step in spec.processing.pre + spec.processing.post:
                step_of.setdefault(step, []).append(model.name)
        if serving_target(spec, spec_env) != "seldon" or spec.server is None:
            continue
        placed = [(model.name, spec.server)]
        if spec.rollout is not None and spec.rollout.candidate is not None:
            placed.append((f"{model.name}-candidate", spec.server))
        if spec.explainer is not None:
            placed.append((f"{model.name}-explainer", spec.explainer.server or spec.server))
        if spec.drift is not None:
            placed.append((f"{model.name}-drift", spec.drift.server or spec.server))
        for name, pool in placed:
            members.setdefault(pool, []).append(name)
    return EnvironmentFacts(small_gpu, {k: tuple(sorted(v)) for k, v in members.items()},
                            {k: tuple(sorted(v)) for k, v in step_of.items()})


def model_facts(env: LoadedEnvironment, model: LoadedModel,
                shared: EnvironmentFacts) -> ModelFacts:
    spec_env = env.spec.spec
    spec = model.spec.spec
    target = serving_target(spec, spec_env)
    replicas = spec.replicas.min if spec.replicas is not None else spec_env.defaults.replicas.min
    pool = spec.server if target == "seldon" else None
    pool_spec = spec_env.servers.get(pool) if pool is not None else None
    return ModelFacts(
        name=model.name,
        target=target,
        kserve_available=spec_env.kserve is not None,
        drift=spec.drift is not None,
        processing=spec.processing is not None and bool(spec.processing.pre
                                                        + spec.processing.post),
        step_of=shared.step_of.get(model.name, ()),
        explainer=spec.explainer is not None,
        logger=spec.logger is not None,
        mirror=spec.rollout is not None and spec.rollout.strategy == "mirror",
        min_replicas=replicas,
        traffic_pattern=spec.traffic.pattern if spec.traffic is not None else None,
        peak_rps=spec.traffic.peak_rps if spec.traffic is not None else None,
        cold_start=cold_start(spec_env, spec),
        gpu=needs_gpu(spec_env, spec),
        small=_is_small(spec),
        small_gpu_models=shared.small_gpu_models,
        critical=spec.critical,
        pool=pool,
        pool_runtime=pool_spec.runtime if pool_spec is not None else None,
        shares_pool_with=tuple(n for n in shared.pool_members.get(pool or "", ())
                               if n != model.name),
    )
