package modelops_policy_kserve_deployment_test

import rego.v1

import data.modelops_policy_kserve_deployment as kd

isvc(annotations, model) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": "churn", "namespace": "models", "annotations": annotations},
	"spec": {"predictor": {"model": model}},
}

good_model := {"modelFormat": {"name": "sklearn"}, "runtime": "kserve-sklearnserver", "storageUri": "gs://models/churn/v1"}

knative := isvc({"serving.kserve.io/deploymentMode": "Knative"}, good_model)

standard := isvc({"serving.kserve.io/deploymentMode": "Standard"}, good_model)

env_with(runtimes) := {"metadata": {"name": "dev"}, "spec": {"kserve": {"deploymentMode": "Knative", "runtimes": runtimes}}}

sklearn_env := env_with({"kserve-sklearnserver": {"formats": ["sklearn"]}})

doc(objects) := {"environment": {}, "objects": objects, "cluster": []}

changed(before, after) := {"environment": {}, "objects": [after], "cluster": [], "previous": {"InferenceService/models/churn": before}}

denies(d) := msgs if {
	msgs := {v.msg | some v in kd.deny} with input as d
}

warns(d) := msgs if {
	msgs := {v.msg | some v in kd.warn} with input as d
}

any_contains(msgs, text) if {
	some m in msgs
	contains(m, text)
}

test_explicit_mode_and_runtime_are_allowed if {
	count(denies(doc([knative, standard]))) == 0
	count(warns(doc([knative, standard]))) == 0
}

test_mode_unset_denied if {
	msgs := denies(doc([isvc({}, good_model)]))
	count(msgs) == 1
	any_contains(msgs, "kserve#4191")
}

test_mode_unknown_denied if {
	any_contains(denies(doc([isvc({"serving.kserve.io/deploymentMode": "ModelMesh"}, good_model)])), "is ModelMesh")
}

test_deprecated_mode_warns_and_is_not_denied if {
	d := doc([isvc({"serving.kserve.io/deploymentMode": "Serverless"}, good_model)])
	count(denies(d)) == 0
	any_contains(warns(d), "deprecated name Serverless; write Knative")
}

test_mode_change_against_the_base_denied if {
	msgs := denies(changed(knative, standard))
	count(msgs) == 1
	any_contains(msgs, "from Knative to Standard")
}

test_alias_of_the_same_mode_is_no_change if {
	count(denies(changed(isvc({"serving.kserve.io/deploymentMode": "Serverless"}, good_model), knative))) == 0
}

test_unchanged_mode_is_allowed if {
	count(denies(changed(knative, knative))) == 0
}

test_mode_written_on_a_base_without_one_warns if {
	d := changed(isvc({}, good_model), knative)
	count(denies(d)) == 0
	any_contains(warns(d), "created without one")
}

test_previous_of_another_object_is_ignored if {
	d := {"environment": {}, "objects": [standard], "cluster": [], "previous": {"InferenceService/models/other": knative}}
	count(denies(d)) == 0
}

test_mirror_denied if {
	msgs := denies(doc([isvc({"serving.kserve.io/deploymentMode": "Knative", "modelops.dev/rollout-strategy": "mirror"}, good_model)]))
	count(msgs) == 1
	any_contains(msgs, "no traffic mirroring")
}

test_canary_allowed if {
	count(denies(doc([isvc({"serving.kserve.io/deploymentMode": "Knative", "modelops.dev/rollout-strategy": "canary"}, good_model)]))) == 0
}

test_runtime_unset_denied if {
	msgs := denies(doc([isvc({"serving.kserve.io/deploymentMode": "Knative"}, {"modelFormat": {"name": "sklearn"}})]))
	count(msgs) == 1
	any_contains(msgs, "runtime is not set")
}

test_predictor_without_model_has_no_runtime if {
	obj := json.patch(knative, [{"op": "replace", "path": "/spec/predictor", "value": {"sklearn": {"storageUri": "gs://models/churn/v1"}}}])
	any_contains(denies(doc([obj])), "runtime is not set")
}

test_runtime_the_environment_offers_is_allowed if {
	count(denies({"environment": sklearn_env, "objects": [knative], "cluster": []})) == 0
}

test_runtime_the_environment_lacks_denied if {
	d := {"environment": env_with({"kserve-tritonserver": {"formats": ["onnx"]}}), "objects": [knative], "cluster": []}
	msgs := denies(d)
	count(msgs) == 1
	any_contains(msgs, "runtime kserve-sklearnserver is not one the environment offers (kserve-tritonserver)")
}

test_runtime_of_another_format_denied if {
	model := object.union(good_model, {"modelFormat": {"name": "onnx"}})
	msgs := denies({"environment": sklearn_env, "objects": [isvc({"serving.kserve.io/deploymentMode": "Knative"}, model)], "cluster": []})
	count(msgs) == 1
	any_contains(msgs, "runtime kserve-sklearnserver serves sklearn, not model format onnx")
}

test_format_is_compared_without_case if {
	model := object.union(good_model, {"modelFormat": {"name": "SKLearn"}})
	count(denies({"environment": sklearn_env, "objects": [isvc({"serving.kserve.io/deploymentMode": "Knative"}, model)], "cluster": []})) == 0
}

test_environment_without_kserve_denied if {
	d := {"environment": {"metadata": {"name": "dev"}, "spec": {"namespace": "models"}}, "objects": [knative], "cluster": []}
	any_contains(denies(d), "environment dev offers no KServe runtimes")
}
