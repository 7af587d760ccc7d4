# Helpers shared by every policy. A policy imports them with `import data.modelops_lib as lib`.
package modelops_lib

import rego.v1

# Seldon's own defaults, used where an object leaves a field unset (research/seldon-core-2.md).
default_overcommit_percent := 10

# Platform-wide thresholds; an environment may be stricter, never looser.
max_ratio_deny := 3.0

max_ratio_warn := 2.0

# --- the input document: {"environment", "objects", "cluster"} (policies/README.md) -----------

# The Environment document ({} when a manifest is judged on its own), its spec and its name.
environment := object.get(input, "environment", {})

environment_spec := object.get(environment, "spec", {})

environment_name := object.get(environment, ["metadata", "name"], "")

# The objects around those under review: context, never judged.
cluster := object.get(input, "cluster", [])

all_objects := array.concat(input.objects, cluster)

# The message element of every deny/warn set: the engine reads policy, object and reason off it.
violation(obj, msg) := {
	"msg": msg,
	"kind": object.get(obj, "kind", ""),
	"namespace": object.get(obj, ["metadata", "namespace"], ""),
	"name": object.get(obj, ["metadata", "name"], ""),
}

name(obj) := object.get(obj, ["metadata", "name"], "")

seldon_api := "mlops.seldon.io/"

is_seldon(obj, kind) if {
	obj.kind == kind
	startswith(object.get(obj, "apiVersion", ""), seldon_api)
}

# The Seldon Models and Servers under review, and all of them (under review first).
reviewed_models := [m | some m in input.objects; m.kind == "Model"; startswith(object.get(m, "apiVersion", ""), seldon_api)]

reviewed_servers := [s | some s in input.objects; s.kind == "Server"; startswith(object.get(s, "apiVersion", ""), seldon_api)]

models := [m | some m in all_objects; m.kind == "Model"; startswith(object.get(m, "apiVersion", ""), seldon_api)]

server_list := [s | some s in all_objects; s.kind == "Server"; startswith(object.get(s, "apiVersion", ""), seldon_api)]

# Name -> Server. The first one wins (objects under review come before the cluster): a second
# Server of the same name must not abort the evaluation with a conflicting object key.
servers := {name(s): s | some i, s in server_list; not _named_earlier(i, name(s))}

_named_earlier(i, n) if {
	some j, other in server_list
	j < i
	name(other) == n
}

reviewed_server_names := {name(s) | some s in reviewed_servers}

# Kubernetes quantity -> bytes; numbers pass through. Undefined when unparseable.
bytes(q) := q if is_number(q)

# The guard makes a malformed quantity undefined: regorus aborts the whole evaluation when
# units.parse_bytes meets a string it cannot parse.
bytes(q) := units.parse_bytes(q) if {
	is_string(q)
	regex.match(`^[0-9]+(\.[0-9]+)?([eE][0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`, q)
}

# A decimal number, or a string holding one ("0.01", "5000"); undefined otherwise.
number(x) := x if is_number(x)

number(x) := to_number(trim_space(x)) if {
	is_string(x)
	regex.match(`^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$`, x)
}

# The array at `path`, or [] when it is absent or not an array: regorus aborts the evaluation
# on `some x in null`, so iterate what manifests may leave null through this.
array_at(obj, path) := v if {
	v := object.get(obj, path, [])
	is_array(v)
} else := []

annotation(obj, key) := obj.metadata.annotations[key]

# A value as message text, the same in every engine; format it with %s. regopy 1.5.2 puts
# quotes around a string made by replace, lower, upper, concat, regex.replace, format_int or an
# object.get default when sprintf prints it, and a '"' inside a message breaks the JSON it
# returns: so double quotes become single ones, and trim(s, "") hands back a plain string.
text(x) := trim(replace(x, "\"", "'"), "") if is_string(x)

text(x) := sprintf("%v", [x]) if is_number(x)

text(x) := sprintf("%v", [x]) if is_boolean(x)

text(x) := "null" if is_null(x)

text(x) := trim(replace(json.marshal(x), "\"", "'"), "") if {
	not is_string(x)
	not is_number(x)
	not is_boolean(x)
	not is_null(x)
}

