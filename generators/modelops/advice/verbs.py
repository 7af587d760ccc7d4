"""The `advise` verb: arguments and output only (the work is `modelops.advice.advise`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from modelops.repository import Repository


def register(verbs: Any) -> None:
    advise = verbs.add_parser("advise", help="which serving target (Seldon or KServe) suits a "
                              "model, with the rules that decide it; never fails a build")
    advise.add_argument("env", metavar="ENV")
    advise.add_argument("model", metavar="MODEL", nargs="?",
                        help="one model (default: every model of ENV, one line each)")
    advise.add_argument("--format", choices=("text", "json"), default="text")
    advise.set_defaults(handler=_advise)


def _advise(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.advice.advise import (
        advise_environment,
        format_json,
        format_summary,
        format_text,
    )

    env = repo.load_environment(repo.select([args.env])[0])
    advice = advise_environment(env)
    if args.model is not None:
        advice = [a for a in advice if a.facts.name == args.model]
        if not advice:
            raise UsageError(f"no model {args.model!r} in environment {env.name!r}; models: "
                             f"{', '.join(sorted(m.name for m in env.models)) or 'none'}")
    if args.format == "json":
        sys.stdout.write(format_json(advice))
    elif args.model is not None:
        sys.stdout.write(format_text(advice[0]))
    else:
        sys.stdout.write(format_summary(advice))
    return EXIT_OK
