package modelops_policy_probe_windows_test

import rego.v1

import data.modelops_lib as lib

import data.modelops_policy_probe_windows as probe_windows

# A Server whose inference container carries `probes` (e.g. {"startupProbe": {...}}).
server(name, annotations, probes) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Server",
	"metadata": {"name": name, "namespace": "models", "annotations": annotations},
	"spec": {"serverConfig": "mlserver", "replicas": 2, "podSpec": {"containers": [object.union(
		{"name": "mlserver", "resources": {"requests": {"memory": "16Gi"}}},
		probes,
	)]}},
}

startup(period, failures) := {"startupProbe": {"periodSeconds": period, "failureThreshold": failures}}

model(name, pool, annotations, memory) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Model",
	"metadata": {"name": name, "namespace": "models", "annotations": annotations},
	"spec": {"storageUri": sprintf("gs://models/%s/v1", [name]), "server": pool, "memory": memory},
}

large := {"modelops.dev/max-artifact-size": "4Gi"}

doc(objects, cluster) := {"environment": {}, "objects": objects, "cluster": cluster}

denied(objects, cluster) := names if {
	names := {v.name | some v in probe_windows.deny} with input as doc(objects, cluster)
}

test_30s_startup_window_denied if {
	result := probe_windows.deny with input as doc([server("pool", {}, startup(10, 3))], [])
	some v in result
	v.name == "pool"
	contains(v.msg, "30 s")
	contains(v.msg, "minimum 60 s")
}

test_60s_startup_window_allowed if {
	count(denied([server("pool", {}, startup(10, 6))], [])) == 0
}

test_initial_delay_counts_towards_the_window if {
	probes := {"startupProbe": {"initialDelaySeconds": 30, "periodSeconds": 10, "failureThreshold": 3}}
	count(denied([server("pool", {}, probes)], [])) == 0
}

