package modelops_policy_pod_security_test

import rego.v1

import data.modelops_policy_pod_security as pod_security

restricted := {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}}

resources := {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}

# Top-level keys of `overrides` replace the defaults' (object.union would merge them).
container(name, overrides) := object.union(object.remove(base, object.keys(overrides)), overrides) if {
	base := {"name": name, "image": "ghcr.io/acme/x:1", "resources": resources, "securityContext": restricted}
}

pod_spec(containers) := {"restartPolicy": "Never", "securityContext": {"runAsNonRoot": true, "runAsUser": 65532}, "containers": containers}

job(containers) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "smoke-fraud", "namespace": "models"},
	"spec": {"template": {"spec": pod_spec(containers)}},
}

deployment(containers) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "admission", "namespace": "modelops-system"},
	"spec": {"template": {"spec": pod_spec(containers)}},
}

review(obj) := {"environment": {}, "objects": [obj], "cluster": []}

messages(obj) := msgs if {
	msgs := {v.msg | some v in pod_security.deny} with input as review(obj)
}

only(msgs, text) if {
	count(msgs) == 1
	some m in msgs
	contains(m, text)
}

test_restricted_job_allowed if {
	count(pod_security.deny) == 0 with input as review(job([container("smoke", {})]))
	count(pod_security.warn) == 0 with input as review(job([container("smoke", {})]))
}

test_missing_cpu_request_denied if {
	c := container("smoke", {"resources": {"requests": {"memory": "128Mi"}, "limits": {"memory": "256Mi"}}})
	only(messages(job([c])), "container smoke sets no resources.requests.cpu:")
}

test_missing_memory_limit_and_requests_listed_together if {
	c := container("smoke", {"resources": {}})
	only(messages(job([c])), "sets no resources.requests.cpu, resources.requests.memory, resources.limits.memory")
}

test_limits_stand_in_for_requests if {
	c := container("smoke", {"resources": {"limits": {"cpu": "1", "memory": "256Mi"}}})
	count(messages(job([c]))) == 0
}

test_run_as_root_denied if {
	c := container("smoke", {"securityContext": object.union(restricted, {"runAsNonRoot": false})})
	only(messages(job([c])), "runAsNonRoot is false")
}

test_run_as_non_root_at_pod_level_is_enough if {
	c := container("smoke", {"securityContext": object.remove(restricted, ["runAsNonRoot"])})
	count(messages(job([c]))) == 0
}

test_run_as_non_root_unset_everywhere_denied if {
	c := container("smoke", {"securityContext": object.remove(restricted, ["runAsNonRoot"])})
	j := json.remove(job([c]), ["spec/template/spec/securityContext"])
	only(messages(j), "runAsNonRoot is unset")
}

test_run_as_user_0_denied if {
	c := container("smoke", {"securityContext": object.union(restricted, {"runAsUser": 0})})
	only(messages(job([c])), "runAsUser 0")
}

test_privilege_escalation_unset_denied if {
	c := container("smoke", {"securityContext": object.remove(restricted, ["allowPrivilegeEscalation"])})
	only(messages(job([c])), "allowPrivilegeEscalation is unset, must be false")
}

test_privileged_denied if {
	c := container("smoke", {"securityContext": object.union(restricted, {"privileged": true})})
	only(messages(job([c])), "is privileged")
}

test_writable_root_filesystem_denied if {
	c := container("smoke", {"securityContext": object.union(restricted, {"readOnlyRootFilesystem": false})})
	only(messages(job([c])), "readOnlyRootFilesystem is false")
}

test_capabilities_not_dropped_warns_only if {
	c := container("smoke", {"securityContext": object.union(restricted, {"capabilities": {"drop": ["NET_RAW"]}})})
	d := review(job([c]))
	count(pod_security.deny) == 0 with input as d
	some v in pod_security.warn with input as d
	contains(v.msg, "does not drop all Linux capabilities")
}

test_lower_case_all_counts_as_dropped if {
	c := container("smoke", {"securityContext": object.union(restricted, {"capabilities": {"drop": ["all"]}})})
	count(pod_security.warn) == 0 with input as review(job([c]))
}

test_init_containers_are_checked if {
	j := json.patch(job([container("smoke", {})]), [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [container("fetch", {"securityContext": {}})]}])
	msgs := messages(j)
	# runAsNonRoot comes from the pod; escalation and root filesystem are container-only.
	count(msgs) == 2
	every m in msgs {
		contains(m, "initContainer fetch")
	}
}

test_deployment_is_checked if {
	only(messages(deployment([container("plugin", {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}})])), "resources.limits.memory")
}

test_cronjob_and_pod_are_checked if {
	bad := container("x", {"securityContext": object.union(restricted, {"readOnlyRootFilesystem": false})})
	cron := {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec([bad])}}}}}
	pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec([bad])}
	only(messages(cron), "readOnlyRootFilesystem")
	only(messages(pod), "readOnlyRootFilesystem")
}

test_statefulset_daemonset_replicaset_are_checked if {
	bad := [container("x", {"securityContext": object.union(restricted, {"readOnlyRootFilesystem": false})})]
	every kind in ["StatefulSet", "DaemonSet", "ReplicaSet"] {
		only(messages(json.patch(deployment(bad), [{"op": "replace", "path": "/kind", "value": kind}])), "readOnlyRootFilesystem")
	}
}

test_same_kind_in_another_api_group_is_not_a_workload if {
	other := json.patch(job([container("x", {"securityContext": {}})]), [{"op": "replace", "path": "/apiVersion", "value": "example.com/v1"}])
	count(messages(other)) == 0
}

test_seldon_server_statefulset_is_seldons_not_the_platforms if {
	sts := json.patch(deployment([container("mlserver", {"securityContext": {}})]), [
		{"op": "replace", "path": "/kind", "value": "StatefulSet"},
		{"op": "add", "path": "/metadata/ownerReferences", "value": [{"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server", "name": "mlserver-cpu"}]},
	])
	count(messages(sts)) == 0
}

test_objects_in_cluster_are_not_judged if {
	d := {"environment": {}, "objects": [], "cluster": [job([container("smoke", {"securityContext": {}})])]}
	count(pod_security.deny) == 0 with input as d
}

test_malformed_pod_spec_does_not_abort if {
	j := json.patch(job([]), [
		{"op": "replace", "path": "/spec/template/spec/containers", "value": null},
		{"op": "add", "path": "/spec/template/spec/initContainers", "value": ["oops", container("ok", {"securityContext": "nope"})]},
	])
	msgs := messages(j)
	some m in msgs
	contains(m, "initContainer ok allows privilege escalation")
}

test_judges_every_workload_kind if {
	pod_security.judges == {kind | some kind, _ in pod_security.workloads}
}

cronjob(containers) := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": {"name": "batch-fraud", "namespace": "models"},
	"spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": pod_spec(containers)}}}},
}

test_restricted_cronjob_allowed if {
	count(messages(cronjob([container("batch", {})]))) == 0
}

test_cronjob_pod_template_judged if {
	c := container("batch", {"securityContext": object.union(restricted, {"allowPrivilegeEscalation": true})})
	only(messages(cronjob([c])), "container batch allows privilege escalation")
}
