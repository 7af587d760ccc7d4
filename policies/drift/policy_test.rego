package modelops_policy_drift_test

import rego.v1

import data.modelops_policy_drift as drift

detector(name, p_value, rows, batch) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Model",
	"metadata": {"name": name, "namespace": "models", "annotations": {
		"modelops.dev/drift-p-value": p_value,
		"modelops.dev/drift-reference-rows": rows,
		"modelops.dev/drift-batch-size": batch,
	}},
	"spec": {"storageUri": "gs://models/fraud/drift/v1", "requirements": ["mlserver", "alibi-detect"], "memory": "512Mi"},
}

good_detector := detector("fraud-drift", "0.01", "5000", "20")

pipeline(steps, outputs) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Pipeline",
	"metadata": {"name": "fraud", "namespace": "models"},
	"spec": {"steps": steps, "output": {"steps": outputs}},
}

drift_step(batch) := {"name": "fraud-drift", "inputs": ["fraud.inputs"], "batch": batch}

good_pipeline := pipeline([{"name": "fraud"}, drift_step({"size": 20})], ["fraud"])

doc(objects, cluster) := {"environment": {}, "objects": objects, "cluster": cluster}

messages(objects, cluster) := msgs if {
	msgs := {v.msg | some v in drift.deny} with input as doc(objects, cluster)
}

any_contains(msgs, text) if {
	some m in msgs
	contains(m, text)
}

test_wired_detector_is_allowed if {
	d := doc([good_detector, good_pipeline], [])
	count(drift.deny) == 0 with input as d
	count(drift.warn) == 0 with input as d
}

test_p_value_005_denied if {
	msgs := messages([detector("fraud-drift", "0.05", "5000", "20"), good_pipeline], [])
	count(msgs) == 1
	any_contains(msgs, "p-value 0.05")
}

test_p_value_zero_denied if {
	any_contains(messages([detector("fraud-drift", "0", "5000", "20"), good_pipeline], []), "p-value 0 ")
}

test_p_value_in_scientific_notation_is_read if {
	count(messages([detector("fraud-drift", "1e-05", "5000", "20"), good_pipeline], [])) == 0
}

test_missing_p_value_denied if {
	d := json.remove(good_detector, [["metadata", "annotations", "modelops.dev/drift-p-value"]])
	any_contains(messages([d, good_pipeline], []), "no numeric modelops.dev/drift-p-value")
}

test_garbled_p_value_denied_not_crashed if {
	any_contains(messages([detector("fraud-drift", "low", "5000", "20"), good_pipeline], []), "got low")
}

test_2000_row_reference_denied if {
	msgs := messages([detector("fraud-drift", "0.01", "2000", "20"), good_pipeline], [])
	count(msgs) == 1
	any_contains(msgs, "2000 rows")
}

test_reference_bounds_are_inclusive if {
	count(messages([detector("fraud-drift", "0.01", "10000", "20"), good_pipeline], [])) == 0
	any_contains(messages([detector("fraud-drift", "0.01", "10001", "20"), good_pipeline], []), "10001 rows")
}

test_missing_reference_rows_denied if {
	d := json.remove(good_detector, [["metadata", "annotations", "modelops.dev/drift-reference-rows"]])
	any_contains(messages([d, good_pipeline], []), "no numeric modelops.dev/drift-reference-rows")
}

test_zero_batch_annotation_denied if {
	any_contains(messages([detector("fraud-drift", "0.01", "5000", "0"), good_pipeline], []), "batch size 0")
}

test_detector_label_alone_makes_a_detector if {
	m := {
		"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
		"metadata": {"name": "fraud-drift", "namespace": "models", "labels": {"app.kubernetes.io/component": "drift-detector"}},
		"spec": {"storageUri": "gs://models/fraud/drift/v1"},
	}
	msgs := messages([m, good_pipeline], [])
	any_contains(msgs, "drift-p-value")
	any_contains(msgs, "drift-reference-rows")
}

