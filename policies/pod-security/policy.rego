# Pod security: every pod the platform creates (the PostSync smoke Job, the admission plugin's
# Deployment, anything else with a pod template) declares its resources and runs restricted:
# non-root, no privilege escalation, read-only root filesystem, capabilities dropped.
# See README.md.
package modelops_policy_pod_security

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

# kind -> the apiVersions it is served as, and the path to its pod spec.
workloads := {
	"Pod": {"versions": {"v1"}, "path": ["spec"]},
	"Deployment": {"versions": {"apps/v1"}, "path": ["spec", "template", "spec"]},
	"StatefulSet": {"versions": {"apps/v1"}, "path": ["spec", "template", "spec"]},
	"DaemonSet": {"versions": {"apps/v1"}, "path": ["spec", "template", "spec"]},
	"ReplicaSet": {"versions": {"apps/v1"}, "path": ["spec", "template", "spec"]},
	"Job": {"versions": {"batch/v1"}, "path": ["spec", "template", "spec"]},
	"CronJob": {"versions": {"batch/v1", "batch/v1beta1"}, "path": ["spec", "jobTemplate", "spec", "template", "spec"]},
}

# Pods of a Seldon Server belong to Seldon's operator (it owns the StatefulSet), not the platform.
seldon_owned(obj) if {
	some owner in lib.array_at(obj, ["metadata", "ownerReferences"])
	startswith(object.get(owner, "apiVersion", ""), "mlops.seldon.io/")
}

# Every container and init container under review, with what the rules read, computed once:
# {"obj", "label", "container", "sc" (its securityContext), "non_root", "user" (effective
# runAsNonRoot / runAsUser, "unset" when neither the container nor the pod sets them)}.
containers := [entry |
	some obj in input.objects
	w := workloads[obj.kind]
	obj.apiVersion in w.versions
	spec := object.get(obj, w.path, null)
	is_object(spec)
	not seldon_owned(obj)
	pod_sc := security(spec)
	some field in ["initContainers", "containers"]
	some c in lib.array_at(spec, field)
	is_object(c)
	sc := security(c)
	entry := {
		"obj": obj,
		"label": sprintf("%s %s", [field_label[field], lib.text(object.get(c, "name", "?"))]),
		"container": c,
		"sc": sc,
		"non_root": effective(sc, pod_sc, "runAsNonRoot"),
		"user": effective(sc, pod_sc, "runAsUser"),
	}
]

field_label := {"containers": "container", "initContainers": "initContainer"}

security(obj) := sc if {
	sc := obj.securityContext
	is_object(sc)
} else := {}

# A container setting wins over the pod's (Kubernetes semantics for runAsNonRoot/runAsUser).
effective(sc, pod_sc, field) := v if {
	v := sc[field]
	v != null
} else := v if {
	v := pod_sc[field]
	v != null
} else := "unset"

# --- resources ---------------------------------------------------------------------------------

# Kubernetes copies a limit into an unset request, so a limit satisfies the request too.
resource_checks := [
	{"name": "resources.requests.cpu", "paths": [["resources", "requests", "cpu"], ["resources", "limits", "cpu"]]},
	{"name": "resources.requests.memory", "paths": [["resources", "requests", "memory"], ["resources", "limits", "memory"]]},
	{"name": "resources.limits.memory", "paths": [["resources", "limits", "memory"]]},
]

declares(c, check) if {
	some path in check.paths
	object.get(c, path, null) != null
}

deny contains lib.violation(entry.obj, msg) if {
	some entry in containers
	missing := [check.name | some check in resource_checks; not declares(entry.container, check)]
	count(missing) > 0
	msg := sprintf("%s sets no %s: required are cpu and memory requests (what the scheduler reserves) and a memory limit (what keeps it from starving the node)", [entry.label, lib.text(concat(", ", missing))])
}

# --- security context --------------------------------------------------------------------------

deny contains lib.violation(entry.obj, msg) if {
	some entry in containers
	entry.non_root != true
	msg := sprintf("%s may run as root: runAsNonRoot is %s (container or pod securityContext must set it to true)", [entry.label, lib.text(entry.non_root)])
}

deny contains lib.violation(entry.obj, msg) if {
	some entry in containers
	entry.user == 0
	msg := sprintf("%s sets runAsUser 0 (root)", [entry.label])
}

deny contains lib.violation(entry.obj, msg) if {
	some entry in containers
	not entry.sc.allowPrivilegeEscalation == false
	msg := sprintf("%s allows privilege escalation: securityContext.allowPrivilegeEscalation is %s, must be false", [entry.label, lib.text(object.get(entry.sc, "allowPrivilegeEscalation", "unset"))])
}

deny contains lib.violation(entry.obj, msg) if {
	some entry in containers
	entry.sc.privileged == true
	msg := sprintf("%s is privileged (securityContext.privileged true)", [entry.label])
}

deny contains lib.violation(entry.obj, msg) if {
	some entry in containers
	not entry.sc.readOnlyRootFilesystem == true
	msg := sprintf("%s has a writable root filesystem: securityContext.readOnlyRootFilesystem is %s, must be true (mount an emptyDir for scratch space)", [entry.label, lib.text(object.get(entry.sc, "readOnlyRootFilesystem", "unset"))])
}

warn contains lib.violation(entry.obj, msg) if {
	some entry in containers
	dropped := {upper(cap) | some cap in lib.array_at(entry.sc, ["capabilities", "drop"]); is_string(cap)}
	not "ALL" in dropped
	msg := sprintf("%s does not drop all Linux capabilities (securityContext.capabilities.drop: [ALL])", [entry.label])
}
