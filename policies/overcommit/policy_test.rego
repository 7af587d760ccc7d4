package modelops_policy_overcommit_test

import rego.v1

import data.modelops_policy_overcommit as overcommit

server(name, replicas, memory, pct) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Server",
	"metadata": {"name": name, "namespace": "models"},
	"spec": {"replicas": replicas, "podSpec": {"containers": [
		{"name": "mlserver", "resources": {"requests": {"memory": memory}}},
		{"name": "agent", "env": [{"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": sprintf("%d", [pct])}]},
	]}},
}

model(name, server, memory, replicas) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Model",
	"metadata": {"name": name, "namespace": "models"},
	"spec": {"server": server, "memory": memory, "replicas": replicas},
}

env(max_pct) := {"metadata": {"name": "test"}, "spec": {"limits": {"maxOvercommitPercent": max_pct}}}

denied_names(result) := {v.name | some v in result}

test_ratio_above_3_denied if {
	result := overcommit.deny with input as {"environment": {}, "objects": [server("pool", 2, "8Gi", 400)], "cluster": []}
	denied_names(result) == {"pool"}
}

test_ratio_150_percent_warns_only if {
	doc := {"environment": {}, "objects": [server("pool", 2, "8Gi", 150)], "cluster": []}
	count(overcommit.deny) == 0 with input as doc
	count(overcommit.warn) == 1 with input as doc
}

test_ratio_exactly_2_is_quiet if {
	doc := {"environment": {}, "objects": [server("pool", 2, "8Gi", 100)], "cluster": []}
	count(overcommit.deny) == 0 with input as doc
	count(overcommit.warn) == 0 with input as doc
}

test_environment_limit_is_stricter if {
	result := overcommit.deny with input as {"environment": env(50), "objects": [server("pool", 2, "8Gi", 60)], "cluster": []}
	denied_names(result) == {"pool"}
}

test_unset_overcommit_defaults_to_seldon_10_percent if {
	s := json.patch(server("pool", 1, "4Gi", 0), [{"op": "remove", "path": "/spec/podSpec/containers/1"}])
	# 4.3Gi fits 4Gi x 1.10 only because of Seldon's default 10 %.
	doc := {"environment": {}, "objects": [s, model("m", "pool", "4300Mi", 1)], "cluster": []}
	count(overcommit.deny) == 0 with input as doc
}

test_pool_load_above_ratio_denied_on_server if {
	# 3 models x 3 replicas x 2Gi = 18Gi planned. 3 x 6Gi x 1.10 = 19.8Gi fits;
	# 3 x 5Gi x 1.10 = 16.5Gi does not.
	models := [model("a", "pool", "2Gi", 3), model("b", "pool", "2Gi", 3), model("c", "pool", "2Gi", 3)]
	fits := overcommit.deny with input as {"environment": {}, "objects": array.concat([server("pool", 3, "6Gi", 10)], models), "cluster": []}
	count(fits) == 0
	full := overcommit.deny with input as {"environment": {}, "objects": array.concat([server("pool", 3, "5Gi", 10)], models), "cluster": []}
	denied_names(full) == {"pool"}
}

test_model_that_overloads_its_pool_is_denied_not_its_neighbours if {
	cluster := [server("pool", 2, "4Gi", 0), model("a", "pool", "3Gi", 2)]
	result := overcommit.deny with input as {"environment": {}, "objects": [model("new", "pool", "2Gi", 2)], "cluster": cluster}
	denied_names(result) == {"new"}
}

test_same_model_on_pool_with_room_is_allowed if {
	cluster := [server("pool", 2, "4Gi", 0), server("roomy", 2, "16Gi", 0), model("a", "pool", "3Gi", 2)]
	result := overcommit.deny with input as {"environment": {}, "objects": [model("new", "roomy", "2Gi", 2)], "cluster": cluster}
	count(result) == 0
}

test_model_bigger_than_a_server_replica_denied if {
	cluster := [server("pool", 4, "4Gi", 10)]
	result := overcommit.deny with input as {"environment": {}, "objects": [model("huge", "pool", "5Gi", 1)], "cluster": cluster}
	denied_names(result) == {"huge"}
}

test_more_replicas_than_server_replicas_denied if {
	cluster := [server("pool", 2, "16Gi", 10)]
	result := overcommit.deny with input as {"environment": {}, "objects": [model("wide", "pool", "1Gi", 3)], "cluster": cluster}
	some v in result
	contains(v.msg, "3 replicas")
}

test_autoscaling_headroom_warns if {
	# 16Gi + 5Gi planned on 24Gi fits; at 4 replicas the new model adds 15Gi more: 36/24.
	m := json.patch(model("elastic", "pool", "5Gi", 1), [{"op": "add", "path": "/spec/maxReplicas", "value": 4}])
	doc := {"environment": {}, "objects": [m], "cluster": [server("pool", 4, "6Gi", 0), model("a", "pool", "4Gi", 4)]}
	count(overcommit.deny) == 0 with input as doc
	count(overcommit.warn) == 1 with input as doc
}

test_unparseable_overcommit_denied if {
	s := json.patch(server("pool", 1, "4Gi", 0), [{"op": "replace", "path": "/spec/podSpec/containers/1/env/0/value", "value": "lots"}])
	result := overcommit.deny with input as {"environment": {}, "objects": [s], "cluster": []}
	some v in result
	contains(v.msg, "not a number")
}

unpinned(name, memory, requirements) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Model",
	"metadata": {"name": name, "namespace": "models"},
	"spec": {"memory": memory, "replicas": 1, "requirements": requirements},
}

mlserver(name, memory) := object.union(server(name, 1, memory, 0), {"spec": {"serverConfig": "mlserver"}})

test_unpinned_model_that_fits_one_capable_server_is_allowed if {
	doc := {"environment": {}, "objects": [unpinned("m", "6Gi", ["sklearn"])], "cluster": [mlserver("small", "4Gi"), mlserver("big", "8Gi")]}
	count(overcommit.deny) == 0 with input as doc
}

test_unpinned_model_that_fits_no_capable_server_is_denied if {
	full := model("full", "big", "7Gi", 1)
	doc := {"environment": {}, "objects": [unpinned("m", "6Gi", ["sklearn"])], "cluster": [mlserver("small", "4Gi"), mlserver("big", "8Gi"), full]}
	[found] := [v | some v in overcommit.deny with input as doc]
	found.name == "m"
	contains(found.msg, "fits on none of the Servers Seldon may place it on (big, small)")
}

test_unpinned_model_ignores_servers_without_its_capabilities if {
	triton := object.union(server("gpu", 1, "64Gi", 0), {"spec": {"serverConfig": "triton"}})
	doc := {"environment": {}, "objects": [unpinned("m", "6Gi", ["sklearn"])], "cluster": [mlserver("small", "4Gi"), triton]}
	[found] := [v | some v in overcommit.deny with input as doc]
	contains(found.msg, "(small)")
}
