"""`modelops batch run`: offline inference over a file or prefix of records, resumable.

Neither Seldon Core 2 nor KServe gives batch scoring a resource, so the rendered CronJob runs
this runner against the model's V2 endpoint. Modules, one job each: `sources` (which files an
input URI names, through fsspec), `records` (each format read lazily into numbered records),
`shards` (records grouped into shards and batches), `tensors` (records checked against the
model and merged into one request, outputs split back), `client` (tritonclient's asyncio
clients, error classes, retries), `outputs` (the run folder: shards, state, manifest),
`progress` (a bar on a terminal, lines in a Job's log), `runner` (the loop), `cli` (the verb).
"""
