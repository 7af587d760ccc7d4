# Serving target: the rules of `modelops advise` (generators/modelops/advice/rules.py), read off
# rendered objects, warn on a Seldon Model they say belongs on KServe and on an InferenceService
# they say belongs on Seldon; plus the two warnings of that table the objects can show. Advice
# never blocks: the only denials are advice annotations nobody can read. See README.md.
package modelops_policy_serving_target

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "InferenceService"}

kserve_api := "serving.kserve.io/"

pattern_key := "modelops.dev/traffic-pattern"

budget_key := "modelops.dev/cold-start-budget-seconds"

critical_key := "modelops.dev/critical"

rollout_key := "modelops.dev/rollout-strategy"

patterns := {"steady", "bursty", "idle"}

# generators/modelops/spec.py StorageBandwidth's default local rate, for an environment that
# does not set it (lib has the remote one).
default_local_mb_per_second := 3000

# rules.py GPU_PACKING_MODELS and facts.py SMALL_ARTIFACT_BYTES (2 GiB).
gpu_packing_models := 20

small_artifact_bytes := 2147483648

# --- what is judged ---------------------------------------------------------------------------

is_isvc(obj) if {
	obj.kind == "InferenceService"
	startswith(object.get(obj, "apiVersion", ""), kserve_api)
}

# A model's own Seldon Model: not its canary candidate, explainer or drift detector.
primary_model(m) if {
	lib.is_seldon(m, "Model")
	not auxiliary(m)
}

auxiliary(m) if lib.component(m) in {"candidate", "explainer", "drift-detector"}

auxiliary(m) if lib.is_drift_detector(m)

auxiliary(m) if m.spec.explainer

subject(obj) if primary_model(obj)

subject(obj) if is_isvc(obj)

target(obj) := "kserve" if is_isvc(obj) else := "seldon"

reviewed := [obj | some obj in input.objects; subject(obj)]

# --- the cold start (coldstart.py load_seconds) -------------------------------------------------

storage := object.get(lib.environment_spec, ["kserve", "storage"], {})

local_cache if lib.environment_spec.kserve.localModelCache

mb_per_second := object.get(storage, "localMbPerSecond", default_local_mb_per_second) if {
	local_cache
} else := lib.remote_mb_per_second

load_seconds(obj) := lib.load_seconds(lib.bytes(lib.annotation(obj, lib.artifact_size_annotation)), mb_per_second)

budget(obj) := lib.number(lib.annotation(obj, budget_key))

fits(obj) if load_seconds(obj) <= budget(obj)

over_budget(obj) if load_seconds(obj) > budget(obj)

# --- the facts each rule reads -------------------------------------------------------------------

pipelines := [p | some p in lib.all_objects; lib.is_seldon(p, "Pipeline")]

steps(p) := [s | some s in lib.array_at(p, ["spec", "steps"]); is_object(s)]

step_model(ref) := split(ref, ".")[0] if is_string(ref)

detector_names := {lib.name(m) | some m in lib.models; lib.is_drift_detector(m)}

detector_step(s) if s.name in detector_names

detector_step(s) if {
	size := object.get(s, ["batch", "size"], 0)
	is_number(size)
	size > 0
}

drift(obj) := true if {
	some p in pipelines
	some s in steps(p)
	detector_step(s)
	some ref in lib.array_at(s, "inputs")
	step_model(ref) == lib.name(obj)
} else := false

pipeline_step(obj) := true if {
	some p in pipelines
	some s in steps(p)
	s.name == lib.name(obj)
	some other in steps(p)
	other.name != s.name
	not detector_step(other)
} else := false

explainer(obj) := true if {
	some m in lib.models
	m.spec.explainer.modelRef == lib.name(obj)
} else := false

kafka(obj) := true if {
	lib.is_seldon(obj, "Model")
	is_object(obj.spec.logger)
} else := false

mirror(obj) := true if {
	some e in lib.all_objects
	lib.is_seldon(e, "Experiment")
	e.spec.default == lib.name(obj)
	is_object(e.spec.mirror)
} else := true if {
	lib.annotation(obj, rollout_key) == "mirror"
} else := false

scale_to_zero(obj) := true if {
	is_isvc(obj)
	obj.spec.predictor.minReplicas == 0
} else := false

sparse_traffic(obj) := true if {
	lib.annotation(obj, pattern_key) in {"idle", "bursty"}
	fits(obj)
} else := false

