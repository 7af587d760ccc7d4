"""The spec facts the serving-target policy needs, as annotations on a model's rendered object.

A rendered Seldon `Model` or KServe `InferenceService` says nothing of the traffic a model
expects or of how critical it is, so the generators write these beside
`modelops.dev/artifact-size`. Only what a spec sets is written (the budget whenever a cold start
can matter: traffic is described or the model scales to zero), so models that say nothing
render as before. Values are strings, as annotations must be.
"""

from __future__ import annotations

from modelops.advice.coldstart import budget_text, cold_start_budget
from modelops.provenance import Sourced, derived, from_spec
from modelops.spec import EnvironmentSpec, ModelSpec

TRAFFIC_PATTERN = "modelops.dev/traffic-pattern"
PEAK_RPS = "modelops.dev/peak-rps"
COLD_START_BUDGET = "modelops.dev/cold-start-budget-seconds"
CRITICAL = "modelops.dev/critical"


def advice_annotations(env: EnvironmentSpec, spec: ModelSpec) -> dict[str, Sourced]:
    annotations: dict[str, Sourced] = {}
    traffic = spec.traffic
    if traffic is not None:
        annotations[TRAFFIC_PATTERN] = from_spec(traffic.pattern, "spec.traffic.pattern")
        if traffic.peak_rps is not None:
            annotations[PEAK_RPS] = from_spec(str(traffic.peak_rps), "spec.traffic.peakRps")
    if traffic is not None or (spec.replicas is not None and spec.replicas.min == 0):
        budget = cold_start_budget(env, spec)
        annotations[COLD_START_BUDGET] = derived(budget_text(budget), f"{budget.origin}, in "
                                                 "seconds: what a cold start is held against")
    if spec.critical:
        annotations[CRITICAL] = from_spec("true", "spec.critical")
    return annotations
