# Batch cold start: a batch CronJob calling a KServe model that scales to zero waits for the
# model to load on its first request, so its client timeout must exceed that load. See README.md.
package modelops_policy_batch_cold_start

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"CronJob"}

cronjobs := [c | some c in input.objects; c.kind == "CronJob"; startswith(object.get(c, "apiVersion", ""), "batch/")]

namespace(obj) := object.get(obj, ["metadata", "namespace"], "")

containers_path := ["spec", "jobTemplate", "spec", "template", "spec", "containers"]

# Each container of a CronJob that runs a batch against a model: {"cronjob", "args", "model"}.
batch_calls := [found |
	some c in cronjobs
	some container in lib.array_at(c, containers_path)
	args := lib.array_at(container, ["args"])
	found := {"cronjob": c, "args": args, "model": flag_value(args, "--model")}
]

# The value after `flag` in a container's args; undefined when it is absent.
flag_value(args, flag) := args[i + 1] if {
	some i, arg in args
	arg == flag
	count(args) > i + 1
}

inference_services := [s |
	some s in lib.all_objects
	s.kind == "InferenceService"
	startswith(object.get(s, "apiVersion", ""), "serving.kserve.io/")
]

# The InferenceService a call reaches when it scales to zero (minReplicas 0; unset is 1).
scaled_to_zero(call) := s if {
	some s in inference_services
	lib.name(s) == call.model
	namespace(s) == namespace(call.cronjob)
	lib.number(object.get(s, ["spec", "predictor", "minReplicas"], 1)) == 0
}

timeout_seconds(call) := lib.number(flag_value(call.args, "--timeout"))

has_timeout(call) if timeout_seconds(call)

# The estimated load of a scaled-to-zero model (lib.model_load_seconds) from the artifact size
# the generators annotate it with; undefined when the annotation is missing or unreadable.
cold_start_seconds(s) := lib.model_load_seconds(lib.bytes(s.metadata.annotations[lib.artifact_size_annotation]))

has_cold_start(s) if cold_start_seconds(s)

deny contains lib.violation(call.cronjob, msg) if {
	some call in batch_calls
	s := scaled_to_zero(call)
	load := cold_start_seconds(s)
	timeout := timeout_seconds(call)
	timeout <= load
	msg := sprintf("--timeout %s s does not exceed the cold start of InferenceService %s (minReplicas 0): %s of artifact at %s MB/s is about %s s to load, so the first request of every run times out", [lib.text(timeout), lib.text(call.model), lib.text(s.metadata.annotations[lib.artifact_size_annotation]), lib.text(lib.remote_mb_per_second), lib.fixed2(load)])
}

deny contains lib.violation(call.cronjob, msg) if {
	some call in batch_calls
	s := scaled_to_zero(call)
	not has_timeout(call)
	msg := sprintf("calls InferenceService %s, which scales to zero, without a numeric --timeout: the client timeout must exceed the model's cold start", [lib.text(call.model)])
}

warn contains lib.violation(call.cronjob, msg) if {
	some call in batch_calls
	s := scaled_to_zero(call)
	not has_cold_start(s)
	msg := sprintf("InferenceService %s scales to zero but has no readable %s annotation: its cold start, and so the batch timeout it needs, cannot be checked", [lib.text(call.model), lib.artifact_size_annotation])
}
