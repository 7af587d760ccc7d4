"""The `env` verb group: argument parsing and output only; the work is in `create`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_OK

if TYPE_CHECKING:
    from modelops.repository import Repository


def register(verbs: Any) -> None:
    env = verbs.add_parser("env", help="add an environment")
    actions = env.add_subparsers(dest="env_verb", metavar="ACTION")
    actions.required = True
    new = actions.add_parser(
        "new", help="write environments/NAME/environment.yaml from an existing environment's",
        description="Copy EXISTING's environment.yaml with a new name, namespace and cluster; "
        "then `make render` writes everything Argo CD needs.")
    new.add_argument("name", metavar="NAME", help="the new environment (a DNS-1123 label)")
    new.add_argument("--from", dest="source", required=True, metavar="EXISTING",
                     help="environment whose pools, limits and settings to start from")
    new.add_argument("--namespace", required=True, metavar="NS",
                     help="the new environment's model namespace")
    new.add_argument("--cluster", required=True, metavar="NAME=URL",
                     help="its cluster: a name and the server URL Argo CD knows it by")
    new.add_argument("--with-models", action="store_true",
                     help="also copy EXISTING's model specs (default: none)")
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.envs.create import NewEnvironment, create_environment, parse_cluster

    cluster_name, cluster_server = parse_cluster(args.cluster)
    written = create_environment(repo, NewEnvironment(
        args.name, args.source, args.namespace, cluster_name, cluster_server, args.with_models))
    print(f"Created environment {args.name!r} from {args.source!r}:")
    for path in written:
        print(f"  {path}")
    print(f"Review what was copied from {args.source} (server pools, limits, "
          "spec.artifacts.allowedPrefixes, spec.promotion), then run `make render`: it renders "
          f"environments/{args.name}/rendered/ and the Argo CD project, and commit it all.")
    return EXIT_OK
