# KServe scaling: the replica bounds an InferenceService writes must be the ones it gets.
# Scale-to-zero (minReplicas 0) works with Knative's autoscaler and with KEDA; in Standard mode
# the HPA autoscaler silently turns 0 into 1 (kserve#3514), so the model would never scale to
# zero and `plan` would count the wrong pods. See README.md.
package modelops_policy_kserve_scaling

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"InferenceService"}

# Standard mode's autoscaler when the object names none (KServe's raw-deployment default).
standard_default_autoscaler := "hpa"

autoscaler(isvc) := a if {
	a := lib.annotation(isvc, lib.autoscaler_class_annotation)
} else := standard_default_autoscaler

deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	lib.predictor(isvc).minReplicas == 0
	lib.deployment_mode(isvc) == "Standard"
	autoscaler(isvc) == "hpa"
	msg := sprintf("minReplicas 0 in Standard mode with the %s autoscaler: KServe's HPA reconciler turns it into 1 (kserve#3514), so the model never scales to zero; use autoscalerClass keda, Knative mode, or minReplicas 1", [lib.text(autoscaler(isvc))])
}

deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	p := lib.predictor(isvc)
	max := p.maxReplicas
	is_number(max)
	max > 0
	min := p.minReplicas
	is_number(min)
	max < min
	msg := sprintf("spec.predictor.maxReplicas %v is below minReplicas %v", [max, min])
}
