"""`modelops batch run`: the verb, its options, and the checks made before anything is sent.

The rendered CronJob runs exactly this command in its container (no checkout), with
`--header seldon-model=NAME` behind Seldon's mesh and its Job's name as `--run-id`, so a pod
the Job restarts resumes the same run. Run by hand without `--run-id`, the id is derived from
what defines the output (model, route, input, format, tensor, shard size), so the same command
run again resumes; the URL and protocol are left out of it on purpose, so a run survives its
server moving.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, UsageError

from modelops_plugins.headers import parse_headers

if TYPE_CHECKING:
    pass

SELDON_MODEL_HEADER = "seldon-model"
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}")
SECRET_HEADER = re.compile(r"auth|token|key|cookie|secret|password", re.IGNORECASE)


def register(verbs: Any) -> None:
    batch = verbs.add_parser("batch", help="offline (batch) inference over files of records")
    actions = batch.add_subparsers(dest="batch_action", metavar="ACTION",
                                   parser_class=type(batch))
    actions.required = True
    run = actions.add_parser(
        "run", help="score every record of a file or prefix, resumably",
        description="Send the records of INPUT (JSON lines of V2 requests, CSV rows or .npy "
        "rows; a file or a prefix of files, through fsspec) to a model in batches over the V2 "
        "protocol and write one output line per record, in input order, to "
        "OUTPUT/RUN-ID/part-NNNNN.jsonl with a _manifest.json. Run again with the same "
        "arguments, it finishes only the missing shards. Exit 0 every record scored, 1 "
        "records failed or the run stopped (the manifest says why), 2 bad usage or input.")
    run.add_argument("--url", required=True, metavar="HOST:PORT",
                     help="inference endpoint as tritonclient takes it (no scheme)")
    run.add_argument("--model", required=True, metavar="NAME", help="model to score with")
    run.add_argument("--input", required=True, metavar="URI",
                     help="a file or a prefix of files (local, gs://, s3://)")
    run.add_argument("--output", required=True, metavar="URI",
                     help="prefix; this run writes under OUTPUT/RUN-ID/")
    run.add_argument("--protocol", choices=("http", "grpc"), default="http")
    run.add_argument("--batch-size", type=int, default=100, metavar="N",
                     help="records per request (default 100)")
    run.add_argument("--concurrency", type=int, default=4, metavar="N",
                     help="requests in flight (default 4)")
    run.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                     help="per request (default 60)")
    run.add_argument("--retries", type=int, default=6, metavar="N",
                     help="retries of a request the server did not answer or answered with a "
                     "5xx, with exponential backoff and jitter (default 6)")
    run.add_argument("--max-failures", type=int, default=0, metavar="N",
                     help="records that may fail before the run stops (default 0); the run "
                     "still exits 1 when any failed")
    run.add_argument("--run-id", metavar="ID",
                     help="run folder name (default: derived from the arguments, so the same "
                     "command resumes)")
    run.add_argument("--shard-size", type=int, default=10_000, metavar="N",
                     help="records per output shard, the unit of resuming (default 10000)")
    run.add_argument("--input-format", choices=("jsonl", "csv", "npy"),
                     help="default: from each file's extension (.jsonl/.ndjson, .csv, .npy)")
    run.add_argument("--input-name", metavar="NAME",
                     help="input tensor for CSV/.npy rows (default: the model's first input)")
    run.add_argument("--datatype", metavar="TYPE",
                     help="V2 datatype for CSV/.npy rows (default: the model's declared one, "
                     "else the .npy dtype)")
    run.add_argument("--header", action="append", default=[], metavar="KEY=VALUE",
                     help="header sent with every request, e.g. seldon-model=NAME (repeatable)")
    run.add_argument("--progress", choices=("auto", "bar", "lines"), default="auto",
                     help="a bar or plain lines on stderr (default: a bar on a terminal)")
    run.set_defaults(handler=handle_run, needs_repo=False)


def _check_numbers(args: argparse.Namespace) -> None:
    for flag, value, lowest in (("--batch-size", args.batch_size, 1),
                                ("--concurrency", args.concurrency, 1),
                                ("--shard-size", args.shard_size, 1),
                                ("--retries", args.retries, 0),
                                ("--max-failures", args.max_failures, 0)):
        if value < lowest:
            raise UsageError(f"{flag} must be at least {lowest}")
    if not args.timeout > 0:
        raise UsageError("--timeout must be greater than zero")
    url = args.url
    if not url or "://" in url or any(c.isspace() for c in url):
        raise UsageError(f"--url {url!r}: expected HOST:PORT without a scheme, e.g. "
                         "seldon-mesh.models:80")


def identity(args: argparse.Namespace, headers: dict[str, str]) -> dict[str, Any]:
    """What defines a run's output; a rerun must match it to resume."""
    return {"model": args.model, "route": headers.get(SELDON_MODEL_HEADER, ""),
            "input": args.input, "inputFormat": args.input_format or "",
            "inputName": args.input_name or "", "datatype": args.datatype or "",
            "shardSize": args.shard_size}


