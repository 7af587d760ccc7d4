package modelops_policy_placement_test

import rego.v1

import data.modelops_policy_placement as placement

server(name, config, memory) := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server", "metadata": {"name": name, "namespace": "ns"}, "spec": {"serverConfig": config, "replicas": 2, "podSpec": {"containers": [{"name": config, "resources": {"requests": {"memory": memory}}}]}}}

bare_server(name, config) := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server", "metadata": {"name": name, "namespace": "ns"}, "spec": {"serverConfig": config}}

model(name, spec) := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "metadata": {"name": name, "namespace": "ns"}, "spec": object.union({"storageUri": "gs://b/m/1", "memory": "1Gi"}, spec)}

doc(objects, cluster) := {"environment": {}, "objects": objects, "cluster": cluster}

denied(objects, cluster) := sort([v.msg | some v in placement.deny with input as doc(objects, cluster)])

warned(objects, cluster) := sort([v.msg | some v in placement.warn with input as doc(objects, cluster)])

test_pinned_model_on_a_capable_server_is_quiet if {
	objects := [model("m", {"server": "cpu", "requirements": ["sklearn"]})]
	count(denied(objects, [server("cpu", "mlserver", "8Gi")])) == 0
	count(warned(objects, [server("cpu", "mlserver", "8Gi")])) == 0
}

test_pinned_to_a_missing_server_denied if {
	[msg] := denied([model("m", {"server": "gpu"})], [server("cpu", "mlserver", "8Gi")])
	contains(msg, "spec.server gpu names no Server in this environment (servers: cpu)")
}

test_pinned_to_a_server_lacking_capabilities_denied if {
	[msg] := denied([model("m", {"server": "cpu", "requirements": ["tensorflow"]})], [server("cpu", "mlserver", "8Gi")])
	contains(msg, "server cpu lacks the capabilities tensorflow")
}

test_model_type_is_a_requirement if {
	[msg] := denied([model("m", {"server": "cpu", "modelType": "onnx"})], [server("cpu", "mlserver", "8Gi")])
	contains(msg, "lacks the capabilities onnx")
}

test_extra_capabilities_count if {
	cpu := object.union(server("cpu", "mlserver", "8Gi"), {"spec": {"extraCapabilities": ["mlserver-1.3.4"]}})
	count(denied([model("m", {"server": "cpu", "requirements": ["mlserver-1.3.4"]})], [cpu])) == 0
}

test_pinned_to_a_server_without_memory_request_denied if {
	[msg] := denied([model("m", {"server": "cpu"})], [bare_server("cpu", "mlserver")])
	contains(msg, "server cpu declares no memory request")
}

test_server_without_memory_request_warns if {
	[msg] := warned([bare_server("cpu", "mlserver")], [])
	contains(msg, "no memory request on the inference container")
	count(denied([bare_server("cpu", "mlserver")], [])) == 0
}

test_unpinned_model_with_a_capable_server_warns_only if {
	objects := [model("m", {"requirements": ["sklearn"]})]
	cluster := [server("gpu", "triton", "8Gi"), server("cpu", "mlserver", "8Gi")]
	count(denied(objects, cluster)) == 0
	[msg] := warned(objects, cluster)
	contains(msg, "Seldon places it on any Server whose capabilities cover sklearn (cpu)")
}

test_unpinned_model_without_a_capable_server_denied if {
	[msg] := denied([model("m", {"requirements": ["tensorflow"]})], [server("cpu", "mlserver", "8Gi")])
	contains(msg, "no Server's capabilities cover the requirements tensorflow")
}

test_unpinned_model_in_an_environment_without_servers_denied if {
	[msg] := denied([model("m", {})], [])
	contains(msg, "no Server's capabilities cover")
}

test_unpinned_model_that_may_land_on_an_undeclared_server_denied if {
	objects := [model("m", {"requirements": ["sklearn"]})]
	[msg] := denied(objects, [server("cpu", "mlserver", "8Gi"), bare_server("spare", "mlserver")])
	contains(msg, "Seldon may place it on Servers that declare no memory request (spare)")
}

test_the_reviewed_server_stands_for_its_indexed_copy if {
	objects := [server("cpu", "mlserver", "8Gi")]
	count(denied(objects, [bare_server("cpu", "mlserver"), model("m", {"server": "cpu"})])) == 0
}
