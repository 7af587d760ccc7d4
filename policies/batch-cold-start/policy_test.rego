package modelops_policy_batch_cold_start_test

import rego.v1

import data.modelops_policy_batch_cold_start as cold_start

cronjob(args) := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": {"name": "batch-ranker", "namespace": "models"},
	"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "batch", "args": args}]}}}}},
}

batch_args(timeout) := ["batch", "run", "--url", "ranker-predictor.models:80", "--model", "ranker", "--timeout", timeout]

# An InferenceService of the shape the generators render; `predictor` replaces the predictor's
# scaling fields, `size` the artifact-size annotation (null leaves it out).
isvc(predictor, size) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": "ranker", "namespace": "models", "annotations": object.union({"serving.kserve.io/deploymentMode": "Knative"}, _size(size))},
	"spec": {"predictor": object.union({"maxReplicas": 2, "model": {"modelFormat": {"name": "sklearn"}, "runtime": "kserve-sklearnserver", "protocolVersion": "v2", "storageUri": "gs://m/ranker/1"}}, predictor)},
}

_size(size) := {} if size == null

_size(size) := {"modelops.dev/artifact-size": size} if size != null

to_zero := {"minReplicas": 0}

review(objects, environment) := {"environment": environment, "objects": objects, "cluster": []}

denies(objects, environment) := msgs if {
	msgs := {v.msg | some v in cold_start.deny} with input as review(objects, environment)
}

warns(objects) := msgs if {
	msgs := {v.msg | some v in cold_start.warn} with input as review(objects, {})
}

only(msgs, text) if {
	count(msgs) == 1
	some m in msgs
	contains(m, text)
}

test_timeout_above_the_cold_start_allowed if {
	# 180Mi at 500 MB/s loads in under 0.4 s.
	count(denies([cronjob(batch_args("60")), isvc(to_zero, "180Mi")], {})) == 0
}

test_timeout_below_the_cold_start_denied if {
	# 140Gi at 500 MB/s is about 300.65 s.
	only(denies([cronjob(batch_args("60")), isvc(to_zero, "140Gi")], {}), "about 300.65 s to load")
}

test_equal_timeout_denied if {
	# 500 MB at 500 MB/s is exactly 1 s.
	only(denies([cronjob(batch_args("1")), isvc(to_zero, "500M")], {}), "--timeout 1 s does not exceed")
}

test_the_environment_bandwidth_counts if {
	slow := {"spec": {"kserve": {"storage": {"remoteMbPerSecond": 50}}}}
	objects := [cronjob(batch_args("3")), isvc(to_zero, "180Mi")]
	count(denies(objects, {})) == 0
	only(denies(objects, slow), "at 50 MB/s is about 3.77 s")
}

test_a_model_that_stays_up_is_not_checked if {
	count(denies([cronjob(batch_args("1")), isvc({"minReplicas": 1}, "140Gi")], {})) == 0
	count(denies([cronjob(batch_args("1")), isvc({}, "140Gi")], {})) == 0
}

test_an_inference_service_elsewhere_is_not_this_one if {
	other := json.patch(isvc(to_zero, "140Gi"), [{"op": "replace", "path": "/metadata/namespace", "value": "other"}])
	count(denies([cronjob(batch_args("1")), other], {})) == 0
	renamed := json.patch(isvc(to_zero, "140Gi"), [{"op": "replace", "path": "/metadata/name", "value": "scorer"}])
	count(denies([cronjob(batch_args("1")), renamed], {})) == 0
}

test_the_inference_service_in_the_cluster_counts if {
	document := {"environment": {}, "objects": [cronjob(batch_args("60"))], "cluster": [isvc(to_zero, "140Gi")]}
	msgs := {v.msg | some v in cold_start.deny} with input as document
	only(msgs, "InferenceService ranker")
}

test_missing_timeout_denied if {
	args := ["batch", "run", "--model", "ranker"]
	only(denies([cronjob(args), isvc(to_zero, "180Mi")], {}), "without a numeric --timeout")
	only(denies([cronjob(batch_args("soon")), isvc(to_zero, "180Mi")], {}), "without a numeric --timeout")
}

test_unreadable_artifact_size_warns if {
	objects := [cronjob(batch_args("60")), isvc(to_zero, null)]
	count(denies(objects, {})) == 0
	only(warns(objects), "no readable modelops.dev/artifact-size")
}

test_a_cronjob_that_calls_no_model_is_ignored if {
	objects := [cronjob(["cleanup", "--timeout", "1"]), isvc(to_zero, "140Gi")]
	count(denies(objects, {})) == 0
	count(warns(objects)) == 0
}
