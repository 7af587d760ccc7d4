"""The `history`, `rollback` and `promote` verbs: argument parsing and output only.

The work is in `history`, `rollback` and `promote`; this module turns arguments into calls and
results into the few lines an on-call engineer reads. Exit codes follow the CLI's contract:
0 done (or nothing to do), 1 the operation failed and the repository is unchanged, 2 the
request itself is wrong (unknown model, dirty tree, URI not in the history).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelops.errors import EXIT_CHECK_FAILED, EXIT_OK

if TYPE_CHECKING:
    from modelops.gitops.change import Outcome
    from modelops.repository import Repository


def register(verbs: Any) -> None:
    history = verbs.add_parser("history", help="a model's artifact URIs over time, newest first")
    history.add_argument("env", metavar="ENV")
    history.add_argument("model", metavar="MODEL")
    history.add_argument("--json", action="store_true", help="print JSON (one list)")
    history.set_defaults(handler=_history)

    back = verbs.add_parser("rollback", help="deploy a model's earlier artifact: git revert "
                            "of the commit that changed it")
    back.add_argument("env", metavar="ENV")
    back.add_argument("model", metavar="MODEL")
    which = back.add_mutually_exclusive_group()
    which.add_argument("--steps", type=int, metavar="N",
                       help="go back N artifact changes (default 1)")
    which.add_argument("--to", metavar="URI", help="go back to this earlier artifact URI")
    back.add_argument("--no-revert", action="store_true",
                      help="restore the URI and re-render in a new commit instead of "
                           "reverting (for when a later change conflicts with the revert)")
    back.set_defaults(handler=_rollback)

    prom = verbs.add_parser("promote", help="bring models' artifacts (or new models) from one "
                            "environment to another, as the target's spec.promotion maps "
                            "them; re-render; one commit")
    prom.add_argument("models", nargs="+", metavar="MODEL")
    prom.add_argument("--from", dest="source", required=True, metavar="ENV")
    prom.add_argument("--to", dest="target", required=True, metavar="ENV")
    prom.set_defaults(handler=_promote)


Handler = Callable[[argparse.Namespace, "Repository"], int]


def _failures_reported(handler: Handler) -> Handler:
    """A failed git command or file read is a one-line error and exit 1, never a traceback;
    the operations themselves leave the repository as they found it."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace, repo: Repository) -> int:
        from modelops.gitops.git import GitError
        from modelops.gitops.workspace import GitOpsError

        try:
            return handler(args, repo)
        except (GitOpsError, GitError) as exc:
            print(f"modelops: error: {exc}", file=sys.stderr)
        except OSError as exc:
            print(f"modelops: error: {exc.filename or ''}: {exc.strerror or exc}",
                  file=sys.stderr)
        return EXIT_CHECK_FAILED
    return run


@_failures_reported
def _history(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.gitops.history import artifact_history, artifact_uri, format_table, spec_path
    from modelops.gitops.rollback import model_file
    from modelops.gitops.workspace import Workspace

    ws = Workspace.open(repo)
    path = model_file(ws, args.env, args.model)
    changes = artifact_history(ws.git, spec_path(ws.prefix, args.env, args.model))
    current = artifact_uri(path.read_bytes())
    if args.json:
        entries = [c.entry(i == 0 and c.uri == current) for i, c in enumerate(changes)]
        json.dump(entries, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not changes:
        print(f"{args.env}/{args.model}: no committed history yet")
    else:
        print(format_table(args.env, args.model, changes, current))
    return EXIT_OK


def _report(outcome: Outcome, extra: list[str]) -> None:
    print(*extra, sep="\n")
    print(f"  new commit {outcome.commit[:12]} {outcome.subject}")
    for path in outcome.files:
        print(f"    {path}")
    print("Push it; Argo CD syncs what the branch says.")


@_failures_reported
def _rollback(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.gitops.rollback import knative_revision_note, plan_rollback, rollback
    from modelops.gitops.workspace import Workspace

    ws = Workspace.open(repo)
    before = ws.require_clean()
    plan = plan_rollback(ws, args.env, args.model, steps=args.steps, to=args.to)
    outcome = rollback(ws, plan, before, revert=not args.no_revert)
    how = "reverted" if outcome.subject.startswith("Revert") else "undid (URI only)"
    note = knative_revision_note(repo, plan.env, plan.model)
    _report(outcome, [f"Rolled back {plan.label}: {plan.current} -> {plan.target}"] +
            [f"  {how} {c.short} {c.subject}" for c in plan.undo] +
            ([f"Note: {note}"] if note else []))
    return EXIT_OK


@_failures_reported
def _promote(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.gitops.promote import promote
    from modelops.gitops.workspace import Workspace

    ws = Workspace.open(repo)
    before = ws.require_clean()
    outcome, steps = promote(ws, before, args.models, args.source, args.target)
    if outcome is None:
        print(f"{args.target} already runs the {args.source} artifact of "
              f"{', '.join(args.models)}; nothing to do")
        return EXIT_OK
    moved = {s.model for s in steps}
    _report(outcome, [f"Promoted from {args.source} to {args.target}:"]
            + [f"  {s.model}: {s.previous or '(new model)'} -> {s.uri}" for s in steps]
            + [f"  {m}: already current" for m in dict.fromkeys(args.models) if m not in moved])
    return EXIT_OK
