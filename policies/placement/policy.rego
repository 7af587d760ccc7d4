# Placement: where Seldon's scheduler can put a Model (research/seldon-core-2.md §2). A Model
# pinned with `spec.server` goes to that Server only; an unpinned one to any Server whose
# capabilities cover its requirements. A Model Seldon cannot place stays ScheduleFailed, and one
# placed on a Server whose capacity nobody declared is not limited by anything the platform can
# check. See README.md.
package modelops_policy_placement

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "Server"}

# The facts of each Model under review (they carry the Model itself).
reviewed := [f | some f in lib.model_facts; f.model]

# The Servers a Model with these requirements may be placed on, when it names none.
candidates(requirements) := sort([name |
	server := lib.server_facts[name]
	lib.covers(server, requirements)
])

names(list) := lib.text(concat(", ", list))

deny contains lib.violation(f.model, msg) if {
	some f in reviewed
	is_string(f.server)
	not lib.server_facts[f.server]
	msg := sprintf("spec.server %s names no Server in this environment (servers: %s); Seldon leaves the model ScheduleFailed", [f.server, lib.text(names(sort(object.keys(lib.server_facts))))])
}

deny contains lib.violation(f.model, msg) if {
	some f in reviewed
	server := lib.server_facts[f.server]
	requirements := lib.model_requirements(f.model)
	not lib.covers(server, requirements)
	missing := [r | some r in requirements; not r in server.capabilities]
	msg := sprintf("server %s lacks the capabilities %s that the model requires (it offers %s); Seldon leaves the model ScheduleFailed", [f.server, names(missing), lib.text(names(server.capabilities))])
}

deny contains lib.violation(f.model, msg) if {
	some f in reviewed
	server := lib.server_facts[f.server]
	server.capacity == null
	msg := sprintf("server %s declares no memory request on its inference container, so no capacity this model's memory can be checked against", [f.server])
}

deny contains lib.violation(f.model, msg) if {
	some f in reviewed
	f.server == null
	requirements := lib.model_requirements(f.model)
	count(candidates(requirements)) == 0
	msg := sprintf("no spec.server, and no Server's capabilities cover the requirements %s; Seldon leaves the model ScheduleFailed", [lib.text(names(requirements))])
}

deny contains lib.violation(f.model, msg) if {
	some f in reviewed
	f.server == null
	servers := candidates(lib.model_requirements(f.model))
	unchecked := [name | some name in servers; lib.server_facts[name].capacity == null]
	count(unchecked) > 0
	msg := sprintf("no spec.server: Seldon may place it on Servers that declare no memory request (%s), so no capacity this model's memory can be checked against; pin it with spec.server", [names(unchecked)])
}

warn contains lib.violation(f.model, msg) if {
	some f in reviewed
	f.server == null
	requirements := lib.model_requirements(f.model)
	servers := candidates(requirements)
	count(servers) > 0
	msg := sprintf("no spec.server: Seldon places it on any Server whose capabilities cover %s (%s), so which pool's memory it takes is decided at run time; pin it with spec.server", [lib.text(names(requirements)), names(servers)])
}

warn contains lib.violation(server, msg) if {
	some server in lib.reviewed_servers
	lib.server_facts[lib.name(server)].capacity == null
	msg := "no memory request on the inference container (mlserver/triton): the capacity Seldon registers is not declared here, so Models placed on this Server are denied"
}