test_detector_in_output_steps_denied_on_pipeline if {
	result := drift.deny with input as doc([good_detector, pipeline([{"name": "fraud"}, drift_step({"size": 20})], ["fraud", "fraud-drift"])], [])
	count(result) == 1
	some v in result
	v.kind == "Pipeline"
	contains(v.msg, "fraud-drift is in output.steps")
}

test_output_reference_with_tensor_counts_as_the_step if {
	p := pipeline([{"name": "fraud"}, drift_step({"size": 20})], ["fraud", "fraud-drift.outputs.is_drift"])
	any_contains(messages([good_detector, p], []), "is in output.steps")
}

test_detector_feeding_a_synchronous_step_denied if {
	steps := [{"name": "fraud"}, drift_step({"size": 20}), {"name": "post", "inputs": ["fraud", "fraud-drift.outputs"]}]
	any_contains(messages([good_detector, pipeline(steps, ["post"])], []), "feeds a step that output.steps reaches")
}

test_detector_step_without_batch_denied if {
	p := pipeline([{"name": "fraud"}, {"name": "fraud-drift", "inputs": ["fraud.inputs"]}], ["fraud"])
	any_contains(messages([good_detector, p], []), "no batch.size above 0 (got none)")
}

test_detector_step_with_zero_batch_denied if {
	p := pipeline([{"name": "fraud"}, drift_step({"size": 0})], ["fraud"])
	any_contains(messages([good_detector, p], []), "(got 0)")
}

test_pipeline_referencing_cluster_detector_without_batch_denied if {
	p := pipeline([{"name": "fraud"}, {"name": "fraud-drift"}], ["fraud"])
	result := drift.deny with input as doc([p], [good_detector])
	some v in result
	v.kind == "Pipeline"
	contains(v.msg, "no batch.size")
}

test_reviewed_detector_in_badly_wired_cluster_pipeline_denied_on_detector if {
	p := pipeline([{"name": "fraud"}, {"name": "fraud-drift"}], ["fraud"])
	result := drift.deny with input as doc([good_detector], [p])
	count(result) == 1
	some v in result
	v.kind == "Model"
	v.name == "fraud-drift"
	contains(v.msg, "Pipeline fraud")
}

test_non_detector_step_without_batch_is_fine if {
	p := pipeline([{"name": "pre"}, {"name": "fraud", "inputs": ["pre"]}], ["fraud"])
	count(messages([p], [])) == 0
}

test_detector_in_another_namespace_is_not_this_pipelines if {
	other := json.patch(good_detector, [{"op": "replace", "path": "/metadata/namespace", "value": "elsewhere"}])
	p := pipeline([{"name": "fraud"}, {"name": "fraud-drift"}], ["fraud"])
	count(messages([p], [other])) == 0
}

test_unwired_detector_warns if {
	d := doc([good_detector], [])
	count(drift.deny) == 0 with input as d
	some v in drift.warn with input as d
	contains(v.msg, "not a step of any Pipeline")
}

test_malformed_pipeline_does_not_abort if {
	broken := [
		pipeline(null, null),
		pipeline(["fraud-drift", {"name": "fraud-drift", "inputs": [7, null], "triggers": null}], [3]),
	]
	msgs := messages(array.concat([good_detector], broken), [])
	any_contains(msgs, "no batch.size above 0")
}

test_batched_step_in_output_is_a_detector_step_without_its_model if {
	pipeline := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": "iris-async-drift", "namespace": "ns"}, "spec": {
		"steps": [{"name": "iris"}, {"name": "iris-drift-detect", "batch": {"size": 2}, "inputs": ["iris-async-drift.inputs"]}],
		"output": {"steps": ["iris", "iris-drift-detect"]},
	}}
	msgs := [v.msg | some v in drift.deny with input as {"environment": {}, "objects": [pipeline], "cluster": []}]
	msgs == ["drift detector step iris-drift-detect is in output.steps, so it runs synchronously on the request path"]
}
