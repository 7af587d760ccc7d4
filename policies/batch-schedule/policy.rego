# Batch schedule: a CronJob that scores a model's input runs at most every 5 minutes, never
# overlaps its previous run and has a deadline. See README.md.
package modelops_policy_batch_schedule

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"CronJob"}

min_interval_minutes := 5

named_schedules := {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

cronjobs := [c | some c in input.objects; c.kind == "CronJob"; startswith(object.get(c, "apiVersion", ""), "batch/")]

schedule(c) := s if {
	s := c.spec.schedule
	is_string(s)
} else := ""

# --- how often it runs -------------------------------------------------------------------------

# The five fields of a cron schedule (Kubernetes splits on any white space).
fields(s) := f if {
	f := regex.split(`\s+`, trim_space(s))
	count(f) == 5
}

# One element of the minute field: *, N, N-M, each with an optional /K.
minute_part_pattern := `^(\*|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?$`

readable(s) if s in named_schedules

readable(s) if {
	f := fields(s)
	every part in split(f[0], ",") {
		regex.match(minute_part_pattern, part)
	}
}

# The minutes past the hour one element of the minute field fires at.
part_minutes(part) := {m |
	pieces := split(part, "/")
	step := _step(pieces)
	stepped := count(pieces) == 2
	bounds := _bounds(pieces[0], stepped)
	some m in numbers.range(bounds[0], bounds[1])
	(m - bounds[0]) % step == 0
}

_step(pieces) := to_number(pieces[1]) if count(pieces) == 2

_step(pieces) := 1 if count(pieces) == 1

_bounds(base, stepped) := [0, 59] if base == "*"

_bounds(base, stepped) := [to_number(ends[0]), to_number(ends[1])] if {
	ends := split(base, "-")
	count(ends) == 2
}

# N alone is that minute; N/K runs from N to the end of the hour.
_bounds(base, stepped) := [n, n] if {
	base != "*"
	not contains(base, "-")
	not stepped
	n := to_number(base)
}

_bounds(base, stepped) := [to_number(base), 59] if {
	base != "*"
	not contains(base, "-")
	stepped
}

minutes(s) := {m | some part in split(fields(s)[0], ","); some m in part_minutes(part)}

# The shortest gap between two runs, in minutes, from each minute to the next one (no engine
# is asked to keep a sorted order). A single minute past the hour runs at most hourly; from the
# last minute of one hour to the first of the next counts unless the hour field is one hour.
shortest_gap(s) := 60 if count(minutes(s)) == 1

shortest_gap(s) := smallest(array.concat(_inner_gaps(ms), _wrap(ms, hours))) if {
	ms := minutes(s)
	count(ms) > 1
	f := fields(s)
	hours := f[1]
}

_inner_gaps(ms) := [gap | some m in ms; later := {x | some x in ms; x > m}; count(later) > 0; gap := smallest(later) - m]

_wrap(ms, hours) := [] if regex.match(`^[0-9]{1,2}$`, hours)

_wrap(ms, hours) := [(60 - largest) + smallest(ms)] if {
	not regex.match(`^[0-9]{1,2}$`, hours)
	some largest in ms
	count({x | some x in ms; x > largest}) == 0
}

# The least of some numbers, by comparison alone: regopy's min and sort order numbers as text.
smallest(xs) := x if {
	some x in xs
	count({y | some y in xs; y < x}) == 0
}

deny contains lib.violation(c, msg) if {
	some c in cronjobs
	s := schedule(c)
	not readable(s)
	msg := sprintf("schedule '%s' cannot be checked: use five fields (minute hour day-of-month month day-of-week) with *, N, N-M, /K and lists, or one of %s", [lib.text(s), concat(", ", sort(named_schedules))])
}

deny contains lib.violation(c, msg) if {
	some c in cronjobs
	s := schedule(c)
	not s in named_schedules
	readable(s)
	gap := shortest_gap(s)
	gap < min_interval_minutes
	msg := sprintf("schedule '%s' starts runs %s minute(s) apart: a run scores a whole input, and one more often than every %s minutes only queues behind the last", [lib.text(s), lib.text(gap), lib.text(min_interval_minutes)])
}

# --- overlap and deadline ----------------------------------------------------------------------

deny contains lib.violation(c, msg) if {
	some c in cronjobs
	policy := object.get(c, ["spec", "concurrencyPolicy"], "Allow")
	policy != "Forbid"
	msg := sprintf("concurrencyPolicy is %s: it must be Forbid, or a slow run and the next one score the same input side by side", [lib.text(policy)])
}

deny contains lib.violation(c, msg) if {
	some c in cronjobs
	not positive_deadline(c)
	msg := sprintf("jobTemplate.spec.activeDeadlineSeconds is %s: a run needs a deadline, or a hung run blocks every later one (concurrencyPolicy Forbid)", [lib.text(object.get(c, ["spec", "jobTemplate", "spec", "activeDeadlineSeconds"], "unset"))])
}

positive_deadline(c) if lib.number(c.spec.jobTemplate.spec.activeDeadlineSeconds) > 0

warn contains lib.violation(c, msg) if {
	some c in cronjobs
	not c.spec.startingDeadlineSeconds
	msg := "startingDeadlineSeconds is unset: after 100 missed schedule times Kubernetes stops starting the CronJob's runs"
}
