package modelops_policy_batch_schedule_test

import rego.v1

import data.modelops_policy_batch_schedule as batch_schedule

cronjob(spec_overrides) := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": {"name": "batch-scorer", "namespace": "models"},
	"spec": object.union(
		{
			"schedule": "30 2 * * *",
			"concurrencyPolicy": "Forbid",
			"startingDeadlineSeconds": 300,
			"jobTemplate": {"spec": {"activeDeadlineSeconds": 3600, "template": {"spec": {"containers": []}}}},
		},
		spec_overrides,
	),
}

review(obj) := {"environment": {}, "objects": [obj], "cluster": []}

denies(obj) := msgs if {
	msgs := {v.msg | some v in batch_schedule.deny} with input as review(obj)
}

warns(obj) := msgs if {
	msgs := {v.msg | some v in batch_schedule.warn} with input as review(obj)
}

only(msgs, text) if {
	count(msgs) == 1
	some m in msgs
	contains(m, text)
}

scheduled(s) := cronjob({"schedule": s})

test_nightly_batch_allowed if {
	count(denies(cronjob({}))) == 0
	count(warns(cronjob({}))) == 0
}

test_every_minute_denied if only(denies(scheduled("* * * * *")), "starts runs 1 minute(s) apart")

test_every_two_minutes_denied if only(denies(scheduled("*/2 * * * *")), "starts runs 2 minute(s) apart")

test_every_five_minutes_allowed if count(denies(scheduled("*/5 * * * *"))) == 0

test_close_minutes_in_a_list_denied if only(denies(scheduled("0,3,30 * * * *")), "3 minute(s) apart")

test_a_range_runs_every_minute_of_it if only(denies(scheduled("0-10 2 * * *")), "1 minute(s) apart")

test_a_stepped_range_allowed if count(denies(scheduled("0-30/10 * * * *"))) == 0

test_start_and_step_runs_to_the_end_of_the_hour if {
	count(denies(scheduled("7/20 * * * *"))) == 0
	only(denies(scheduled("50/3 * * * *")), "3 minute(s) apart")
}

test_the_gap_across_the_hour_counts if only(denies(scheduled("0,58 * * * *")), "2 minute(s) apart")

test_no_gap_across_the_hour_for_a_single_hour if count(denies(scheduled("0,58 3 * * *"))) == 0

test_multiple_spaces_are_one_separator if count(denies(scheduled("30  2 * *   *"))) == 0

test_named_schedules_allowed if {
	count(denies(scheduled("@hourly"))) == 0
	count(denies(scheduled("@daily"))) == 0
}

test_unreadable_schedules_denied if {
	only(denies(scheduled("@every 1m")), "cannot be checked")
	only(denies(scheduled("TZ=UTC 0 2 * * *")), "cannot be checked")
	only(denies(scheduled("0 2 * *")), "cannot be checked")
	only(denies(cronjob({"schedule": 5})), "cannot be checked")
}

test_overlapping_runs_denied if {
	only(denies(cronjob({"concurrencyPolicy": "Allow"})), "concurrencyPolicy is Allow")
	only(denies(cronjob({"concurrencyPolicy": "Replace"})), "concurrencyPolicy is Replace")
	only(denies(json.remove(cronjob({}), ["spec/concurrencyPolicy"])), "concurrencyPolicy is Allow")
}

test_missing_deadline_denied if {
	obj := json.remove(cronjob({}), ["spec/jobTemplate/spec/activeDeadlineSeconds"])
	only(denies(obj), "activeDeadlineSeconds is unset")
}

test_zero_deadline_denied if {
	obj := json.patch(cronjob({}), [{"op": "replace", "path": "/spec/jobTemplate/spec/activeDeadlineSeconds", "value": 0}])
	only(denies(obj), "activeDeadlineSeconds is 0")
}

test_missing_starting_deadline_warns if {
	obj := json.remove(cronjob({}), ["spec/startingDeadlineSeconds"])
	count(denies(obj)) == 0
	only(warns(obj), "startingDeadlineSeconds is unset")
}

test_other_kinds_ignored if {
	job := {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {}}
	count(denies(job)) == 0
}
