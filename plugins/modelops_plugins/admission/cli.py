"""`modelops admission run|serve`: the admission plugin's verbs.

`run` is what the Deployment's container executes: the operator against the cluster it runs in.
`serve` is local mode: the same operator and HTTPS endpoint against an environment's rendered
manifests, so anyone can POST a manifest in an AdmissionReview with curl and see what the
cluster would answer. Both block until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from modelops.policy import ENGINES, PolicyEngineError

from modelops_plugins.admission.resources import MODELS, SERVERS, WEBHOOKS

if TYPE_CHECKING:
    from modelops.repository import Repository

    from modelops_plugins.admission.handlers import Readiness
    from modelops_plugins.admission.server import AdmissionServer
    from modelops_plugins.admission.verdict import Judge

DEFAULT_LISTEN = "0.0.0.0:8443"
LOCAL_LISTEN = "127.0.0.1:8443"


def register(verbs: Any) -> None:
    admission = verbs.add_parser(
        "admission", help="the admission webhook: run it in a cluster, or serve it locally",
        description="Validating admission webhook (kopf) enforcing policies/ on Seldon objects.")
    sub = admission.add_subparsers(dest="admission_verb", metavar="ACTION",
                                   parser_class=type(admission))
    sub.required = True

    run = sub.add_parser("run", help="run the operator in-cluster (the Deployment's command)")
    _common(run, DEFAULT_LISTEN)
    run.set_defaults(handler=_run, needs_repo=False)

    serve = sub.add_parser(
        "serve", help="serve the webhook locally, judging against an environment's rendered "
        "manifests", description="Local mode: the same operator and endpoint, with "
        "environments/ENV/rendered/ as the cluster. POST an AdmissionReview to "
        + ", ".join(w.path for w in WEBHOOKS) + ".")
    serve.add_argument("--env", required=True, metavar="ENV", help="environment to load")
    _common(serve, LOCAL_LISTEN)
    serve.set_defaults(handler=_serve)


def _common(parser: argparse.ArgumentParser, listen: str) -> None:
    parser.add_argument("--listen", default=listen, metavar="HOST:PORT",
                        help=f"HTTPS address (default {listen})")
    parser.add_argument("--tls-cert", required=True, type=Path, metavar="FILE",
                        help="PEM certificate (chain) the endpoint presents")
    parser.add_argument("--tls-key", required=True, type=Path, metavar="FILE",
                        help="PEM private key of the certificate")
    parser.add_argument("--policies", type=Path, metavar="DIR",
                        help="policy library (default: <repo>/policies)")
    parser.add_argument("--engine", choices=ENGINES, default="regorus",
                        help="in-process Rego engine (default regorus, which holds each "
                             "namespace across reviews; opa is OPA's own)")
    parser.add_argument("--policy-workers", type=int, default=2, metavar="N",
                        help="evaluate reviews in N worker processes (0: on the event loop; "
                             "default 2)")
    parser.add_argument("--policy-split", action="append", default=[], metavar="P1,P2",
                        type=policy_group,
                        help="judge each review in parallel: one worker evaluates these "
                             "policies, another the rest (repeatable; --policy-workers must "
                             "be a multiple of the groups + 1); once reviews queue, each "
                             "worker judges the oldest whole")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def policy_group(value: str) -> tuple[str, ...]:
    """`--policy-split overcommit,probe-windows` -> ("overcommit", "probe-windows")."""
    return tuple(name for name in value.split(",") if name)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen {value!r}: expected HOST:PORT, e.g. {LOCAL_LISTEN}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _prepare(args: argparse.Namespace,
             root: Path) -> tuple[Judge, Readiness, tuple[str, int]]:
    from modelops_plugins.admission.handlers import Readiness
    from modelops_plugins.admission.verdict import Judge

    # `modelops` turns the cyclic GC off for its short batch runs; this process runs for days.
    gc.enable()
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for path in (args.tls_cert, args.tls_key):
        if not path.is_file():
            raise UsageError(f"{path}: no such file (--tls-cert/--tls-key)")
    address = parse_listen(args.listen)
    try:
        judge = Judge.load(args.policies or root / "policies", args.engine,
                           args.policy_workers, args.policy_split)
    except PolicyEngineError as exc:
        raise UsageError(f"the policy library does not compile: {exc}") from exc
    return judge, Readiness(freeze_heap=True), address


def _run(args: argparse.Namespace) -> int:
    from modelops_plugins.admission import operator
    from modelops_plugins.admission.server import AdmissionServer

    # Outside a checkout (the webhook's Deployment) the policies come from --policies or the
    # working directory.
    judge, readiness, (host, port) = _prepare(args, (args.repo or Path.cwd()).resolve())

    async def main() -> AdmissionServer:
        server = AdmissionServer(host, port, args.tls_cert, args.tls_key, readiness)
        try:
            await operator.run(operator.build_registry(judge, readiness), server)
        finally:
            judge.close()
        return server

    return _exit(asyncio.run(main()), args.listen)


def _serve(args: argparse.Namespace, repo: Repository) -> int:
    from modelops_plugins.admission import operator
    from modelops_plugins.admission.local import LocalCluster, indexed_objects, read_rendered
    from modelops_plugins.admission.server import AdmissionServer

    name = repo.select([args.env])[0]
    objects = read_rendered(repo.rendered_dir(name))
    judge, readiness, (host, port) = _prepare(args, repo.root)
    kinds = [resource.kind for resource, _ in indexed_objects(objects)]
    print(f"admission: environment {name}: {kinds.count(MODELS.kind)} Models, "
          f"{kinds.count(SERVERS.kind)} Servers from {repo.relative(repo.rendered_dir(name))}; "
          f"policies: {', '.join(judge.policies)}", file=sys.stderr)

    async def main() -> AdmissionServer:
        server = AdmissionServer(host, port, args.tls_cert, args.tls_key, readiness)
        async with LocalCluster(objects) as local:
            registry = operator.build_registry(judge, readiness, login=local.login)
            announce = asyncio.create_task(_announce(server, args.tls_cert))
            try:
                await operator.run(registry, server, emulated=True)
            finally:
                announce.cancel()
        return server

    return _exit(asyncio.run(main()), args.listen)


async def _announce(server: AdmissionServer, cert: Path) -> None:
    await server.readiness.indexed.wait()
    await server.listening.wait()
    assert server.address is not None
    host, port = server.address
    print(f"admission: ready at https://{host}:{port}; try:\n"
          f"  curl --cacert {cert} -H 'Content-Type: application/json' "
          f"--data @review.json https://{host}:{port}{WEBHOOKS[0].path}", file=sys.stderr)


def _exit(server: AdmissionServer, listen: str) -> int:
    if server.address is None:
        print(f"modelops: admission: the webhook never listened on {listen} (see the log "
              "above)", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return EXIT_OK
