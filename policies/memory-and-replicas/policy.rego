# Memory and replicas: Seldon places a Model by spec.memory (unset counts as 0 bytes) and keeps
# between minReplicas and maxReplicas replicas of it. Memory must be set and hold the artifact;
# an environment may require a replica floor (prod: 2); the bounds must be consistent. A KServe
# predictor holds its one model in its own pod: its memory request must equal its limit and hold
# the artifact with room for the runtime. See README.md.
package modelops_policy_memory_and_replicas

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "InferenceService"}

env_min_replicas := n if {
	n := lib.environment_spec.limits.minReplicas
	is_number(n)
}

size_key := "modelops.dev/artifact-size"

# What each rule reads off a Model under review, computed once per Model:
# {"model", "spec", "raw" (spec.memory or null), "size_raw" (the artifact-size annotation or null)}.
facts := [{"model": model, "raw": object.get(spec, "memory", null), "size_raw": object.get(model, ["metadata", "annotations", size_key], null), "spec": spec} |
	some model in lib.reviewed_models
	spec := spec_of(model)
]

spec_of(model) := model.spec if {
	is_object(model.spec)
} else := {}

# The reviewed Models' and InferenceServices' memory and artifact size strings -> bytes (absent
# when unparseable).
bytes := {raw: b |
	some raw in {f.raw | some f in facts} | {f.size_raw | some f in facts} | kserve_quantities
	b := lib.bytes(raw)
}

deny contains lib.violation(f.model, msg) if {
	some f in facts
	f.raw == null
	msg := "spec.memory is not set: Seldon counts an unset memory as 0 bytes, so the model never limits placement and its pool overcommits silently"
}

deny contains lib.violation(f.model, msg) if {
	some f in facts
	f.raw != null
	not bytes[f.raw]
	msg := sprintf("spec.memory %s is not a Kubernetes quantity of bytes (e.g. 1536Mi)", [lib.text(f.raw)])
}

deny contains lib.violation(f.model, msg) if {
	some f in facts
	bytes[f.raw] <= 0
	msg := sprintf("spec.memory %s is not above 0 bytes: Seldon would place the model without limit", [lib.text(f.raw)])
}

deny contains lib.violation(f.model, msg) if {
	some f in facts
	bytes[f.raw] < bytes[f.size_raw]
	msg := sprintf("spec.memory %s is less than the artifact size %s (annotation %s): the server would run out of memory loading it", [lib.text(f.raw), lib.text(f.size_raw), size_key])
}

deny contains lib.violation(f.model, msg) if {
	some f in array.concat(facts, kserve_facts)
	f.size_raw != null
	not bytes[f.size_raw]
	msg := sprintf("annotation %s %s is not a Kubernetes quantity of bytes, so memory cannot be checked against it", [size_key, lib.text(f.size_raw)])
}

# --- replicas ------------------------------------------------------------------------------------

# The fewest replicas the model runs: minReplicas, else the fixed replica count (Seldon's
# default 1).
floor(spec) := {"n": spec.minReplicas, "field": "minReplicas"} if {
	is_number(spec.minReplicas)
} else := {"n": object.get(spec, "replicas", 1), "field": "replicas (no minReplicas)"}

# Drift detectors are exempt: they run off the request path (an async Pipeline step reading
# Kafka), so a restart delays drift results and drops no request.
deny contains lib.violation(f.model, msg) if {
	limit := env_min_replicas
	some f in facts
	least := floor(f.spec)
	least.n < limit
	not lib.is_drift_detector(f.model)
	msg := sprintf("%s %v is below the environment's minimum of %v replicas (spec.limits.minReplicas): a node drain or a rollout would take the model down", [least.field, least.n, limit])
}

deny contains lib.violation(f.model, msg) if {
	some f in facts
	max := f.spec.maxReplicas
	is_number(max)
	max > 0
	min := f.spec.minReplicas
	is_number(min)
	max < min
	msg := sprintf("maxReplicas %v is below minReplicas %v", [max, min])
}

deny contains lib.violation(f.model, msg) if {
	some f in facts
	max := f.spec.maxReplicas
	is_number(max)
	max > 0
	replicas := object.get(f.spec, "replicas", 1)
	is_number(replicas)
	max < replicas
	msg := sprintf("maxReplicas %v is below replicas %v", [max, replicas])
}

# --- KServe predictors ---------------------------------------------------------------------------

# A predictor's memory holds the runtime process and the model deserialised from its artifact,
# which takes more than the file: at least this many times the artifact size.
kserve_memory_per_artifact := 1.2

# {"model" (the InferenceService), "request", "limit", "size_raw"}; null where unset.
kserve_facts := [{"model": isvc, "request": object.get(resources, ["requests", "memory"], null), "limit": object.get(resources, ["limits", "memory"], null), "size_raw": object.get(isvc, ["metadata", "annotations", size_key], null)} |
	some isvc in lib.reviewed_inference_services
	resources := resources_of(isvc)
]

resources_of(isvc) := r if {
	r := lib.predictor_model(isvc).resources
	is_object(r)
} else := {}

kserve_quantities := {q | some f in kserve_facts; some q in [f.request, f.limit, f.size_raw]}

deny contains lib.violation(f.model, msg) if {
	some f in kserve_facts
	f.request == null
	msg := "spec.predictor.model.resources.requests.memory is not set: the scheduler places the predictor as if it needed no memory"
}

deny contains lib.violation(f.model, msg) if {
	some f in kserve_facts
	some [field, q] in [["requests", f.request], ["limits", f.limit]]
	q != null
	not bytes[q]
	msg := sprintf("spec.predictor.model.resources.%s.memory %s is not a Kubernetes quantity of bytes (e.g. 1536Mi)", [field, lib.text(q)])
}

# Guaranteed memory: a pod using more than its request is the first evicted under node pressure,
# and one without a limit can take the node's memory from its neighbours.
deny contains lib.violation(f.model, msg) if {
	some f in kserve_facts
	bytes[f.request]
	not same_bytes(f.request, f.limit)
	msg := sprintf("memory request %s and limit %s differ: set resources.limits.memory equal to requests.memory, so the predictor is neither evicted first nor takes its neighbours' memory", [lib.text(f.request), quantity(f.limit)])
}

same_bytes(a, b) if bytes[a] == bytes[b]

quantity(q) := "unset" if {
	q == null
} else := lib.text(q)

deny contains lib.violation(f.model, msg) if {
	some f in kserve_facts
	need := bytes[f.size_raw] * kserve_memory_per_artifact
	bytes[f.request] < need
	msg := sprintf("memory request %s is less than %v x the artifact size %s (annotation %s): the runtime would run out of memory loading the model", [lib.text(f.request), lib.text(kserve_memory_per_artifact), lib.text(f.size_raw), size_key])
}
