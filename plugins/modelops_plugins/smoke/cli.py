"""`modelops smoke`: the verb, its options, and where the request and threshold come from.

The rendered PostSync Job runs exactly this command, so it works without a checkout (no
--from-spec there: the request is mounted from the smoke ConfigMap and the threshold is an
argument). People run the same command by hand, with `--from-spec ENV/MODEL` to take the
request and latency threshold from the spec the way the renderer does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError

from modelops_plugins.headers import parse_headers
from modelops_plugins.textfiles import read_text

if TYPE_CHECKING:
    pass

SELDON_MODEL_HEADER = "seldon-model"


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "smoke", help="post-sync smoke test of a deployed model over the V2 protocol",
        description="Check a served model: server live and ready, model ready, metadata, one "
        "inference, output names/shapes/datatypes, latency. Exit 0 ok, 1 a check failed, "
        "2 bad input.")
    parser.add_argument("--url", required=True, metavar="HOST:PORT",
                        help="inference endpoint as tritonclient takes it (no scheme)")
    parser.add_argument("--model", required=True, metavar="NAME", help="model to check")
    parser.add_argument("--protocol", choices=("http", "grpc"), default="http")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--payload", type=Path, metavar="FILE",
                        help="V2 inference request body (JSON) to send")
    source.add_argument("--from-spec", metavar="ENV/MODEL",
                        help="take the request (spec.smoke) and latency threshold from a spec")
    parser.add_argument("--header", action="append", default=[], metavar="KEY=VALUE",
                        help="header sent with every call, e.g. seldon-model=NAME (repeatable)")
    parser.add_argument("--max-latency-ms", type=float, metavar="MS",
                        help="fail if the inference takes longer (default: from --from-spec)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per-call network timeout (default 10)")
    parser.set_defaults(handler=handle, needs_repo=False)


def read_json(path: Path, what: str) -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: the {what} is not JSON: "
                         f"{exc.msg}") from None


def load_payload(path: Path) -> Any:
    from modelops_plugins.smoke import wire

    try:
        return wire.check_sendable(wire.parse_request(read_json(path, "V2 request")))
    except wire.WireError as exc:
        raise UsageError(f"{path}: not a V2 inference request: {exc}") from None


def from_spec(args: argparse.Namespace) -> tuple[Any, float]:
    """The spec's smoke request (None when it has none) and latency threshold."""
    from modelops import derive

    from modelops_plugins.smoke import wire

    env_name, sep, model_name = str(args.from_spec).partition("/")
    if not sep or not env_name or not model_name or "/" in model_name:
        raise UsageError(f"--from-spec {args.from_spec!r}: expected ENV/MODEL, e.g. "
                         "prod/fraud-detector")
    from modelops.repository import Repository

    repo = Repository.discover(args.repo)
    env = repo.load_environment(repo.select([env_name])[0])
    model = env.model(model_name)
    if model is None:
        raise UsageError(f"no model {model_name!r} in environment {env.name!r}; models: "
                         f"{', '.join(m.name for m in env.models)}")
    body = derive.smoke_request(model)
    try:
        request = (wire.parse_request(json.loads(body), f"{model.doc.display} spec.smoke")
                   if body is not None else None)
    except wire.WireError as exc:
        raise UsageError(str(exc)) from None
    return request, float(derive.smoke_max_latency_ms(env, model).value)


def handle(args: argparse.Namespace) -> int:
    from modelops_plugins.smoke import checks
    from modelops_plugins.smoke.client import ClientError, connect

    headers = parse_headers(args.header)
    if args.max_latency_ms is not None and args.max_latency_ms <= 0:
        raise UsageError("--max-latency-ms must be greater than zero")
    if args.timeout <= 0:
        raise UsageError("--timeout must be greater than zero")
    request, threshold = None, args.max_latency_ms
    if args.payload is not None:
        request = load_payload(args.payload)
    elif args.from_spec is not None:
        request, spec_threshold = from_spec(args)
        threshold = spec_threshold if threshold is None else threshold
    route = headers.get(SELDON_MODEL_HEADER, "")
    try:
        client = connect(args.protocol, args.url, headers, args.timeout)
    except ClientError as exc:
        raise UsageError(f"--url {args.url!r}: {exc}") from None
    try:
        report = checks.run(client, args.model, request, max_latency_ms=threshold,
                            route=f"{SELDON_MODEL_HEADER}={route}" if route else "",
                            pipeline=route.endswith(".pipeline"))
    finally:
        client.close()
    sys.stdout.write(report.format())
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED
