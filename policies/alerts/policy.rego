# Alerts: every serving Model is covered by a p99-latency and an error-rate alert in the
# environment's PrometheusRule, at thresholds no looser than the environment's. The generator
# writes one group per environment (`modelops.<env>.models`, covering every model without its own
# group) and one per model with its own thresholds (`modelops.<env>.model.<name>`); other groups
# and rules in the same PrometheusRule are ignored. A KServe model (an InferenceService) is covered
# the same way by the KServe alerts (lib.kserve_alerts), whose metrics and units depend on the
# deployment mode and Knative version: their presence is checked, not their thresholds.
# See README.md.
package modelops_policy_alerts

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "PrometheusRule", "InferenceService"}

# Operating brief (DESIGN.md): p99 > 500 ms, error rate > 0.5 %, both over 5 minutes.
default_p99_latency_ms := 500

default_error_rate_percent := 0.5

env_alerts := object.get(lib.environment_spec, "alerts", {})

latency_ms := v if {
	v := env_alerts.p99LatencyMs
	is_number(v)
} else := default_p99_latency_ms

error_percent := v if {
	v := env_alerts.errorRatePercent
	is_number(v)
} else := default_error_rate_percent

whose := "the environment's" if {
	count(env_alerts) > 0
} else := "the platform's"

watched_alerts := object.keys(signals)

kserve_alert_names := {name | some name in lib.kserve_alerts}

# The alerts that must cover a primary object of each kind.
alerts_of := {"Model": watched_alerts, "InferenceService": kserve_alert_names}

# The threshold of each alert, in the unit its expression compares against.
signals := {
	"ModelLatencyHigh": {"limit": latency_ms / 1000, "unit": " s", "what": sprintf("%s p99 latency of %v ms", [whose, latency_ms])},
	"ModelErrorRateHigh": {"limit": error_percent / 100, "unit": "", "what": sprintf("%s error rate of %v %%", [whose, error_percent])},
}

primary(model) if lib.component(model) == "model"

# Every InferenceService serves traffic (its canary is part of it), unless labelled otherwise.
kserve_primary(isvc) if lib.component(isvc) in {"model", ""}

input_env := lib.environment_name

# The environment a model's groups are named after: the input's, else the model's own label.
env_name(model) := input_env if {
	input_env != ""
} else := name if {
	name := lib.label(model, "modelops.dev/environment")
} else := "<unknown>"

# {"model", "own", "shared"}: each model with the names of its own group and its environment's.
groups_of(models) := [{"model": model, "own": own, "shared": shared} |
	some model in models
	env := env_name(model)
	own := sprintf("modelops.%s.model.%s", [env, lib.name(model)])
	shared := sprintf("modelops.%s.models", [env])
]

is_rule_file(obj) if {
	obj.kind == "PrometheusRule"
	startswith(object.get(obj, "apiVersion", ""), lib.rule_file_api)
}

reviewed_rule_files := [pr | some pr in input.objects; is_rule_file(pr)]

rule_file_count := count(rule_files)

reviewed_rule_file_facts := [lib.rule_file_fact(pr) | some pr in reviewed_rule_files]

reviewed_rule_keys := {f.key | some f in reviewed_rule_file_facts}

# {"reviewed", "groups"} of every PrometheusRule: its alerting rules by group, with their
# thresholds read (lib.rule_file_fact; the cluster's come precomputed in the admission plugin).
rule_files := array.concat(
	[{"reviewed": true, "groups": f.groups} | some f in reviewed_rule_file_facts],
	[{"reviewed": f.key in reviewed_rule_keys, "groups": f.groups} | some f in lib.cluster_rule_file_facts],
)

# --- thresholds ------------------------------------------------------------------------------------

# A problem with one rule's threshold (lib.alert_threshold, null when unreadable), as text; null
# when the rule is fine.
threshold_problem(alert, t) := sprintf("%s threshold cannot be read from expr (expected '... > <number>')", [alert]) if {
	t == null
} else := sprintf("%s threshold %v%s is looser than %s: it must be at most %v%s", [alert, t, s.unit, s.what, s.limit, s.unit]) if {
	s := signals[alert]
	t > s.limit
} else := null

problem_of(alert, t) := null if {
	kserve_alert_names[alert]
} else := threshold_problem(alert, t)

# --- coverage ------------------------------------------------------------------------------------

# The groups the rules below look into: with a PrometheusRule under review, all of them (it may
# uncover any model); otherwise only the reviewed models' own and environment groups.
wanted_groups := {n | some file in rule_files; some n in object.keys(file.groups)} if {
	count(reviewed_rule_files) > 0
} else := {n | some g in reviewed_groups; some n in [g.own, g.shared]}

