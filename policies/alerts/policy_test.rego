package modelops_policy_alerts_test

import rego.v1

import data.modelops_lib as lib

import data.modelops_policy_alerts as alerts

model(name, component) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Model",
	"metadata": {"name": name, "namespace": "models-prod", "labels": {"app.kubernetes.io/component": component, "modelops.dev/environment": "prod"}},
	"spec": {"storageUri": sprintf("gs://m/%s/v1", [name]), "memory": "1Gi"},
}

rule(alert, threshold) := {"alert": alert, "expr": sprintf("sum by (model) (rate(x[5m])) > %v", [threshold]), "for": "5m"}

latency(t) := rule("ModelLatencyHigh", t)

errors(t) := rule("ModelErrorRateHigh", t)

group(name, rules) := {"name": name, "rules": rules}

rules_file(groups) := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "PrometheusRule",
	"metadata": {"name": "modelops-alerts", "namespace": "models-prod"},
	"spec": {"groups": groups},
}

env_groups := [group("modelops.prod.models", [latency(0.5), errors(0.005)])]

prod := {"metadata": {"name": "prod"}, "spec": {"alerts": {"p99LatencyMs": 500, "errorRatePercent": 0.5}}}

findings(objects, cluster) := result if {
	result := alerts.deny with input as {"environment": prod, "objects": objects, "cluster": cluster}
}

messages(objects, cluster) := {v.msg | some v in findings(objects, cluster)}

one(result, kind, name, text) if {
	count(result) == 1
	some v in result
	v.kind == kind
	v.name == name
	contains(v.msg, text)
}

test_model_covered_by_environment_group_allowed if {
	count(findings([model("fraud", "model"), rules_file(env_groups)], [])) == 0
}

test_model_covered_by_its_own_stricter_group_allowed if {
	groups := array.concat(env_groups, [group("modelops.prod.model.fraud", [latency(0.3), errors(0.002)])])
	count(findings([model("fraud", "model"), rules_file(groups)], [])) == 0
}

test_no_prometheus_rule_denies_each_model if {
	result := findings([model("fraud", "model"), model("churn", "model")], [])
	{v.name | some v in result} == {"fraud", "churn"}
	some v in result
	contains(v.msg, "no PrometheusRule")
}

test_drift_explainer_and_candidate_are_not_primary if {
	objects := [model("fraud-drift", "drift-detector"), model("fraud-explainer", "explainer"), model("fraud-candidate", "candidate")]
	count(findings(objects, [])) == 0
}

test_missing_latency_alert_denied if {
	groups := [group("modelops.prod.models", [errors(0.005)])]
	one(findings([model("fraud", "model"), rules_file(groups)], []), "Model", "fraud", "no ModelLatencyHigh alert covers this model")
}

test_missing_error_rate_alert_denied if {
	groups := [group("modelops.prod.models", [latency(0.5)])]
	one(findings([model("fraud", "model"), rules_file(groups)], []), "Model", "fraud", "no ModelErrorRateHigh alert")
}

test_other_environments_group_does_not_cover if {
	groups := [group("modelops.dev.models", [latency(0.5), errors(0.005)])]
	count(findings([model("fraud", "model"), rules_file(groups)], [])) == 2
}

test_environment_from_model_label_when_input_has_none if {
	d := {"environment": {}, "objects": [model("fraud", "model"), rules_file(env_groups)], "cluster": []}
	count(alerts.deny) == 0 with input as d
}

test_looser_latency_in_own_group_denied_on_rule_file if {
	groups := array.concat(env_groups, [group("modelops.prod.model.fraud", [latency(0.8), errors(0.005)])])
	one(findings([model("fraud", "model"), rules_file(groups)], []), "PrometheusRule", "modelops-alerts", "ModelLatencyHigh threshold 0.8 s is looser than the environment's p99 latency of 500 ms: it must be at most 0.5 s")
}

test_looser_error_rate_in_environment_group_denied if {
	groups := [group("modelops.prod.models", [latency(0.5), errors(0.01)])]
	one(findings([rules_file(groups)], []), "PrometheusRule", "modelops-alerts", "ModelErrorRateHigh threshold 0.01 is looser")
}

test_greater_or_equal_threshold_is_read if {
	groups := [group("modelops.prod.models", [{"alert": "ModelLatencyHigh", "expr": "p99 >= 0.9"}, errors(0.005)])]
	one(findings([rules_file(groups)], []), "PrometheusRule", "modelops-alerts", "threshold 0.9 s")
}

test_unreadable_threshold_denied if {
	groups := [group("modelops.prod.models", [{"alert": "ModelLatencyHigh", "expr": "p99 > on(model) limits"}, errors(0.005)])]
	one(findings([rules_file(groups)], []), "PrometheusRule", "modelops-alerts", "cannot be read")
}