label(obj, key) := obj.metadata.labels[key]

gib_bytes := 1073741824

# --- Seldon objects ---------------------------------------------------------------------------

inference_container_names := {"mlserver", "triton"}

containers(server) := array_at(server, ["spec", "podSpec", "containers"])

# The first mlserver/triton container (a function must have one value, even for odd input).
inference_container(server) := [c | some c in containers(server); c.name in inference_container_names][0]

server_replicas(server) := object.get(server, ["spec", "replicas"], 1)

# What a Server offers Models (research/seldon-core-2.md §1): `capabilities` replaces its
# ServerConfig's, `extraCapabilities` is added to them. The ServerConfigs' own lists are Seldon's
# defaults for mlserver and triton (generators/modelops/runtimes.py keeps the same lists).
default_capabilities := {
	"mlserver": ["mlserver", "alibi-detect", "alibi-explain", "huggingface", "lightgbm", "mlflow", "python", "sklearn", "spark-mlib", "xgboost"],
	"triton": ["triton", "dali", "fil", "onnx", "openvino", "python", "pytorch", "tensorflow", "tensorrt"],
}

server_capabilities(server) := sort(array_at(server, ["spec", "capabilities"])) if {
	count(array_at(server, ["spec", "capabilities"])) > 0
} else := sort(array.concat(object.get(default_capabilities, object.get(server, ["spec", "serverConfig"], ""), []), array_at(server, ["spec", "extraCapabilities"])))

# Whether a Server (its server_fact) offers every one of these requirements (model_requirements).
covers(server_fact, requirements) if {
	every r in requirements {
		r in server_fact.capabilities
	}
}

# What a Model asks of its Server: `requirements`, and `modelType`, which Seldon appends to them.
model_requirements(model) := sort(array.concat(array_at(model, ["spec", "requirements"]), _model_type(model)))

_model_type(model) := [t] if {
	t := model.spec.modelType
	is_string(t)
} else := []

# The memory one server replica advertises: its inference container's memory request.
server_capacity(server) := bytes(inference_container(server).resources.requests.memory)

# SELDON_OVERCOMMIT_PERCENTAGE of the agent container; Kubernetes keeps the last duplicate.
overcommit_percent(server) := number(values[count(values) - 1]) if {
	values := [e.value |
		some c in containers(server)
		c.name == "agent"
		some e in array_at(c, ["env"])
		e.name == "SELDON_OVERCOMMIT_PERCENTAGE"
	]
	count(values) > 0
}

overcommit_percent(server) := default_overcommit_percent if {
	not sets_overcommit(server)
}

sets_overcommit(server) if {
	some c in containers(server)
	c.name == "agent"
	some e in array_at(c, ["env"])
	e.name == "SELDON_OVERCOMMIT_PERCENTAGE"
}

overcommit_ratio(server) := 1 + (overcommit_percent(server) / 100)

# Startup window of a probe: how long the kubelet waits before it gives up on the container.
probe_window(probe) := object.get(probe, "initialDelaySeconds", 0) + (object.get(probe, "periodSeconds", 10) * object.get(probe, "failureThreshold", 3))

gib(b) := sprintf("%sGi", [fixed2(b / 1073741824)])

# --- what the generators put on Models (generators/modelops/derive.py) ------------------------

# app.kubernetes.io/component: model | candidate | explainer | drift-detector.
component(obj) := object.get(obj, ["metadata", "labels", "app.kubernetes.io/component"], "")

artifact_size_annotation := "modelops.dev/artifact-size"

# --- facts: what rules need of one object, read off that object alone ------------------------
# A fact never depends on the environment or on other objects. Rules read the facts of the
# cluster's objects through the `cluster_*_facts` rules below.

# {"name", "server" (null when unpinned), "replicas", "memory" in bytes, "artifact" (the
# artifact-size annotation in bytes, else the memory)}; bytes are null when unset or unparseable.
model_fact(m) := {
	"name": object.get(m, ["metadata", "name"], ""),
	"server": object.get(m, ["spec", "server"], null),
	"replicas": object.get(m, ["spec", "replicas"], 1),
	"memory": memory,
	"artifact": _bytes_or(object.get(m, ["metadata", "annotations", artifact_size_annotation], null), memory),
} if {
	memory := _bytes_or(object.get(m, ["spec", "memory"], null), null)
}

