package modelops_lib_test

import rego.v1

import data.modelops_lib as lib

test_bytes_reads_kubernetes_quantities if {
	lib.bytes("1200Mi") == 1258291200
	lib.bytes("1.5Gi") == 1610612736
	lib.bytes("2G") == 2000000000
	lib.bytes("512k") == 512000
	lib.bytes("1e3") == 1000
	lib.bytes("0") == 0
	lib.bytes(1073741824) == 1073741824
}

# regorus aborts the whole evaluation when units.parse_bytes meets garbage: these must be
# undefined instead.
test_bytes_is_undefined_for_malformed_quantities if {
	every q in ["lots", "", "Gi", "1..2Gi", ".5Gi", "1.Gi", "100m", "12iK", "1e3.5", "-1Gi", "1 Gi"] {
		not lib.bytes(q)
	}
	not lib.bytes(null)
	not lib.bytes(["1Gi"])
}

test_number_reads_numeric_strings_only if {
	lib.number("0.01") == 0.01
	lib.number(" 5000 ") == 5000
	lib.number("1e-05") == 0.00001
	lib.number(7) == 7
	not lib.number("low")
	not lib.number("")
	not lib.number(null)
}

test_array_at_tolerates_null_and_non_arrays if {
	lib.array_at({"spec": {"steps": [1, 2]}}, ["spec", "steps"]) == [1, 2]
	lib.array_at({"spec": {"steps": null}}, ["spec", "steps"]) == []
	lib.array_at({"spec": {"steps": "x"}}, ["spec", "steps"]) == []
	lib.array_at({}, "rules") == []
}

test_text_is_quote_free if {
	lib.text("plain") == "plain"
	lib.text("say \"hi\"") == "say 'hi'"
	lib.text(0.05) == "0.05"
	lib.text(300) == "300"
	lib.text(false) == "false"
	lib.text(null) == "null"
	lib.text({"a": "b"}) == "{'a':'b'}"
}

model(labels, annotations) := {"kind": "Model", "metadata": {"name": "m", "labels": labels, "annotations": annotations}}

test_drift_detector_by_label_or_annotation if {
	lib.is_drift_detector(model({"app.kubernetes.io/component": "drift-detector"}, {}))
	lib.is_drift_detector(model({}, {"modelops.dev/drift-p-value": "0.01"}))
	not lib.is_drift_detector(model({"app.kubernetes.io/component": "model"}, {"modelops.dev/artifact-size": "1Gi"}))
}

test_component if {
	lib.component(model({"app.kubernetes.io/component": "candidate"}, {})) == "candidate"
	lib.component({"kind": "Model"}) == ""
}

test_cluster_and_environment_come_from_the_input if {
	lib.cluster == [{"kind": "Server"}] with input as {"objects": [], "cluster": [{"kind": "Server"}]}
	lib.cluster == [] with input as {"objects": []}
	lib.environment_spec == {"limits": {}} with input as {"objects": [], "environment": {"metadata": {"name": "qa"}, "spec": {"limits": {}}}}
	lib.environment_name == "qa" with input as {"objects": [], "environment": {"metadata": {"name": "qa"}}}
	lib.environment_spec == {} with input as {"objects": []}
}

_server(name, containers) := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server", "metadata": {"name": name}, "spec": {"replicas": 3, "podSpec": {"containers": containers}}}

_mlserver(memory) := {"name": "mlserver", "resources": {"requests": {"memory": memory}}}

_agent(pct) := {"name": "agent", "env": [{"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": pct}]}

test_a_server_fact_is_its_capacity_replicas_and_ratio if {
	lib.server_fact(_server("pool", [_mlserver("8Gi"), _agent("50")])) == {"name": "pool", "capacity": 8589934592, "replicas": 3, "ratio": 1.5, "capabilities": []}
	lib.server_fact(_server("pool", [_mlserver("8Gi")])).ratio == 1.1 # Seldon's default 10 %
}

test_a_server_fact_has_null_for_what_cannot_be_read if {
	lib.server_fact(_server("pool", [_mlserver("lots"), _agent("many")])) == {"name": "pool", "capacity": null, "replicas": 3, "ratio": null, "capabilities": []}
	lib.server_fact(_server("pool", [])).capacity == null
}

test_server_facts_name_each_server_once_the_reviewed_first if {
	reviewed := _server("pool", [_mlserver("1Gi")])
	in_cluster := _server("pool", [_mlserver("2Gi")])
	other := _server("other", [_mlserver("4Gi")])
	facts := lib.server_facts with input as {"objects": [reviewed], "cluster": [in_cluster, other]}
	facts.pool.capacity == 1073741824
	facts.other.capacity == 4294967296
}

test_server_capabilities_replace_or_extend_the_server_configs if {
	mlserver := {"spec": {"serverConfig": "mlserver"}}
	"sklearn" in lib.server_capabilities(mlserver)
	not "tensorflow" in lib.server_capabilities(mlserver)
	"mlserver-1.3.4" in lib.server_capabilities({"spec": {"serverConfig": "mlserver", "extraCapabilities": ["mlserver-1.3.4"]}})
	lib.server_capabilities({"spec": {"serverConfig": "mlserver", "capabilities": ["only"], "extraCapabilities": ["x"]}}) == ["only"]
	lib.server_capabilities({"spec": {"serverConfig": "custom"}}) == []
}

test_model_requirements_include_the_model_type if {
	lib.model_requirements({"spec": {"requirements": ["sklearn"], "modelType": "mlserver"}}) == ["mlserver", "sklearn"]
	lib.model_requirements({"spec": {}}) == []
}

test_an_alibi_detect_model_is_a_detector_without_labels if {
	lib.is_drift_detector({"spec": {"requirements": ["mlserver", "alibi-detect"]}})
	not lib.is_drift_detector({"spec": {"requirements": ["sklearn"]}})
}

# --- KServe and the base of a change -------------------------------------------------------------

with_mode(mode) := {"kind": "InferenceService", "metadata": {"name": "m", "namespace": "ns", "annotations": {"serving.kserve.io/deploymentMode": mode}}}

test_deployment_mode_resolves_deprecated_names if {
	lib.deployment_mode(with_mode("Knative")) == "Knative"
	lib.deployment_mode(with_mode("Serverless")) == "Knative"
	lib.deployment_mode(with_mode("RawDeployment")) == "Standard"
	not lib.deployment_mode(with_mode("ModelMesh"))
	not lib.deployment_mode({"kind": "InferenceService", "metadata": {"name": "m"}})
}

test_previous_of_finds_the_object_by_kind_namespace_and_name if {
	old := with_mode("Knative")
	d := {"environment": {}, "objects": [], "cluster": [], "previous": {"InferenceService/ns/m": old}}
	lib.previous_of(with_mode("Standard")) == old with input as d
	not lib.previous_of(object.union(with_mode("Standard"), {"metadata": {"name": "other"}})) with input as d
}

test_previous_is_empty_without_one if {
	lib.previous == {} with input as {"environment": {}, "objects": [], "cluster": []}
	lib.previous == {} with input as {"environment": {}, "objects": [], "cluster": [], "previous": []}
}

test_load_seconds_is_size_over_bandwidth if {
	lib.load_seconds(140000000000, 500) == 280
	lib.load_seconds(140000000000, 3500) == 40
}
