# Probe windows: the kubelet restarts an inference container (mlserver/triton) that has not
# passed its startup probe within initialDelaySeconds + periodSeconds x failureThreshold. A pool
# that may host a large artifact needs a longer window, but not an unbounded one: a hung server
# must still be restarted. A KServe model in Knative mode must load well within Knative's progress
# deadline, or the revision fails before the model is up (kserve#1247). See README.md.
package modelops_policy_probe_windows

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "Server", "InferenceService"}

min_window := 60

large_min_window := 180

large_max_window := 300

large_artifact := 2 * lib.gib_bytes

max_artifact_annotation := "modelops.dev/max-artifact-size"

# Seldon's mlserver/triton ServerConfigs give the inference container a startupProbe of period
# 10 s x failureThreshold 10 (research/seldon-core-2.md §3); a Server that sets no probe on its
# inference container keeps it (Seldon merges Server.spec.podSpec onto the ServerConfig's).
seldon_default_startup := {"periodSeconds": 10, "failureThreshold": 10}

window_fields := ["initialDelaySeconds", "periodSeconds", "failureThreshold"]

# --- what a pool may host ----------------------------------------------------------------------

# The artifact a Model brings to its pool: its declared size, else its memory (which the
# memory-and-replicas policy keeps at or above the artifact size). The facts of every Model over
# 2 GiB (lib.model_facts).
large_models := [f |
	some f in lib.model_facts
	f.artifact != null
	f.artifact > large_artifact
]

# [pool, model, size] for every Model over 2 GiB pinned to a pool, in objects or cluster.
large_pinned := {[f.server, f.name, f.artifact] | some f in large_models; f.server != null}

# The facts of every Model over 2 GiB under review: they carry the Model itself.
reviewed_large := [f | some f in large_models; f.model]

declared_max(server) := lib.bytes(lib.annotation(server, max_artifact_annotation))

declares_large(server) if declared_max(server) > large_artifact

large_reason(server) := sprintf("it declares %s %s", [max_artifact_annotation, lib.annotation(server, max_artifact_annotation)]) if {
	declares_large(server)
}

large_reason(server) := sprintf("model %s (%s) is pinned to it", [largest[1], lib.gib(largest[0])]) if {
	not declares_large(server)
	pinned := [[size, model] | some [pool, model, size] in large_pinned; pool == lib.name(server)]
	count(pinned) > 0
	largest := max(pinned)
}

# --- the window --------------------------------------------------------------------------------

probe(server, field) := p if {
	p := object.get(lib.inference_container(server), field, null)
	is_object(p)
}

numeric(p) if {
	every field in window_fields {
		is_number(object.get(p, field, 0))
	}
}

describe(p) := sprintf("initialDelaySeconds %s + periodSeconds %s x failureThreshold %s", [lib.text(object.get(p, "initialDelaySeconds", 0)), lib.text(object.get(p, "periodSeconds", 10)), lib.text(object.get(p, "failureThreshold", 3))])

# {"seconds", "how", "assumed"}: the startupProbe's window; without one, the readinessProbe's;
# without either, the ServerConfig's, which no object under review shows: Seldon's default is
# assumed, and a verdict that rests on that assumption is a warning, not a deny.
startup(server) := {"seconds": lib.probe_window(p), "how": sprintf("startupProbe: %s", [describe(p)]), "assumed": false} if {
	p := probe(server, "startupProbe")
	numeric(p)
}

startup(server) := {"seconds": lib.probe_window(p), "how": sprintf("no startupProbe, so the readinessProbe: %s", [describe(p)]), "assumed": false} if {
	not probe(server, "startupProbe")
	p := probe(server, "readinessProbe")
	numeric(p)
}

startup(server) := {"seconds": lib.probe_window(seldon_default_startup), "how": "no probe on the inference container, so the ServerConfig's, assumed to be Seldon's default startupProbe: periodSeconds 10 x failureThreshold 10", "assumed": true} if {
	not probe(server, "startupProbe")
	not probe(server, "readinessProbe")
}

container_name(server) := lib.text(lib.inference_container(server).name)

container_name(server) := "inference" if not lib.inference_container(server)

# --- rules -------------------------------------------------------------------------------------

deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	not large_reason(server)
	window := startup(server)
	window.seconds < min_window
	msg := sprintf("startup window of container %s is %v s (%s), below the minimum %d s", [container_name(server), window.seconds, window.how, min_window])
}

deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	reason := large_reason(server)
	window := startup(server)
	not window.assumed
	not within_large_bounds(window.seconds)
	msg := sprintf("startup window of container %s is %v s (%s); a pool that may host an artifact over 2 GiB needs %d-%d s, and %s", [container_name(server), window.seconds, window.how, large_min_window, large_max_window, reason])
}

deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	some field in ["startupProbe", "readinessProbe"]
	p := probe(server, field)
	not numeric(p)
	bad := [sprintf("%s %s", [f, lib.text(p[f])]) | some f in window_fields; not is_number(object.get(p, f, 0))]
	msg := sprintf("%s of container %s has non-numeric timing fields (%s); the startup window cannot be checked", [field, container_name(server), lib.text(concat(", ", bad))])
}

# A large model joining a pool whose Server is not under review: report on the Model.
deny contains lib.violation(model, msg) if {
	some e in reviewed_large
	model := e.model
	size := e.artifact
	not model.spec.server in lib.reviewed_server_names
	server := lib.servers[model.spec.server]
	window := startup(server)
	not window.assumed
	not within_large_bounds(window.seconds)
	msg := sprintf("artifact %s is over 2 GiB, but server %s has a startup window of %v s (%s); a pool hosting it needs %d-%d s", [lib.gib(size), model.spec.server, window.seconds, window.how, large_min_window, large_max_window])
}

# The same two checks where the Server sets no probe and the verdict rests on Seldon's default.
warn contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	reason := large_reason(server)
	window := startup(server)
	window.assumed
	not within_large_bounds(window.seconds)
	msg := sprintf("startup window of container %s is probably %v s (%s); a pool that may host an artifact over 2 GiB needs %d-%d s, and %s: set a startupProbe on the Server", [container_name(server), window.seconds, window.how, large_min_window, large_max_window, reason])
}

warn contains lib.violation(model, msg) if {
	some e in reviewed_large
	model := e.model
	size := e.artifact
	not model.spec.server in lib.reviewed_server_names
	server := lib.servers[model.spec.server]
	window := startup(server)
	window.assumed
	not within_large_bounds(window.seconds)
	msg := sprintf("artifact %s is over 2 GiB, but server %s probably has a startup window of %v s (%s); a pool hosting it needs %d-%d s", [lib.gib(size), model.spec.server, window.seconds, window.how, large_min_window, large_max_window])
}

within_large_bounds(seconds) if {
	seconds >= large_min_window
	seconds <= large_max_window
}

# Readiness: a probe that times out after its period overlaps the next one; below 1 s the
# kubelet rejects the pod (timeoutSeconds minimum is 1).
warn contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	p := probe(server, "readinessProbe")
	timeout := object.get(p, "timeoutSeconds", 1)
	period := object.get(p, "periodSeconds", 10)
	not sane_timeout(timeout, period)
	msg := sprintf("readinessProbe of container %s has timeoutSeconds %s; it should be at least 1 and at most periodSeconds %s", [container_name(server), lib.text(timeout), lib.text(period)])
}

sane_timeout(timeout, period) if {
	is_number(timeout)
	is_number(period)
	timeout >= 1
	timeout <= period
}

# --- KServe: the model's load time against Knative's progress deadline -------------------------

# The download estimate (lib.model_load_seconds) may take at most this share of the deadline:
# pulling the runtime image, starting it and deserialising the model come on top of it.
load_deadline_share := 0.5

deny contains lib.violation(isvc, msg) if {
	some isvc in lib.reviewed_inference_services
	lib.deployment_mode(isvc) == "Knative"
	size := lib.bytes(lib.annotation(isvc, lib.artifact_size_annotation))
	load := lib.model_load_seconds(size)
	load > lib.progress_deadline_seconds * load_deadline_share
	msg := sprintf("artifact %s takes about %s s to download at %s MB/s, more than half of Knative's progress deadline of %s s: the revision would fail before the model loads (kserve#1247); raise spec.kserve.progressDeadlineSeconds, serve it in Standard mode, or use a local model cache", [lib.text(lib.annotation(isvc, lib.artifact_size_annotation)), lib.text(ceil(load)), lib.text(lib.remote_mb_per_second), lib.text(lib.progress_deadline_seconds)])
}