# group name -> alert -> [{"reviewed", "problem"}]: the watched alerts of the wanted groups over
# every PrometheusRule, each threshold judged once (the environment group covers most models).
alert_index := {name: by_alert |
	some name in wanted_groups
	by_alert := {alert: entries |
		some alert in watched_alerts | kserve_alert_names
		entries := [{"reviewed": file.reviewed, "problem": problem_of(alert, r.threshold)} |
			some file in rule_files
			some r in object.get(file.groups, name, [])
			r.alert == alert
		]
		count(entries) > 0
	}
}

# The group that covers a model for one alert: its own group if that has the alert, else the
# environment group (label selectors are not parsed: a group's rules are taken to cover it);
# null when neither has it.
covering(own, shared, alert) := own if {
	alert_index[own][alert]
} else := shared if {
	alert_index[shared][alert]
} else := null

# [group, alert] whose rules in a PrometheusRule not under review have a problem: usually none,
# so the per-model rule below is one set lookup.
loose := {[name, alert] |
	some name in object.keys(alert_index)
	some alert in object.keys(alert_index[name])
	some entry in alert_index[name][alert]
	not entry.reviewed
	entry.problem != null
}

# {"model", "alert", "own", "shared", "group"} for every model of `groups` (groups_of) and alert,
# computed once.
coverage(groups) := [{"model": g.model, "alert": alert, "own": g.own, "shared": g.shared, "group": covering(g.own, g.shared, alert)} |
	some g in groups
	some alert in alerts_of[g.model.kind]
]

reviewed_primaries := array.concat(
	[m | some m in lib.reviewed_models; primary(m)],
	[s | some s in lib.reviewed_inference_services; kserve_primary(s)],
)

reviewed_groups := groups_of(reviewed_primaries)

reviewed_coverage := coverage(reviewed_groups)

uncovered(c) := sprintf("no %s alert covers this model: neither group %s nor group %s has one", [c.alert, c.own, c.shared])

deny contains lib.violation(model, msg) if {
	rule_file_count == 0
	some model in reviewed_primaries
	msg := "no PrometheusRule in the environment: nothing alerts on this model's latency or error rate"
}

deny contains lib.violation(c.model, msg) if {
	rule_file_count > 0
	some c in reviewed_coverage
	c.group == null
	msg := uncovered(c)
}

# Loose thresholds in a PrometheusRule that is not under review are reported on the model.
deny contains lib.violation(c.model, msg) if {
	count(loose) > 0
	some c in reviewed_coverage
	[c.group, c.alert] in loose
	some entry in alert_index[c.group][c.alert]
	not entry.reviewed
	entry.problem != null
	msg := sprintf("covered by group %s, whose %s", [c.group, entry.problem])
}

# --- the PrometheusRule under review ---------------------------------------------------------------

model_group(name) if regex.match(`^modelops\.[^.]+\.(models|model\..+)$`, name)

deny contains lib.violation(pr, msg) if {
	some pr in reviewed_rule_files
	some g in lib.rule_file_groups(pr)
	startswith(g.name, "modelops.")
	model_group(g.name)
	some rule in lib.array_at(g, "rules")
	is_object(rule)
	signals[rule.alert]
	problem := threshold_problem(rule.alert, lib.alert_threshold(rule))
	problem != null
	msg := sprintf("group %s: %s", [g.name, problem])
}

deny contains lib.violation(pr, msg) if {
	some pr in reviewed_rule_files
	names := [g.name | some g in lib.rule_file_groups(pr)]
	unique := {n | some n in names}
	count(unique) < count(names)
	some name in unique
	n := count([x | some x in names; x == name])
	n > 1
	msg := sprintf("group %s appears %d times; Prometheus refuses to load a rule file that repeats a group name", [name, n])
}

cluster_primaries := array.concat(
	[m | some m in lib.cluster; lib.is_seldon(m, "Model"); primary(m)],
	[s | some s in lib.cluster; lib.is_kserve(s, "InferenceService"); kserve_primary(s)],
)

# Models that stay in the cluster lose coverage when the PrometheusRule under review drops it.
deny contains lib.violation(pr, msg) if {
	count(reviewed_rule_files) > 0
	some c in coverage(groups_of(cluster_primaries))
	c.group == null
	some pr in reviewed_rule_files
	msg := sprintf("%s %s: %s", [c.model.kind, lib.name(c.model), uncovered(c)])
}
