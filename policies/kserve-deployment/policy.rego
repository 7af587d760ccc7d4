# KServe deployment: how an InferenceService is served must be written in git, not left to the
# cluster. The deployment mode is fixed at creation and a changed cluster default silently
# changes new objects (kserve#4191), so every object names it and it never changes; KServe has
# no traffic mirroring; a runtime that does not exist is accepted by the API (kserve#2196), so
# CI checks it against what the environment offers. See README.md.
package modelops_policy_kserve_deployment

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"InferenceService"}

rollout_strategy_annotation := "modelops.dev/rollout-strategy"

written_mode(isvc) := m if {
	m := lib.annotation(isvc, lib.deployment_mode_annotation)
}

# --- deployment mode -----------------------------------------------------------------------------

deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	not written_mode(isvc)
	msg := sprintf("annotation %s is not set: KServe would take the cluster's default mode, which changes when the default does (kserve#4191); write Knative or Standard", [lib.deployment_mode_annotation])
}

deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	mode := written_mode(isvc)
	not lib.deployment_mode(isvc)
	msg := sprintf("annotation %s is %s; modelops serves KServe models in Knative or Standard mode", [lib.deployment_mode_annotation, lib.text(mode)])
}

warn contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	mode := written_mode(isvc)
	now := lib.deployment_mode_aliases[mode]
	msg := sprintf("annotation %s uses the deprecated name %s; write %s (the same mode)", [lib.deployment_mode_annotation, lib.text(mode), lib.text(now)])
}

# KServe refuses to change the mode of an existing InferenceService; a change in git would
# leave Argo CD failing to sync it.
deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	before := lib.deployment_mode(lib.previous_of(isvc))
	after := lib.deployment_mode(isvc)
	before != after
	msg := sprintf("deployment mode changes from %s to %s: KServe fixes the mode when the InferenceService is created; serve the model under a new name and move traffic, or delete and recreate it", [lib.text(before), lib.text(after)])
}

# A base object without the annotation got the cluster's default mode, which the policy cannot
# see: a newly written mode may differ from it.
warn contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	before := lib.previous_of(isvc)
	not written_mode(before)
	after := lib.deployment_mode(isvc)
	msg := sprintf("deployment mode %s is now written, but the InferenceService was created without one: it runs in whatever the cluster's default was then, and KServe refuses a change", [lib.text(after)])
}

# --- rollout -------------------------------------------------------------------------------------

deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	lib.annotation(isvc, rollout_strategy_annotation) == "mirror"
	msg := "rollout strategy mirror: KServe has no traffic mirroring (shadow); use canary, or serve the model on Seldon"
}

# --- runtime -------------------------------------------------------------------------------------

runtime(isvc) := r if {
	r := lib.predictor_model(isvc).runtime
	is_string(r)
	r != ""
}

offered := object.keys(runtimes) if {
	runtimes := lib.kserve_settings.runtimes
	is_object(runtimes)
} else := set()

deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	not runtime(isvc)
	msg := "spec.predictor.model.runtime is not set: KServe would pick a runtime by model format, whichever the cluster has; name one of the environment's runtimes"
}

deny contains lib.violation(isvc, msg) if {
	count(offered) > 0
	some isvc in lib.reviewed_inference_services
	name := runtime(isvc)
	not name in offered
	msg := sprintf("runtime %s is not one the environment offers (%s): KServe accepts an InferenceService naming a runtime that does not exist and never serves it (kserve#2196)", [lib.text(name), lib.text(concat(", ", sort(offered)))])
}

# KServe refuses to serve a model with a runtime that does not list its format.
deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	name := runtime(isvc)
	formats := [f | some f in lib.array_at(lib.kserve_settings, ["runtimes", name, "formats"]); is_string(f)]
	count(formats) > 0
	format := lib.predictor_model(isvc).modelFormat.name
	is_string(format)
	not lower(format) in {lower(f) | some f in formats}
	msg := sprintf("runtime %s serves %s, not model format %s: KServe would refuse to serve the model with it", [lib.text(name), lib.text(concat(", ", formats)), lib.text(format)])
}

# An environment document without KServe settings: nothing in that namespace serves KServe.
deny contains lib.violation(isvc, msg) if {
	count(lib.environment_spec) > 0
	count(offered) == 0
	some isvc in lib.reviewed_inference_services
	msg := sprintf("environment %s offers no KServe runtimes (spec.kserve.runtimes in its environment.yaml)", [lib.text(lib.environment_name)])
}
