"""`modelops batch run`: offline inference over a file or prefix of records, resumable.

Neither Seldon Core 2 nor KServe gives batch scoring a resource, so the rendered CronJob runs
this runner against the model's V2 endpoint. Modules, one job each: `sources` (which files an
input URI names, through fsspec), `records` (each format read lazily into numbered records),
`shards` (records grouped into shards and batches), `tensors` (records checked against the
model and stacked into one request), `client` (tritonclient's asyncio clients, error
classes, retries), `scoring` (the requests of one batch and its output lines), `outputs`
(the run folder: output lines, shards, state, manifest), `progress` (a bar on a terminal,
lines in a Job's log), `runner` (the loop), `cli` (the verb).
"""