needs_gpu(obj) if {
	lib.is_seldon(obj, "Model")
	object.get(lib.environment_spec, ["servers", obj.spec.server, "gpu"], 0) > 0
}

needs_gpu(obj) if {
	is_isvc(obj)
	object.get(lib.environment_spec, ["kserve", "runtimes", obj.spec.predictor.model.runtime, "gpu"], 0) > 0
}

small(obj) if lib.bytes(lib.annotation(obj, lib.artifact_size_annotation)) <= small_artifact_bytes

small_gpu_models := count([obj | some obj in lib.all_objects; subject(obj); needs_gpu(obj); small(obj)])

gpu_packing(obj) := true if {
	needs_gpu(obj)
	small(obj)
	small_gpu_models > gpu_packing_models
} else := false

# --- votes and the recommendation (advise.py recommend) ------------------------------------------

seldon_required(obj) := {id |
	some [id, hit] in [
		["drift", drift(obj)],
		["pipeline-step", pipeline_step(obj)],
		["explainer", explainer(obj)],
		["kafka", kafka(obj)],
		["mirror", mirror(obj)],
	]
	hit
}

kserve_required(obj) := {"scale-to-zero" | scale_to_zero(obj)}

seldon_preferred(obj) := {"gpu-packing" | gpu_packing(obj)}

kserve_preferred(obj) := {"sparse-traffic" | sparse_traffic(obj)}

recommendation(obj) := ["seldon", seldon_required(obj)] if {
	count(seldon_required(obj)) > 0
} else := ["kserve", kserve_required(obj)] if {
	count(kserve_required(obj)) > 0
} else := ["seldon", seldon_preferred(obj)] if {
	count(seldon_preferred(obj)) > 0
	count(kserve_preferred(obj)) == 0
} else := ["kserve", kserve_preferred(obj)] if {
	count(kserve_preferred(obj)) > 0
	count(seldon_preferred(obj)) == 0
} else := [target(obj), set()]

warn contains lib.violation(obj, msg) if {
	some obj in reviewed
	[recommended, ids] := recommendation(obj)
	recommended != target(obj)
	msg := sprintf("served by %s, but the serving-target rules recommend %s (%s); `modelops advise` gives the reasons and sources", [target(obj), recommended, lib.text(concat(", ", sort(ids)))])
}

# --- the warnings of the table -------------------------------------------------------------------

warn contains lib.violation(obj, msg) if {
	some obj in reviewed
	scale_to_zero(obj)
	over_budget(obj)
	msg := sprintf("[cold-start-over-budget] minReplicas 0: a first request after idle waits ~%ss to load %s at %s MB/s, over its %ss budget; keep a replica, cache the artifact on the nodes or raise the budget", [lib.fixed2(load_seconds(obj)), lib.text(lib.annotation(obj, lib.artifact_size_annotation)), lib.text(mb_per_second), lib.fixed2(budget(obj))])
}

warn contains lib.violation(obj, msg) if {
	some obj in reviewed
	lib.annotation(obj, critical_key) == "true"
	lib.is_seldon(obj, "Model")
	pool := obj.spec.server
	lib.servers[pool].spec.serverConfig == "mlserver"
	others := {lib.name(m) | some m in lib.models; m.spec.server == pool; lib.name(m) != lib.name(obj)}
	count(others) > 0
	msg := sprintf("[critical-shared-process] critical, yet shares the MLServer process of Server %s with %d other Model(s): one runaway model can OOM-kill them all; give it its own Server or serve it on KServe", [lib.text(pool), count(others)])
}

# --- annotations nobody can read -----------------------------------------------------------------

deny contains lib.violation(obj, msg) if {
	some obj in reviewed
	raw := lib.annotation(obj, pattern_key)
	not raw in patterns
	msg := sprintf("%s is %s; it must be one of steady, bursty, idle (spec.traffic.pattern)", [pattern_key, lib.text(raw)])
}

deny contains lib.violation(obj, msg) if {
	some obj in reviewed
	raw := lib.annotation(obj, budget_key)
	not positive_number(raw)
	msg := sprintf("%s is %s; it must be a number of seconds above 0", [budget_key, lib.text(raw)])
}

positive_number(raw) if lib.number(raw) > 0

deny contains lib.violation(obj, msg) if {
	some obj in reviewed
	raw := lib.annotation(obj, critical_key)
	not raw in {"true", "false"}
	msg := sprintf("%s is %s; it must be 'true' or 'false'", [critical_key, lib.text(raw)])
}