test_without_startup_probe_the_readiness_window_counts if {
	probes := {"readinessProbe": {"initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3, "timeoutSeconds": 2}}
	result := probe_windows.deny with input as doc([server("pool", {}, probes)], [])
	some v in result
	contains(v.msg, "20 s")
	contains(v.msg, "readinessProbe")
}

test_no_probe_falls_back_to_seldon_default_100s_on_small_pool if {
	count(denied([server("pool", {}, {})], [])) == 0
}

test_no_probe_on_large_pool_warns_with_seldon_default if {
	d := doc([server("pool", large, {})], [])
	count(probe_windows.deny) == 0 with input as d
	some v in probe_windows.warn with input as d
	v.name == "pool"
	contains(v.msg, "probably 100 s")
	contains(v.msg, "Seldon's default startupProbe")
}

test_large_model_beside_unreviewed_server_without_probes_warns_on_model if {
	d := doc([model("big", "pool", {"modelops.dev/artifact-size": "5Gi"}, "6Gi")], [server("pool", {}, {})])
	count(probe_windows.deny) == 0 with input as d
	some v in probe_windows.warn with input as d
	v.kind == "Model"
	contains(v.msg, "server pool probably has a startup window of 100 s")
}

test_large_pool_by_annotation_needs_180s if {
	result := probe_windows.deny with input as doc([server("pool", large, startup(10, 12))], [])
	some v in result
	contains(v.msg, "120 s")
	contains(v.msg, "180-300 s")
	contains(v.msg, "modelops.dev/max-artifact-size 4Gi")
}

test_large_pool_bounds_are_inclusive if {
	count(denied([server("pool", large, startup(10, 18))], [])) == 0
	count(denied([server("pool", large, startup(10, 30))], [])) == 0
}

test_large_pool_window_above_300s_denied if {
	result := probe_windows.deny with input as doc([server("pool", large, startup(10, 31))], [])
	some v in result
	contains(v.msg, "310 s")
}

test_exactly_2gib_is_not_large if {
	objects := [server("pool", {"modelops.dev/max-artifact-size": "2Gi"}, startup(10, 12)), model("m", "pool", {"modelops.dev/artifact-size": "2Gi"}, "3Gi")]
	count(denied(objects, [])) == 0
}

test_large_pool_by_model_in_cluster if {
	cluster := [model("embedder", "pool", {"modelops.dev/artifact-size": "2600Mi"}, "4Gi")]
	result := probe_windows.deny with input as doc([server("pool", {}, startup(10, 12))], cluster)
	some v in result
	v.name == "pool"
	contains(v.msg, "model embedder (2.54Gi) is pinned to it")
}

test_model_memory_counts_when_no_artifact_size if {
	objects := [server("pool", {}, startup(10, 12)), model("big", "pool", {}, "5Gi")]
	denied(objects, []) == {"pool"}
}

test_declared_artifact_size_wins_over_memory if {
	objects := [server("pool", {}, startup(10, 12)), model("m", "pool", {"modelops.dev/artifact-size": "1Gi"}, "3Gi")]
	count(denied(objects, [])) == 0
}

test_large_model_beside_unreviewed_short_server_denied_on_model if {
	cluster := [server("pool", {}, startup(10, 3))]
	result := probe_windows.deny with input as doc([model("big", "pool", {"modelops.dev/artifact-size": "5Gi"}, "6Gi")], cluster)
	count(result) == 1
	some v in result
	v.kind == "Model"
	v.name == "big"
	contains(v.msg, "server pool has a startup window of 30 s")
}

test_large_model_beside_unreviewed_sized_server_allowed if {
	cluster := [server("pool", large, startup(10, 24))]
	count(denied([model("big", "pool", {"modelops.dev/artifact-size": "5Gi"}, "6Gi")], cluster)) == 0
}

test_large_model_with_reviewed_server_reported_once_on_the_server if {
	objects := [server("pool", {}, startup(10, 3)), model("big", "pool", {"modelops.dev/artifact-size": "5Gi"}, "6Gi")]
	denied(objects, []) == {"pool"}
}

test_small_model_beside_short_unreviewed_server_is_not_this_models_fault if {
	cluster := [server("pool", {}, startup(10, 3))]
	count(denied([model("small", "pool", {"modelops.dev/artifact-size": "1Gi"}, "2Gi")], cluster)) == 0
}

test_non_numeric_probe_denied if {
	result := probe_windows.deny with input as doc([server("pool", {}, {"startupProbe": {"periodSeconds": "10", "failureThreshold": 12}})], [])
	some v in result
	contains(v.msg, "non-numeric")
}

test_readiness_timeout_above_period_warns if {
	probes := object.union(startup(10, 12), {"readinessProbe": {"periodSeconds": 5, "timeoutSeconds": 10}})
	d := doc([server("pool", {}, probes)], [])
	count(probe_windows.deny) == 0 with input as d
	some v in probe_windows.warn with input as d
	contains(v.msg, "timeoutSeconds 10")
}

test_readiness_timeout_below_1_warns if {
	probes := object.union(startup(10, 12), {"readinessProbe": {"periodSeconds": 5, "timeoutSeconds": 0}})
	count(probe_windows.warn) == 1 with input as doc([server("pool", {}, probes)], [])
}

test_sane_readiness_timeout_is_quiet if {
	probes := object.union(startup(10, 12), {"readinessProbe": {"periodSeconds": 5, "timeoutSeconds": 5}})
	d := doc([server("pool", {}, probes)], [])
	count(probe_windows.warn) == 0 with input as d
	count(probe_windows.deny) == 0 with input as d
}

# --- KServe: load time against the progress deadline ---------------------------------------------

isvc(mode, size) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": "llm", "namespace": "models", "annotations": {"serving.kserve.io/deploymentMode": mode, "modelops.dev/artifact-size": size}},
	"spec": {"predictor": {"model": {"runtime": "kserve-huggingfaceserver"}}},
}

kserve_env(deadline, mb) := {"metadata": {"name": "prod"}, "spec": {"kserve": {"progressDeadlineSeconds": deadline, "storage": {"remoteMbPerSecond": mb}}}}

isvc_denies(obj, environment) := msgs if {
	msgs := {v.msg | some v in probe_windows.deny} with input as {"environment": environment, "objects": [obj], "cluster": []}
}

test_small_knative_model_loads_in_time if {
	count(isvc_denies(isvc("Knative", "10Gi"), {})) == 0
}

test_large_knative_model_at_default_bandwidth_denied if {
	# 160 GB at 500 MB/s: 320 s, more than half of the default 600 s deadline.
	msgs := isvc_denies(isvc("Knative", "160G"), {})
	count(msgs) == 1
	some m in msgs
	contains(m, "about 320 s to download at 500 MB/s, more than half of Knative's progress deadline of 600 s")
}

test_environment_bandwidth_and_deadline_are_used if {
	count(isvc_denies(isvc("Knative", "160G"), kserve_env(1200, 500))) == 0
	count(isvc_denies(isvc("Knative", "10G"), kserve_env(600, 10))) == 1
}

test_standard_mode_has_no_progress_deadline if {
	count(isvc_denies(isvc("Standard", "160G"), {})) == 0
}

test_deprecated_knative_name_is_knative if {
	count(isvc_denies(isvc("Serverless", "160G"), {})) == 1
}

test_unreadable_size_is_left_to_the_memory_policy if {
	count(isvc_denies(isvc("Knative", "huge"), {})) == 0
}

test_load_estimate_is_size_over_bandwidth if {
	lib.model_load_seconds(1000000000) == 2 with input as {"environment": {}, "objects": [], "cluster": []}
	lib.model_load_seconds(1000000000) == 10 with input as {"environment": kserve_env(600, 100), "objects": [], "cluster": []}
}
