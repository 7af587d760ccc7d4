# Overcommit: a Seldon server replica registers models up to its inference container's memory
# request x (1 + SELDON_OVERCOMMIT_PERCENTAGE/100) and evicts (LRU) whatever does not physically
# fit. Ratios above 2.0 mean models are reloaded from storage on every other request; above 3.0
# (or the environment's lower limit) the pool thrashes. See README.md.
package modelops.policies.overcommit

import rego.v1

import data.modelops.lib

default env_max_ratio := 3.0

env_max_ratio := 1 + (pct / 100) if pct := lib.environment_spec.limits.maxOvercommitPercent

max_ratio := min({lib.max_ratio_deny, env_max_ratio})

# Planned load of a pool: the sum of memory x replicas of the models pinned to it. A model
# without memory counts 0 bytes, as in Seldon (the memory policy denies that separately).
demand := {server: sum(footprints) |
	some server, _ in lib.servers
	footprints := [footprint(m) | some m in lib.models; m.spec.server == server]
}

footprint(model) := lib.model_memory(model) * lib.replicas(model)

physical(server) := lib.server_capacity(server) * lib.server_replicas(server)

load_ratio(server) := demand[lib.name(server)] / physical(server)

deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	ratio := lib.overcommit_ratio(server)
	ratio > max_ratio
	msg := sprintf("overcommit ratio %s (SELDON_OVERCOMMIT_PERCENTAGE=%v) is above the maximum %s; models would be evicted and reloaded constantly", [lib.fixed2(ratio), lib.overcommit_percent(server), lib.fixed2(max_ratio)])
}

warn contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	ratio := lib.overcommit_ratio(server)
	ratio > lib.max_ratio_warn
	ratio <= max_ratio
	msg := sprintf("overcommit ratio %s (SELDON_OVERCOMMIT_PERCENTAGE=%v) is above %s; expect LRU evictions and reload latency", [lib.fixed2(ratio), lib.overcommit_percent(server), lib.fixed2(lib.max_ratio_warn)])
}

deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	load := load_ratio(server)
	load > lib.overcommit_ratio(server)
	msg := sprintf("planned load %s on %s physical (ratio %s) does not fit the configured ratio %s", [lib.gib(demand[lib.name(server)]), lib.gib(physical(server)), lib.fixed2(load), lib.fixed2(lib.overcommit_ratio(server))])
}

deny contains lib.violation(model, msg) if {
	some model in lib.reviewed_models
	server_name := model.spec.server
	not server_name in lib.reviewed_server_names
	server := lib.servers[server_name]
	load := load_ratio(server)
	load > lib.overcommit_ratio(server)
	msg := sprintf("with this model, server %s plans %s on %s physical (ratio %s), above its configured ratio %s", [server_name, lib.gib(demand[server_name]), lib.gib(physical(server)), lib.fixed2(load), lib.fixed2(lib.overcommit_ratio(server))])
}

# A replica larger than what one server replica can register can never be placed.
deny contains lib.violation(model, msg) if {
	some model in lib.reviewed_models
	server := lib.servers[model.spec.server]
	per_replica := lib.server_capacity(server) * lib.overcommit_ratio(server)
	lib.model_memory(model) > per_replica
	msg := sprintf("memory %s is more than one replica of server %s can register (%s)", [lib.gib(lib.model_memory(model)), model.spec.server, lib.gib(per_replica)])
}

# Seldon places each replica of a model on a distinct server replica (Seldon issue #5124).
deny contains lib.violation(model, msg) if {
	some model in lib.reviewed_models
	server := lib.servers[model.spec.server]
	lib.replicas(model) > lib.server_replicas(server)
	msg := sprintf("%d replicas cannot be placed on server %s, which has %d replicas", [lib.replicas(model), model.spec.server, lib.server_replicas(server)])
}

# Autoscaling headroom: at maxReplicas the pool would no longer fit its configured ratio.
warn contains lib.violation(model, msg) if {
	some model in lib.reviewed_models
	server := lib.servers[model.spec.server]
	extra := lib.model_memory(model) * (object.get(model, ["spec", "maxReplicas"], 0) - lib.replicas(model))
	extra > 0
	peak := (demand[model.spec.server] + extra) / physical(server)
	peak > lib.overcommit_ratio(server)
	msg := sprintf("scaled to maxReplicas, server %s would plan ratio %s, above its configured %s", [model.spec.server, lib.fixed2(peak), lib.fixed2(lib.overcommit_ratio(server))])
}
