package modelops_policy_memory_and_replicas_test

import rego.v1

import data.modelops_policy_memory_and_replicas as policy

# `spec` is merged over a Model with 1Gi memory, a 600Mi artifact and replicas 2/2/4.
model(spec, annotations) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Model",
	"metadata": {"name": "fraud", "namespace": "models", "annotations": object.union({"modelops.dev/artifact-size": "600Mi"}, annotations)},
	"spec": object.union({"storageUri": "gs://m/fraud/v1", "memory": "1Gi", "replicas": 2, "minReplicas": 2, "maxReplicas": 4}, spec),
}

prod := {"metadata": {"name": "prod"}, "spec": {"limits": {"minReplicas": 2}}}

messages(obj, environment) := msgs if {
	msgs := {v.msg | some v in policy.deny} with input as {"environment": environment, "objects": [obj], "cluster": []}
}

only(msgs, text) if {
	count(msgs) == 1
	some m in msgs
	contains(m, text)
}

test_consistent_model_allowed_in_prod if {
	count(messages(model({}, {}), prod)) == 0
}

test_memory_unset_denied if {
	only(messages(json.remove(model({}, {}), ["spec/memory"]), {}), "spec.memory is not set")
}

test_memory_null_denied if {
	only(messages(model({"memory": null}, {}), {}), "spec.memory is not set")
}

test_memory_garbled_denied if {
	only(messages(model({"memory": "lots"}, {}), {}), "spec.memory lots is not a Kubernetes quantity")
}

test_memory_zero_denied if {
	only(messages(json.remove(model({"memory": "0"}, {}), ["metadata/annotations"]), {}), "not above 0 bytes")
}

test_memory_below_artifact_size_denied if {
	only(messages(model({"memory": "512Mi"}, {}), {}), "less than the artifact size 600Mi")
}

test_memory_equal_to_artifact_size_allowed if {
	count(messages(model({"memory": "600Mi"}, {}), {})) == 0
}

test_numeric_memory_in_bytes_is_read if {
	count(messages(model({"memory": 1073741824}, {}), {})) == 0
}

test_no_artifact_size_skips_the_size_check if {
	m := json.remove(model({"memory": "1Mi"}, {}), ["metadata/annotations"])
	count(messages(m, {})) == 0
}

test_garbled_artifact_size_denied if {
	only(messages(model({}, {"modelops.dev/artifact-size": "big"}), {}), "is not a Kubernetes quantity of bytes, so memory cannot be checked")
}

test_prod_min_replicas_1_denied if {
	only(messages(model({"replicas": 1, "minReplicas": 1}, {}), prod), "minReplicas 1 is below the environment's minimum of 2")
}

test_without_min_replicas_the_fixed_count_is_the_floor if {
	only(messages(json.remove(model({"replicas": 1}, {}), ["spec/minReplicas"]), prod), "replicas (no minReplicas) 1 is below")
	count(messages(json.remove(model({"replicas": 3}, {}), ["spec/minReplicas"]), prod)) == 0
}

test_unset_replicas_default_to_seldons_1 if {
	only(messages(json.remove(model({}, {}), ["spec/minReplicas", "spec/replicas"]), prod), "replicas (no minReplicas) 1")
}

test_no_environment_limit_allows_one_replica if {
	count(messages(model({"replicas": 1, "minReplicas": 1}, {}), {})) == 0
}

test_drift_detector_is_exempt_from_the_replica_floor if {
	detector := model({"replicas": 1, "minReplicas": 1, "maxReplicas": 1}, {"modelops.dev/drift-p-value": "0.01"})
	count(messages(detector, prod)) == 0
}

test_max_below_min_denied if {
	only(messages(model({"replicas": 2, "minReplicas": 3, "maxReplicas": 2}, {}), {}), "maxReplicas 2 is below minReplicas 3")
}

test_max_below_replicas_denied if {
	only(messages(model({"replicas": 5, "maxReplicas": 4}, {}), {}), "maxReplicas 4 is below replicas 5")
}

test_max_equal_to_min_allowed if {
	count(messages(model({"replicas": 2, "minReplicas": 2, "maxReplicas": 2}, {}), prod)) == 0
}

test_unset_max_is_not_compared if {
	count(messages(json.remove(model({"replicas": 3, "minReplicas": 3}, {}), ["spec/maxReplicas"]), {})) == 0
}

# --- KServe predictors ---------------------------------------------------------------------------

isvc(size, resources) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": "churn", "namespace": "models", "annotations": {"modelops.dev/artifact-size": size}},
	"spec": {"predictor": {"model": {"runtime": "kserve-sklearnserver", "resources": resources}}},
}

isvc_denies(obj) := msgs if {
	msgs := {v.msg | some v in policy.deny} with input as {"environment": {}, "objects": [obj], "cluster": []}
}

guaranteed(memory) := {"requests": {"cpu": "1", "memory": memory}, "limits": {"memory": memory}}

isvc_only(obj, text) if {
	msgs := isvc_denies(obj)
	count(msgs) == 1
	some m in msgs
	contains(m, text)
}

test_predictor_with_room_for_its_artifact_allowed if {
	count(isvc_denies(isvc("180Mi", guaranteed("1Gi")))) == 0
}

test_predictor_memory_unset_denied if {
	isvc_only(isvc("180Mi", {"requests": {"cpu": "1"}}), "requests.memory is not set")
}

test_predictor_limit_differs_denied if {
	isvc_only(isvc("180Mi", {"requests": {"memory": "1Gi"}, "limits": {"memory": "2Gi"}}), "memory request 1Gi and limit 2Gi differ")
}

test_predictor_limit_unset_denied if {
	isvc_only(isvc("180Mi", {"requests": {"memory": "1Gi"}}), "memory request 1Gi and limit unset differ")
}

test_predictor_equal_in_other_units_allowed if {
	count(isvc_denies(isvc("180Mi", {"requests": {"memory": "1Gi"}, "limits": {"memory": "1024Mi"}}))) == 0
}

test_predictor_below_artifact_factor_denied if {
	isvc_only(isvc("1Gi", guaranteed("1100Mi")), "less than 1.2 x the artifact size 1Gi")
}

test_predictor_unparseable_memory_denied if {
	msgs := isvc_denies(isvc("180Mi", guaranteed("lots")))
	some m in msgs
	contains(m, "requests.memory lots is not a Kubernetes quantity")
}

test_predictor_unparseable_artifact_size_denied if {
	isvc_only(isvc("big", guaranteed("1Gi")), "annotation modelops.dev/artifact-size big is not a Kubernetes quantity")
}