_bytes_or(q, fallback) := b if {
	b := bytes(q)
} else := fallback

# The facts of every Model, under review or in the cluster; those under review also carry the
# Model itself ("model"), which is how a rule tells them apart.
model_facts := array.concat([object.union(model_fact(m), {"model": m}) | some m in reviewed_models], cluster_model_facts)

cluster_model_facts := [model_fact(m) | some m in cluster; m.kind == "Model"; startswith(object.get(m, "apiVersion", ""), seldon_api)]

# {"name", "capacity" (the inference container's memory request in bytes), "replicas", "ratio"
# (1 + SELDON_OVERCOMMIT_PERCENTAGE/100), "capabilities"}; capacity and ratio are null when they
# cannot be read.
server_fact(s) := {
	"name": name(s),
	"capacity": _capacity_or_null(s),
	"replicas": server_replicas(s),
	"ratio": _ratio_or_null(s),
	"capabilities": server_capabilities(s),
}

_capacity_or_null(s) := c if {
	c := server_capacity(s)
} else := null

_ratio_or_null(s) := r if {
	r := overcommit_ratio(s)
} else := null

# Name -> server_fact of every Server, under review or in the cluster; the first of a name wins,
# as in `servers`.
server_facts := {f.name: f | some i, f in _server_fact_list; not _fact_named_earlier(i, f.name)}

_fact_named_earlier(i, n) if {
	some j, other in _server_fact_list
	j < i
	other.name == n
}

_server_fact_list := array.concat([server_fact(s) | some s in reviewed_servers], cluster_server_facts)

cluster_server_facts := [server_fact(s) | some s in cluster; s.kind == "Server"; startswith(object.get(s, "apiVersion", ""), seldon_api)]

# --- PrometheusRules (the alerts policy) ------------------------------------------------------

rule_file_api := "monitoring.coreos.com/"

# {"key": [namespace, name], "groups": {group name: [{"alert", "threshold"} of each alerting
# rule]}}. Group names are unique in a valid file; a file that repeats one (Prometheus refuses
# to load it) is indexed the slow way instead of aborting the evaluation.
rule_file_fact(pr) := {
	"key": [object.get(pr, ["metadata", "namespace"], ""), name(pr)],
	"groups": _rule_groups(rule_file_groups(pr)),
}

# The groups of a PrometheusRule (those that are objects).
rule_file_groups(pr) := [g | some g in array_at(pr, ["spec", "groups"]); is_object(g)]

_rule_groups(gs) := {g.name: _alerting(array_at(g, "rules")) | some g in gs} if {
	count(gs) == count({g.name | some g in gs})
} else := {group: _alerting(rules) |
	some group in {g.name | some g in gs}
	rules := [r | some g in gs; g.name == group; some r in array_at(g, "rules")]
}

_alerting(rules) := [{"alert": r.alert, "threshold": alert_threshold(r)} |
	some r in rules
	is_object(r)
	is_string(r.alert)
]

# The number after the final ">" of an alerting rule's expression ("> 0.5", ">= 0.5"); null
# when it has none.
alert_threshold(rule) := t if {
	expr := rule.expr
	is_string(expr)
	parts := split(expr, ">")
	count(parts) > 1
	t := number(trim_left(trim_space(parts[count(parts) - 1]), "= "))
} else := null

is_rule_file(obj) if {
	obj.kind == "PrometheusRule"
	startswith(object.get(obj, "apiVersion", ""), rule_file_api)
}

# The facts of the rule files in the cluster.
cluster_rule_file_facts := [rule_file_fact(pr) | some pr in cluster; is_rule_file(pr)]

drift_annotations := {"modelops.dev/drift-p-value", "modelops.dev/drift-reference-rows", "modelops.dev/drift-batch-size"}

is_drift_detector(model) if component(model) == "drift-detector"

# An alibi-detect Model is a detector whoever wrote it (Seldon's own samples carry no labels).
is_drift_detector(model) if "alibi-detect" in array_at(model, ["spec", "requirements"])