def default_run_id(defining: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()
    return f"run-{digest[:16]}"


def shown_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: "<redacted>" if SECRET_HEADER.search(k) else v for k, v in headers.items()}


def handle_run(args: argparse.Namespace) -> int:
    from modelops_plugins.batch import runner, sources
    from modelops_plugins.batch.outputs import COMPLETE, RunFolder
    from modelops_plugins.smoke import wire

    _check_numbers(args)
    headers = parse_headers(args.header)
    if args.datatype is not None and args.datatype not in wire.NUMPY_TYPES:
        raise UsageError(f"--datatype {args.datatype!r} is not a V2 datatype "
                         f"({', '.join(wire.NUMPY_TYPES)})")
    files = sources.resolve(args.input, args.input_format)
    file_format = files[0].format
    if file_format == "jsonl" and (args.input_name or args.datatype):
        raise UsageError("--input-name and --datatype are for CSV and .npy rows; JSON lines "
                         "carry their own V2 inputs")
    defining = identity(args, headers)
    run_id = args.run_id or default_run_id(defining)
    if not RUN_ID.fullmatch(run_id):
        raise UsageError(f"--run-id {run_id!r}: letters, digits and . _ : + - (not first), "
                         "at most 128")
    _refuse_output_inside_input(args.input, args.output, files)
    folder = RunFolder.open(args.output, run_id, defining)
    description = {"runId": run_id, "model": args.model, "url": args.url,
                   "protocol": args.protocol, "headers": shown_headers(headers),
                   "input": args.input, "format": file_format,
                   "files": [{"file": f.display, "bytes": f.size} for f in files],
                   "output": folder.display, "batchSize": args.batch_size,
                   "concurrency": args.concurrency, "shardSize": args.shard_size,
                   "maxFailures": args.max_failures}
    outcome = asyncio.run(_run(args, headers, files, folder, description))
    summary = (f"batch: {outcome.status}: {outcome.manifest['records']['scored']:,} record(s) "
               f"scored, {outcome.manifest['records']['failed']:,} failed -> "
               f"{folder.display}/ (see _manifest.json)")
    print(summary)
    if outcome.reason:
        print(f"batch: {outcome.reason}", file=sys.stderr)
    for failure in outcome.manifest["failures"][:20]:
        print(f"{failure['file']}:{failure['record']}: {failure['error']}", file=sys.stderr)
    if outcome.status == runner.BAD_INPUT:
        return EXIT_BAD_INPUT
    if outcome.status == COMPLETE and not outcome.manifest["records"]["failed"]:
        return EXIT_OK
    return EXIT_CHECK_FAILED


def _refuse_output_inside_input(input_uri: str, output_uri: str, files: list[Any]) -> None:
    from modelops_plugins.batch import sources

    fs_out, out_path = sources.filesystem(output_uri, "--output")
    fs_in = files[0].fs
    if type(fs_out) is not type(fs_in):
        return
    _, in_path = sources.filesystem(input_uri, "--input")
    is_prefix = len(files) > 1 or in_path != files[0].path
    if is_prefix and (out_path.rstrip("/") + "/").startswith(in_path.rstrip("/") + "/"):
        raise UsageError(f"--output {output_uri!r} is inside --input {input_uri!r}: the "
                             "next run would read this run's outputs as records")


async def _run(args: argparse.Namespace, headers: dict[str, str], files: list[Any],
               folder: Any, description: dict[str, Any]) -> Any:
    from modelops_plugins.batch import runner
    from modelops_plugins.batch.client import AsyncV2, Retries
    from modelops_plugins.batch.progress import Progress

    progress = Progress(sum(f.size for f in files),
                        bar={"auto": None, "bar": True, "lines": False}[args.progress])
    client = AsyncV2(args.protocol, args.url, headers, args.timeout)
    try:
        plan = runner.Plan(model=args.model, files=files,
                           batch_size=args.batch_size, concurrency=args.concurrency,
                           shard_size=args.shard_size, max_failures=args.max_failures,
                           retries=Retries(args.retries), description=description)
        run = runner.Run(plan, client, folder, progress)
        return await run.execute(input_name=args.input_name, datatype=args.datatype)
    finally:
        progress.close()
        await client.close()
