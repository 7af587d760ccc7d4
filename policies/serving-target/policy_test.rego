package modelops_policy_serving_target_test

import rego.v1

import data.modelops_policy_serving_target as target

env_spec := {
	"servers": {"cpu": {"runtime": "mlserver", "gpu": 0}, "gpu": {"runtime": "triton", "gpu": 1}},
	"kserve": {
		"runtimes": {"sk": {"gpu": 0}, "triton": {"gpu": 1}},
		"storage": {"remoteMbPerSecond": 500, "localMbPerSecond": 3500},
	},
}

environment := {"metadata": {"name": "e"}, "spec": env_spec}

cached := {"metadata": {"name": "e"}, "spec": object.union(env_spec, {"kserve": {"localModelCache": {"nodeGroups": ["nvme"]}}})}

model(name, annotations, spec) := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "metadata": {"name": name, "namespace": "ns", "labels": {"app.kubernetes.io/component": "model"}, "annotations": object.union({"modelops.dev/artifact-size": "100Mi"}, annotations)}, "spec": object.union({"storageUri": "gs://b/m/1", "memory": "1Gi", "server": "cpu"}, spec)}

isvc(name, annotations, predictor) := {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": name, "namespace": "ns", "annotations": object.union({"modelops.dev/artifact-size": "100Mi", "serving.kserve.io/deploymentMode": "Knative"}, annotations)}, "spec": {"predictor": object.union({"minReplicas": 1, "maxReplicas": 2, "model": {"modelFormat": {"name": "sklearn"}, "runtime": "sk", "protocolVersion": "v2", "storageUri": "gs://b/m/1"}}, predictor)}}

server(name, config) := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server", "metadata": {"name": name, "namespace": "ns"}, "spec": {"serverConfig": config}}

pipeline(name, step_list) := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": name, "namespace": "ns"}, "spec": {"steps": step_list, "output": {"steps": [step_list[0].name]}}}

idle(budget) := {"modelops.dev/traffic-pattern": "idle", "modelops.dev/cold-start-budget-seconds": budget}

doc(env, objects, cluster) := {"environment": env, "objects": objects, "cluster": cluster}

warned(env, objects, cluster) := sort([v.msg | some v in target.warn with input as doc(env, objects, cluster)])

denied(env, objects, cluster) := sort([v.msg | some v in target.deny with input as doc(env, objects, cluster)])

test_idle_seldon_model_that_loads_in_budget_belongs_on_kserve if {
	[msg] := warned(environment, [model("m", idle("60"), {})], [])
	contains(msg, "served by seldon, but the serving-target rules recommend kserve (sparse-traffic)")
}

test_idle_seldon_model_over_budget_stays if {
	# 2Gi at 500 MB/s is ~4.3 s, over a 1 s budget
	count(warned(environment, [model("m", object.union(idle("1"), {"modelops.dev/artifact-size": "2Gi"}), {})], [])) == 0
}

test_the_node_cache_bandwidth_makes_it_fit if {
	big := model("m", object.union(idle("1"), {"modelops.dev/artifact-size": "2Gi"}), {})
	count(warned(environment, [big], [])) == 0
	[msg] := warned(cached, [big], [])
	contains(msg, "recommend kserve (sparse-traffic)")
}

test_steady_traffic_is_quiet if {
	count(warned(environment, [model("m", {"modelops.dev/traffic-pattern": "steady", "modelops.dev/cold-start-budget-seconds": "60"}, {})], [])) == 0
}

test_seldon_requirements_outweigh_sparse_traffic if {
	m := model("m", idle("60"), {"logger": {"percent": 5}})
	count(warned(environment, [m], [])) == 0
}

test_drift_step_keeps_a_model_on_seldon if {
	p := pipeline("m-pipeline", [{"name": "m"}, {"name": "m-drift", "inputs": ["m.inputs"], "batch": {"size": 100}}])
	count(warned(environment, [model("m", idle("60"), {})], [p])) == 0
	target.drift(model("m", {}, {})) with input as doc(environment, [], [p])
	not target.pipeline_step(model("m", {}, {})) with input as doc(environment, [], [p])
}

test_a_step_of_another_pipeline_keeps_a_model_on_seldon if {
	p := pipeline("main-pipeline", [{"name": "pre"}, {"name": "main", "inputs": ["pre"]}])
	count(warned(environment, [model("pre", idle("60"), {})], [p])) == 0
}

test_explainer_and_mirror_keep_a_model_on_seldon if {
	explainer := model("m-explainer", {}, {"explainer": {"type": "anchor_tabular", "modelRef": "m"}})
	count(warned(environment, [model("m", idle("60"), {})], [explainer])) == 0
	experiment := {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Experiment", "metadata": {"name": "m-rollout", "namespace": "ns"}, "spec": {"default": "m", "candidates": [{"name": "m", "weight": 100}], "mirror": {"name": "m-candidate", "percent": 10}}}
	count(warned(environment, [model("m", idle("60"), {})], [experiment])) == 0
}

test_inference_service_with_mirror_belongs_on_seldon if {
	[msg] := warned(environment, [isvc("k", {"modelops.dev/rollout-strategy": "mirror"}, {})], [])
	contains(msg, "served by kserve, but the serving-target rules recommend seldon (mirror)")
}

test_scale_to_zero_inference_service_is_where_it_belongs if {
	count(warned(environment, [isvc("k", idle("60"), {"minReplicas": 0})], [])) == 0
}

test_scale_to_zero_over_budget_warns if {
	big := isvc("k", object.union(idle("1"), {"modelops.dev/artifact-size": "2Gi"}), {"minReplicas": 0})
	[msg] := warned(environment, [big], [])
	contains(msg, "[cold-start-over-budget] minReplicas 0: a first request after idle waits ~4.29s to load 2Gi at 500 MB/s, over its 1.00s budget")
}

gpu_models(n) := [isvc(sprintf("g%d", [i]), {}, {"model": {"runtime": "triton"}}) | some i in numbers.range(1, n)]

test_many_small_gpu_models_belong_on_seldon if {
	first := gpu_models(21)[0]
	msgs := warned(environment, [first], array.slice(gpu_models(21), 1, 21))
	[msg] := msgs
	contains(msg, "recommend seldon (gpu-packing)")
	count(warned(environment, [first], array.slice(gpu_models(20), 1, 20))) == 0
}

test_critical_model_in_a_shared_mlserver_warns if {
	m := model("m", {"modelops.dev/critical": "true"}, {})
	[msg] := warned(environment, [m], [server("cpu", "mlserver"), model("other", {}, {})])
	contains(msg, "[critical-shared-process] critical, yet shares the MLServer process of Server cpu with 1 other Model(s)")
	count(warned(environment, [m], [server("cpu", "mlserver")])) == 0
	count(warned(environment, [m], [server("cpu", "triton"), model("other", {}, {})])) == 0
}

test_candidates_and_detectors_are_not_judged if {
	candidate := object.union(model("m-candidate", idle("60"), {}), {"metadata": {"labels": {"app.kubernetes.io/component": "candidate"}}})
	count(warned(environment, [candidate], [])) == 0
}

test_unreadable_annotations_denied if {
	msgs := denied(environment, [model("m", {"modelops.dev/traffic-pattern": "sometimes", "modelops.dev/cold-start-budget-seconds": "soon", "modelops.dev/critical": "yes"}, {})], [])
	count(msgs) == 3
	some a in msgs
	contains(a, "modelops.dev/traffic-pattern is sometimes; it must be one of steady, bursty, idle")
	some b in msgs
	contains(b, "modelops.dev/cold-start-budget-seconds is soon; it must be a number of seconds above 0")
	some c in msgs
	contains(c, "modelops.dev/critical is yes")
}

test_readable_annotations_are_not_denied if {
	count(denied(environment, [model("m", object.union(idle("0.3"), {"modelops.dev/critical": "false"}), {})], [])) == 0
}
