# Drift: an alibi-detect KS detector is an ordinary Seldon Model (requirements mlserver,
# alibi-detect). Its test settings travel as annotations the generator writes; it must run as an
# asynchronous, batched step of its model's Pipeline, never on the request path. See README.md.
package modelops_policy_drift

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "Pipeline"}

max_p_value := 0.01

min_reference_rows := 5000

max_reference_rows := 10000

p_value_key := "modelops.dev/drift-p-value"

rows_key := "modelops.dev/drift-reference-rows"

batch_key := "modelops.dev/drift-batch-size"

namespace(obj) := object.get(obj, ["metadata", "namespace"], "")

reviewed_detectors := [m | some m in lib.reviewed_models; lib.is_drift_detector(m)]

# [namespace, name] of every detector in objects and cluster.
detector_keys := {[namespace(m), lib.name(m)] | some m in lib.models; lib.is_drift_detector(m)}

pipelines := [p | some p in lib.all_objects; lib.is_seldon(p, "Pipeline")]

reviewed_pipeline_keys := {[namespace(p), lib.name(p)] | some p in input.objects; lib.is_seldon(p, "Pipeline")}

# --- the detector's own settings ---------------------------------------------------------------

deny contains lib.violation(model, msg) if {
	some model in reviewed_detectors
	not numeric_annotation(model, p_value_key)
	msg := sprintf("drift detector declares no numeric %s annotation (got %s); the KS p-value (at most %v) cannot be checked", [p_value_key, lib.text(object.get(model, ["metadata", "annotations", p_value_key], "nothing")), max_p_value])
}

deny contains lib.violation(model, msg) if {
	some model in reviewed_detectors
	p := lib.number(lib.annotation(model, p_value_key))
	not valid_p_value(p)
	msg := sprintf("drift p-value %v is outside (0, %v]: above 0.01 a KS detector floods on-call with false positives", [p, max_p_value])
}

# A helper rule, never `not lib.number(lib.annotation(...))`: OPA evaluates the arguments of a
# call under `not` outside the negation, so that form is undefined, not true, when the
# annotation is missing.
numeric_annotation(model, key) if lib.number(lib.annotation(model, key))

valid_p_value(p) if {
	p > 0
	p <= max_p_value
}

deny contains lib.violation(model, msg) if {
	some model in reviewed_detectors
	not numeric_annotation(model, rows_key)
	msg := sprintf("drift detector declares no numeric %s annotation (got %s); the reference window (%d-%d rows) cannot be checked", [rows_key, lib.text(object.get(model, ["metadata", "annotations", rows_key], "nothing")), min_reference_rows, max_reference_rows])
}

deny contains lib.violation(model, msg) if {
	some model in reviewed_detectors
	rows := lib.number(lib.annotation(model, rows_key))
	not valid_rows(rows)
	msg := sprintf("drift reference window of %v rows is outside %d-%d: fewer rows make the KS test noisy, more make it slow and stale", [rows, min_reference_rows, max_reference_rows])
}

valid_rows(rows) if {
	rows >= min_reference_rows
	rows <= max_reference_rows
}

deny contains lib.violation(model, msg) if {
	some model in reviewed_detectors
	raw := lib.annotation(model, batch_key)
	not positive_number_text(raw)
	msg := sprintf("drift batch size %s (annotation %s) must be a number above 0", [lib.text(raw), batch_key])
}

positive_number_text(raw) if lib.number(raw) > 0

# --- wiring into the Pipeline ------------------------------------------------------------------

step_name(ref) := split(ref, ".")[0] if is_string(ref)

steps(pipeline) := [s | some s in lib.array_at(pipeline, ["spec", "steps"]); is_object(s)]

# Each step -> the steps it reads from (inputs and triggers), restricted to this pipeline.
step_graph(pipeline) := {name: refs |
	all_steps := steps(pipeline)
	names := {s.name | some s in all_steps}
	some name in names
	refs := {step_name(ref) |
		some s in all_steps
		s.name == name
		some ref in array.concat(lib.array_at(s, "inputs"), lib.array_at(s, "triggers"))
		step_name(ref) in names
	}
}

output_steps(pipeline) := {step_name(ref) | some ref in lib.array_at(pipeline, ["spec", "output", "steps"])}

# Steps on the request path: the output steps and everything they read from (Seldon runs a step
# that output cannot reach asynchronously; research/seldon-core-2.md §1, §4).
synchronous(pipeline) := graph.reachable(step_graph(pipeline), output_steps(pipeline))

# [namespace, detector step, pipeline, problem] for every detector step wired wrongly.
wiring_problems := {[ns, step.name, lib.name(pipeline), problem] |
	some pipeline in pipelines
	ns := namespace(pipeline)
	sync := synchronous(pipeline)
	outputs := output_steps(pipeline)
	some step in steps(pipeline)
	detector_step(ns, step)
	some problem in step_problems(step, sync, outputs)
}

# A step is a detector's when its Model is a drift detector, or when it batches its input: a
# batch is how Seldon feeds a detector asynchronously (upstream samples wire detectors so), and
# the Model may not be in the same change.
detector_step(ns, step) if [ns, step.name] in detector_keys

detector_step(_, step) if positive_number(object.get(step, ["batch", "size"], 0))

step_problems(step, sync, outputs) := {p |
	some p in [
		problem_in_output(step, outputs),
		problem_on_request_path(step, sync, outputs),
		problem_batch(step),
	]
	p != ""
}

problem_in_output(step, outputs) := "is in output.steps, so it runs synchronously on the request path" if {
	step.name in outputs
} else := ""

problem_on_request_path(step, sync, outputs) := "feeds a step that output.steps reaches, so it runs synchronously on the request path" if {
	step.name in sync
	not step.name in outputs
} else := ""

problem_batch(step) := sprintf("has no batch.size above 0 (got %s); a KS test needs a batch of rows, not one request", [lib.text(object.get(step, ["batch", "size"], "none"))]) if {
	not positive_number(object.get(step, ["batch", "size"], 0))
} else := ""

positive_number(n) if {
	is_number(n)
	n > 0
}

wired_keys := {[namespace(p), s.name] | some p in pipelines; some s in steps(p)}

# A Pipeline under review that wires a detector wrongly.
deny contains lib.violation(pipeline, msg) if {
	some pipeline in input.objects
	lib.is_seldon(pipeline, "Pipeline")
	some [ns, detector, name, problem] in wiring_problems
	[ns, name] == [namespace(pipeline), lib.name(pipeline)]
	msg := sprintf("drift detector step %s %s", [detector, problem])
}

# The Pipeline is not under review (it is in the cluster): report on the reviewed detector.
deny contains lib.violation(model, msg) if {
	some model in reviewed_detectors
	some [ns, detector, pipeline, problem] in wiring_problems
	[ns, detector] == [namespace(model), lib.name(model)]
	not [ns, pipeline] in reviewed_pipeline_keys
	msg := sprintf("as a step of Pipeline %s, this drift detector %s", [pipeline, problem])
}

# Not a step of any Pipeline: it receives no traffic. Only a warning: Argo CD applies Models
# (wave 1) before Pipelines (wave 2), so the admission webhook sees the detector first.
warn contains lib.violation(model, msg) if {
	some model in reviewed_detectors
	not [namespace(model), lib.name(model)] in wired_keys
	msg := sprintf("drift detector is not a step of any Pipeline in namespace %s, so it never sees traffic", [lib.text(namespace(model))])
}
