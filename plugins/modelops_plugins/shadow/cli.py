"""`modelops shadow compare`: the verb, live or offline; exit 1 flags the pair for review."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError

from modelops_plugins.shadow import DEFAULT_BINS, THRESHOLD

if TYPE_CHECKING:
    pass


def register(verbs: Any) -> None:
    shadow = verbs.add_parser("shadow", help="compare the current and the previous model")
    actions = shadow.add_subparsers(dest="shadow_action", metavar="ACTION",
                                    parser_class=type(shadow))
    actions.required = True
    compare = actions.add_parser(
        "compare", help="Jensen-Shannon divergence of two models' output distributions",
        description="Send the same inputs to the current and the previous model (or read "
        "their recorded V2 responses) and compare the distributions of one output: class "
        f"frequencies or binned scores. Exit 0 at or below the threshold ({THRESHOLD}), 1 "
        "above it (review before promoting), 2 bad input.")
    offline = compare.add_argument_group("offline")
    offline.add_argument("--recorded", nargs=2, type=Path, metavar=("CURRENT", "PREVIOUS"),
                         help="two files of recorded V2 responses (.json or JSON lines)")
    live = compare.add_argument_group("live")
    live.add_argument("--url", metavar="HOST:PORT", help="endpoint of the current model")
    live.add_argument("--previous-url", metavar="HOST:PORT",
                      help="endpoint of the previous model (default: --url)")
    live.add_argument("--current", metavar="NAME", help="current model name")
    live.add_argument("--previous", metavar="NAME", help="previous model name")
    live.add_argument("--inputs", type=Path, metavar="FILE",
                      help="V2 requests (.json, .jsonl) or rows (.npy, .csv) to send to both")
    live.add_argument("--protocol", choices=("http", "grpc"), default="http")
    live.add_argument("--header", action="append", default=[], metavar="KEY=VALUE",
                      help="header sent with every call (repeatable)")
    live.add_argument("--route-header", metavar="KEY",
                      help="send each model's name under this header, e.g. seldon-model "
                      "behind Seldon's mesh")
    live.add_argument("--batch-size", type=int, default=100, metavar="ROWS",
                      help="rows per request when --inputs holds rows (default 100)")
    live.add_argument("--input-name", metavar="NAME",
                      help="input tensor for rows (default: the model's first declared input)")
    live.add_argument("--datatype", metavar="TYPE",
                      help="datatype for rows, e.g. FP32 (default: the declared one)")
    live.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    live.add_argument("--record-dir", type=Path, metavar="DIR",
                      help="also write the responses to DIR/current.jsonl and previous.jsonl")
    compare.add_argument("--output", metavar="NAME",
                         help="output tensor to compare (default: the first one)")
    compare.add_argument("--as", dest="kind", choices=("classes", "scores"),
                         help="compare as class frequencies or binned scores (default: "
                         "scores for FP16/32/64 outputs, classes otherwise)")
    compare.add_argument("--bins", type=int, default=DEFAULT_BINS, metavar="N",
                         help=f"bins for scores (default {DEFAULT_BINS})")
    compare.add_argument("--threshold", type=float, default=THRESHOLD, metavar="JSD",
                         help=f"flag above this divergence (default {THRESHOLD})")
    compare.set_defaults(handler=handle_compare, needs_repo=False)


def _live_responses(args: argparse.Namespace) -> tuple[list[Any], list[Any]]:
    from modelops_plugins.headers import parse_headers
    from modelops_plugins.shadow import sources
    from modelops_plugins.smoke.client import ClientError, connect

    missing = [flag for flag, value in (("--url", args.url), ("--current", args.current),
                                        ("--previous", args.previous),
                                        ("--inputs", args.inputs)) if not value]
    if missing:
        raise UsageError(f"live comparison needs {', '.join(missing)} (or use --recorded "
                         "CURRENT PREVIOUS)")
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    headers = parse_headers(args.header)
    targets = []
    for label, url, model in (("current", args.url, args.current),
                              ("previous", args.previous_url or args.url, args.previous)):
        own = dict(headers, **({args.route_header: model} if args.route_header else {}))
        try:
            client = connect(args.protocol, url, own, args.timeout)
        except ClientError as exc:
            raise UsageError(f"{label} endpoint {url!r}: {exc}") from None
        targets.append(sources.Target(client, model, label))
    try:
        requests = sources.load_requests(args.inputs, targets[0], input_name=args.input_name,
                                         datatype=args.datatype, batch_size=args.batch_size)
        current = sources.collect(targets[0], requests)
        previous = sources.collect(targets[1], requests)
    finally:
        for target in targets:
            target.client.close()
    if args.record_dir is not None:
        sources.write_responses(args.record_dir / "current.jsonl", current)
        sources.write_responses(args.record_dir / "previous.jsonl", previous)
    return current, previous


def handle_compare(args: argparse.Namespace) -> int:
    from modelops_plugins.shadow import divergence, sources
    from modelops_plugins.smoke import wire

    if args.bins < 1:
        raise UsageError("--bins must be at least 1")
    if not 0 <= args.threshold <= 1:
        raise UsageError("--threshold is a Jensen-Shannon divergence (base 2): 0 to 1")
    live_flags = [f for f in ("url", "current", "previous", "inputs", "previous_url")
                  if getattr(args, f)]
    if args.recorded and live_flags:
        raise UsageError("--recorded compares files; it cannot be combined with "
                         f"--{live_flags[0].replace('_', '-')}")
    if args.recorded:
        current_path, previous_path = args.recorded
        current = sources.read_responses(current_path)
        previous = sources.read_responses(previous_path)
        where = (str(current_path), str(previous_path))
    else:
        try:
            current, previous = _live_responses(args)
        except sources.SourceError as exc:
            print(f"shadow: {exc}", file=sys.stderr)
            return EXIT_CHECK_FAILED
        where = (f"current model {args.current!r}", f"previous model {args.previous!r}")
    name, current_type, current_values = sources.output_values(current, args.output, where[0])
    _, previous_type, previous_values = sources.output_values(previous, name, where[1])
    kind = args.kind
    if kind is None:
        floats = {current_type in wire.FLOAT_TYPES, previous_type in wire.FLOAT_TYPES}
        if len(floats) > 1:
            raise UsageError(f"output {name!r} is {current_type} for the current model and "
                             f"{previous_type} for the previous one; choose --as classes or "
                             "--as scores")
        kind = "scores" if floats == {True} else "classes"
    if kind == "scores" and not all(t in wire.FLOAT_TYPES or t.startswith(("INT", "UINT"))
                                    for t in (current_type, previous_type)):
        raise UsageError(f"output {name!r} ({current_type}) cannot be binned as scores")
    comparison = divergence.compare(current_values, previous_values, kind, args.bins)
    sys.stdout.write(divergence.format_comparison(name, comparison, args.threshold))
    return EXIT_CHECK_FAILED if comparison.divergence > args.threshold else EXIT_OK
