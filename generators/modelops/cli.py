"""`modelops`: the single entry point. `modelops --help` lists every verb.

This module holds only the parser, `main` and the error handling. Every verb group, this
package's and the plugins' alike, is a module with one `register(verbs)` function (taking the
argparse subparsers object; it adds its subparsers and sets `handler`) named in the
`modelops.verbs` entry-point group of pyproject.toml. So the generators never import the
plugins, and no verb module imports this one. Every verb returns an exit code: 0 ok, 1 a check
failed, 2 bad input or usage. Errors a user can cause print as `path:line:col: field: message`;
no traceback reaches the terminal unless MODELOPS_DEBUG=1.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, InputError, UsageError

if TYPE_CHECKING:
    from modelops.repository import Repository

Handler = Callable[[argparse.Namespace, "Repository"], int]
VERB_GROUP = "modelops.verbs"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelops", description="Model specs in, Seldon Core 2 and Argo CD "
                     "manifests out.")
    parser.add_argument("--repo", type=Path, metavar="DIR",
                        help="repository to work on (default: git top level of the cwd)")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.required = True

    for entry in verb_entries():
        entry.load()(verbs)
    return parser


def verb_entries() -> list[EntryPoint]:
    """The registered verb groups in `--help` order: this package's first, then the plugins',
    each by entry-point name."""
    return sorted(entry_points(group=VERB_GROUP),
                  key=lambda e: (not e.value.startswith("modelops."), e.name))


def main(argv: Sequence[str] | None = None) -> int:
    # A run builds many long-lived objects and no garbage cycles worth collecting; the cyclic
    # collector would only rescan them (`make bench SUITE=render` shows the cost).
    gc.disable()
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "needs_repo", True):
            # Verbs that also run outside a checkout (the smoke test in its PostSync Job, a
            # batch run in its CronJob) set needs_repo=False: they get their arguments only
            # and discover the repository themselves when they need it, so they start
            # without loading the spec models.
            standalone: Callable[[argparse.Namespace], int] = args.handler
            return standalone(args)
        from modelops.repository import Repository

        handler: Handler = args.handler
        return handler(args, Repository.discover(args.repo))
    except InputError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"modelops: {len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        print(f"modelops: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("MODELOPS_DEBUG"):
            raise
        print(f"modelops: internal error: {type(exc).__name__}: {exc} "
              "(rerun with MODELOPS_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_CHECK_FAILED


if __name__ == "__main__":
    sys.exit(main())
