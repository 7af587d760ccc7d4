# Overcommit: a Seldon server replica registers models up to its inference container's memory
# request x (1 + SELDON_OVERCOMMIT_PERCENTAGE/100) and evicts (LRU) whatever does not physically
# fit. Ratios above 2.0 mean models are reloaded from storage on every other request; above 3.0
# (or the environment's lower limit) the pool thrashes. See README.md.
package modelops_policy_overcommit

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "Server"}

default env_max_ratio := 3.0

env_max_ratio := 1 + (pct / 100) if pct := lib.environment_spec.limits.maxOvercommitPercent

max_ratio := min({lib.max_ratio_deny, env_max_ratio})

# Everything about a pool the rules need, by Server name (lib.server_fact); a Server whose
# capacity or ratio cannot be read has no pool.
pools := {name: facts |
	some name, server in lib.server_facts
	capacity := server.capacity
	capacity != null
	replicas := server.replicas
	ratio := server.ratio
	ratio != null
	facts := {
		"capacity": capacity, "replicas": replicas, "ratio": ratio,
		"physical": capacity * replicas, "per_replica": capacity * ratio,
		"demand": sum([f | some m in models_on[name]; f := m.memory * m.replicas]),
	}
}

# The facts of the Models pinned to a pool with their memory parsed (lib.model_facts).
# A model without memory counts 0 bytes, as in Seldon (the memory policy denies that separately).
sized_models := [f |
	some f in lib.model_facts
	f.server != null
	f.memory != null
]

models_on := {name: [m | some m in sized_models; m.server == name] | some name, _ in lib.server_facts}

# Those under review carry the Model itself.
reviewed_sized := [f | some f in sized_models; f.model]

load_ratio(name) := pools[name].demand / pools[name].physical

deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	ratio := pools[lib.name(server)].ratio
	ratio > max_ratio
	msg := sprintf("overcommit ratio %s (SELDON_OVERCOMMIT_PERCENTAGE=%v) is above the maximum %s; models would be evicted and reloaded constantly", [lib.fixed2(ratio), lib.overcommit_percent(server), lib.fixed2(max_ratio)])
}

warn contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	ratio := pools[lib.name(server)].ratio
	ratio > lib.max_ratio_warn
	ratio <= max_ratio
	msg := sprintf("overcommit ratio %s (SELDON_OVERCOMMIT_PERCENTAGE=%v) is above %s; expect LRU evictions and reload latency", [lib.fixed2(ratio), lib.overcommit_percent(server), lib.fixed2(lib.max_ratio_warn)])
}

deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	pool := pools[lib.name(server)]
	load := load_ratio(lib.name(server))
	load > pool.ratio
	msg := sprintf("planned load %s on %s physical (ratio %s) does not fit the configured ratio %s", [lib.gib(pool.demand), lib.gib(pool.physical), lib.fixed2(load), lib.fixed2(pool.ratio)])
}

deny contains lib.violation(entry.model, msg) if {
	some entry in reviewed_sized
	not entry.server in lib.reviewed_server_names
	pool := pools[entry.server]
	load := load_ratio(entry.server)
	load > pool.ratio
	msg := sprintf("with this model, server %s plans %s on %s physical (ratio %s), above its configured ratio %s", [entry.server, lib.gib(pool.demand), lib.gib(pool.physical), lib.fixed2(load), lib.fixed2(pool.ratio)])
}

# A replica larger than what one server replica can register can never be placed.
deny contains lib.violation(entry.model, msg) if {
	some entry in reviewed_sized
	pool := pools[entry.server]
	entry.memory > pool.per_replica
	msg := sprintf("memory %s is more than one replica of server %s can register (%s)", [lib.gib(entry.memory), entry.server, lib.gib(pool.per_replica)])
}

# Seldon places each replica of a model on a distinct server replica (Seldon issue #5124).
deny contains lib.violation(entry.model, msg) if {
	some entry in reviewed_sized
	pool := pools[entry.server]
	entry.replicas > pool.replicas
	msg := sprintf("%d replicas cannot be placed on server %s, which has %d replicas", [entry.replicas, entry.server, pool.replicas])
}

# Autoscaling headroom: at maxReplicas the pool would no longer fit its configured ratio.
warn contains lib.violation(entry.model, msg) if {
	some entry in reviewed_sized
	pool := pools[entry.server]
	extra := entry.memory * (object.get(entry.model, ["spec", "maxReplicas"], 0) - entry.replicas)
	extra > 0
	peak := (pool.demand + extra) / pool.physical
	peak > pool.ratio
	msg := sprintf("scaled to maxReplicas, server %s would plan ratio %s, above its configured %s", [entry.server, lib.fixed2(peak), lib.fixed2(pool.ratio)])
}

# A Model without spec.server goes to whichever Server with the capabilities it requires has room
# (the placement policy warns about it): denied when it fits on none of them.
deny contains lib.violation(f.model, msg) if {
	some f in lib.model_facts
	f.model
	f.server == null
	f.memory != null
	requirements := lib.model_requirements(f.model)
	servers := sort([name | some name in object.keys(pools); lib.covers(lib.server_facts[name], requirements)])
	count(servers) > 0
	every name in servers {
		not fits(f, name)
	}
	msg := sprintf("no spec.server, and it fits on none of the Servers Seldon may place it on (%s): each would exceed its configured ratio, or has smaller or fewer replicas", [lib.text(concat(", ", servers))])
}

fits(f, name) if {
	pool := pools[name]
	f.memory <= pool.per_replica
	f.replicas <= pool.replicas
	load := (pool.demand + (f.memory * f.replicas)) / pool.physical
	load <= pool.ratio
}

# An unparseable percentage: the agent would not start, and no ratio can be judged.
deny contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	lib.sets_overcommit(server)
	not lib.overcommit_percent(server)
	msg := "SELDON_OVERCOMMIT_PERCENTAGE of the agent container is not a number"
}
