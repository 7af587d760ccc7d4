package modelops_policy_kserve_scaling_test

import rego.v1

import data.modelops_policy_kserve_scaling as ks

isvc(annotations, predictor) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": "churn", "namespace": "models", "annotations": annotations},
	"spec": {"predictor": object.union(predictor, {"model": {"runtime": "kserve-sklearnserver"}})},
}

denies(objects) := msgs if {
	msgs := {v.msg | some v in ks.deny} with input as {"environment": {}, "objects": objects, "cluster": []}
}

any_contains(msgs, text) if {
	some m in msgs
	contains(m, text)
}

standard(autoscaler) := {"serving.kserve.io/deploymentMode": "Standard", "serving.kserve.io/autoscalerClass": autoscaler}

test_hpa_min_zero_denied if {
	msgs := denies([isvc(standard("hpa"), {"minReplicas": 0})])
	count(msgs) == 1
	any_contains(msgs, "kserve#3514")
}

test_standard_without_autoscaler_is_hpa if {
	any_contains(denies([isvc({"serving.kserve.io/deploymentMode": "Standard"}, {"minReplicas": 0})]), "with the hpa autoscaler")
}

test_deprecated_standard_name_is_standard if {
	any_contains(denies([isvc({"serving.kserve.io/deploymentMode": "RawDeployment"}, {"minReplicas": 0})]), "kserve#3514")
}

test_keda_min_zero_allowed if {
	count(denies([isvc(standard("keda"), {"minReplicas": 0})])) == 0
}

test_knative_min_zero_allowed if {
	count(denies([isvc({"serving.kserve.io/deploymentMode": "Knative"}, {"minReplicas": 0})])) == 0
}

test_hpa_min_one_allowed if {
	count(denies([isvc(standard("hpa"), {"minReplicas": 1, "maxReplicas": 3})])) == 0
}

test_max_below_min_denied if {
	msgs := denies([isvc({"serving.kserve.io/deploymentMode": "Knative"}, {"minReplicas": 3, "maxReplicas": 2})])
	count(msgs) == 1
	any_contains(msgs, "maxReplicas 2 is below minReplicas 3")
}

test_max_unset_is_not_compared if {
	count(denies([isvc({"serving.kserve.io/deploymentMode": "Knative"}, {"minReplicas": 3, "maxReplicas": 0})])) == 0
}