is_drift_detector(model) if {
	some key in drift_annotations
	model.metadata.annotations[key]
}

# A number with two decimals. sprintf("%.2f") prints an integral 2 as "2" in regorus and
# "2.00" in regopy; this prints "2.00" in both, so every engine gives the same message.
fixed2(x) := sprintf("%d.%02d", [floor(cents / 100), cents % 100]) if cents := round(x * 100)

# --- the base of a change: input.previous --------------------------------------------------------

# "kind/namespace/name" -> the object as it was before the change under review: in `modelops
# check --base`, the base's rendered version of each reviewed object the change modifies; at
# admission, an UPDATE's oldObject. {} otherwise (a new object, CI without a base, a CREATE).
previous := p if {
	p := input.previous
	is_object(p)
} else := {}

previous_key(obj) := sprintf("%s/%s/%s", [object.get(obj, "kind", ""), object.get(obj, ["metadata", "namespace"], ""), name(obj)])

# The object as it was before the change; undefined for a new or unchanged object.
previous_of(obj) := p if {
	p := previous[previous_key(obj)]
	is_object(p)
}

# --- KServe objects (serving.kserve.io) ----------------------------------------------------------

kserve_api := "serving.kserve.io/"

is_kserve(obj, kind) if {
	obj.kind == kind
	startswith(object.get(obj, "apiVersion", ""), kserve_api)
}

reviewed_inference_services := [s | some s in input.objects; is_kserve(s, "InferenceService")]

deployment_mode_annotation := "serving.kserve.io/deploymentMode"

autoscaler_class_annotation := "serving.kserve.io/autoscalerClass"

# KServe's deployment modes since v0.16, and the deprecated names of the same modes
# (research/kserve.md "The object"; generators/modelops/spec.py DEPLOYMENT_MODE_ALIASES).
deployment_modes := {"Knative", "Standard"}

deployment_mode_aliases := {"Serverless": "Knative", "RawDeployment": "Standard"}

# The mode an object is deployed in, an alias resolved; undefined when unset or unknown.
deployment_mode(obj) := m if {
	m := annotation(obj, deployment_mode_annotation)
	m in deployment_modes
}

deployment_mode(obj) := deployment_mode_aliases[annotation(obj, deployment_mode_annotation)]

# The predictor's model: {modelFormat, runtime, protocolVersion, storageUri, resources}; {}
# when the predictor has none (a custom container or a framework shorthand).
predictor_model(isvc) := m if {
	m := isvc.spec.predictor.model
	is_object(m)
} else := {}

predictor(isvc) := p if {
	p := isvc.spec.predictor
	is_object(p)
} else := {}

# The environment's KServe settings (environment.yaml spec.kserve); {} without them.
kserve_settings := s if {
	s := environment_spec.kserve
	is_object(s)
} else := {}

# The same defaults as generators/modelops/spec.py (StorageBandwidth, KServeSettings): Knative
# Serving's own progress-deadline default is 600 s.
default_remote_mb_per_second := 500

default_progress_deadline_seconds := 600

remote_mb_per_second := v if {
	v := kserve_settings.storage.remoteMbPerSecond
	is_number(v)
	v > 0
} else := default_remote_mb_per_second

progress_deadline_seconds := v if {
	v := kserve_settings.progressDeadlineSeconds
	is_number(v)
	v > 0
} else := default_progress_deadline_seconds

# Seconds to read `size_bytes` at `mb_per_second` (MB = 10^6 bytes): how long a model takes to
# load. modelops.advice.coldstart.load_seconds is the same formula for `modelops advise`.
load_seconds(size_bytes, mb_per_second) := size_bytes / (mb_per_second * 1000000)

# Estimated seconds to load an artifact of `size` bytes: its download from remote storage at the
# environment's bandwidth. A node's local model cache is faster, but a new artifact's first
# rollout always downloads it.
model_load_seconds(size) := load_seconds(size, remote_mb_per_second)

# The alerts that cover a KServe model in the environment's PrometheusRule (rendered by
# generators/modelops/kserve*.py): signal -> alert name.
kserve_alerts := {"latency": "KServeModelLatencyHigh", "errors": "KServeModelErrorRateHigh"}