test_loose_rule_in_cluster_rule_file_reported_on_reviewed_model if {
	groups := [group("modelops.prod.models", [latency(1), errors(0.005)])]
	one(findings([model("fraud", "model")], [rules_file(groups)]), "Model", "fraud", "covered by group modelops.prod.models, whose ModelLatencyHigh threshold 1 s")
}

test_own_group_shadows_a_looser_environment_group if {
	groups := [
		group("modelops.prod.models", [latency(1), errors(0.005)]),
		group("modelops.prod.model.fraud", [latency(0.3), errors(0.005)]),
	]
	count(findings([model("fraud", "model")], [rules_file(groups)])) == 0
}

test_rule_file_dropping_coverage_of_cluster_model_denied if {
	groups := [group("modelops.prod.models", [latency(0.5)])]
	one(findings([rules_file(groups)], [model("fraud", "model")]), "PrometheusRule", "modelops-alerts", "Model fraud: no ModelErrorRateHigh alert")
}

test_extra_groups_and_rules_are_ignored if {
	extra := [
		group("modelops.prod.models", [latency(0.5), errors(0.005), rule("ModelDriftDetected", 0.5), {"record": "x:y", "expr": "z"}]),
		group("modelops.prod.retrain", [rule("RetrainCandidate", 99)]),
		group("modelops.prod.model.fraud-drift", [rule("ModelDriftDetected", 3)]),
	]
	count(findings([model("fraud", "model"), rules_file(extra)], [])) == 0
}

test_repeated_group_name_denied_without_aborting if {
	groups := [group("modelops.prod.models", [latency(0.5)]), group("modelops.prod.models", [errors(0.005)])]
	one(findings([model("fraud", "model"), rules_file(groups)], []), "PrometheusRule", "modelops-alerts", "appears 2 times")
}

test_platform_defaults_without_environment if {
	groups := [group("modelops.prod.models", [latency(0.6), errors(0.005)])]
	d := {"environment": {}, "objects": [rules_file(groups)], "cluster": []}
	some v in alerts.deny with input as d
	contains(v.msg, "the platform's p99 latency of 500 ms: it must be at most 0.5 s")
}

test_own_group_without_model_alerts_falls_back_to_environment_group if {
	groups := array.concat(env_groups, [group("modelops.prod.model.fraud", [rule("ModelDriftDetected", 0)])])
	count(findings([model("fraud", "model"), rules_file(groups)], [])) == 0
}

test_malformed_rule_file_does_not_abort if {
	files := [
		json.patch(rules_file([]), [{"op": "replace", "path": "/spec/groups", "value": null}]),
		rules_file([{"name": "modelops.prod.models", "rules": null}, "not-a-group"]),
		json.remove(rules_file([]), ["spec"]),
	]
	result := findings(array.concat([model("fraud", "model")], files), [])
	count(result) == 2
}

# --- KServe models -------------------------------------------------------------------------------

isvc(name, labels) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": name, "namespace": "models-prod", "labels": labels},
	"spec": {"predictor": {"model": {"runtime": "kserve-sklearnserver"}}},
}

kserve_latency := rule(lib.kserve_alerts.latency, 500)

kserve_errors := rule(lib.kserve_alerts.errors, 0.005)

test_inference_service_covered_by_the_kserve_alerts if {
	pr := rules_file([group("modelops.prod.models", [latency(0.5), errors(0.005), kserve_latency, kserve_errors])])
	count(findings([isvc("churn", {}), pr], [])) == 0
}

test_inference_service_without_kserve_alerts_denied if {
	msgs := messages([isvc("churn", {})], [rules_file(env_groups)])
	count(msgs) == 2
	some m in msgs
	contains(m, "no KServeModelLatencyHigh alert covers this model")
}

test_kserve_alert_in_its_own_group_covers_it if {
	pr := rules_file([group("modelops.prod.model.churn", [kserve_latency, kserve_errors])])
	count(findings([isvc("churn", {}), pr], [])) == 0
}

test_seldon_model_is_not_covered_by_kserve_alerts if {
	pr := rules_file([group("modelops.prod.models", [kserve_latency, kserve_errors])])
	count(messages([model("fraud", "model"), pr], [])) == 2
}

test_inference_service_labelled_otherwise_is_not_primary if {
	count(findings([isvc("churn", {"app.kubernetes.io/component": "explainer"})], [rules_file(env_groups)])) == 0
}

test_inference_service_without_prometheus_rule_denied if {
	msgs := messages([isvc("churn", {})], [])
	some m in msgs
	contains(m, "no PrometheusRule in the environment")
}

test_rule_file_dropping_kserve_coverage_denied if {
	msgs := messages([rules_file(env_groups)], [isvc("churn", {})])
	some m in msgs
	contains(m, "InferenceService churn: no KServeModelLatencyHigh alert")
}
