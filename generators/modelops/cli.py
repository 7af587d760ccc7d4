"""`modelops`: the single entry point. `modelops --help` lists every verb.

Verbs of this package are registered here; plugin packages add theirs through the
`modelops.verbs` entry-point group (a callable taking the argparse subparsers object), so the
generators never import the plugins. Every verb returns an exit code: 0 ok, 1 a check failed,
2 bad input or usage. Errors a user can cause print as `path:line:col: field: message`; no
traceback reaches the terminal unless MODELOPS_DEBUG=1.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

from modelops.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, InputError, UsageError
from modelops.repository import Repository

Handler = Callable[[argparse.Namespace, Repository], int]
CRD_DIR_VARIABLE = "MODELOPS_CRD_DIR"
# Verb groups of this package that live in their own module: each has `register(verbs)`, which
# adds its subparsers and sets `handler` (a Handler) as the default.
BUILTIN_VERB_MODULES: tuple[str, ...] = ("modelops.gate.verbs", "modelops.gitops.verbs")


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

    render = verbs.add_parser("render", help="render specs into environments/<env>/rendered/")
    render.add_argument("--env", action="append", metavar="ENV",
                        help="only this environment (repeatable)")
    render.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 with a diff if committed output is stale")
    render.set_defaults(handler=_render)

    validate = verbs.add_parser("validate", help="strictly validate every rendered object")
    validate.add_argument("--crds", type=Path, metavar="DIR",
                          help=f"CustomResourceDefinition YAMLs (default: ${CRD_DIR_VARIABLE})")
    validate.add_argument("--env", action="append", metavar="ENV",
                          help="only this environment (repeatable)")
    validate.set_defaults(handler=_validate)

    explain = verbs.add_parser("explain", help="where each rendered field of a model comes from")
    explain.add_argument("env", metavar="ENV")
    explain.add_argument("model", metavar="MODEL")
    explain.add_argument("--field", metavar="PATH",
                         help="only this field (and those under it), e.g. spec.memory")
    explain.add_argument("--format", choices=("text", "json"), default="text")
    explain.set_defaults(handler=_explain)

    for module in BUILTIN_VERB_MODULES:
        importlib.import_module(module).register(verbs)
    for entry in sorted(entry_points(group="modelops.verbs"), key=lambda e: e.name):
        entry.load()(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A run builds a few hundred thousand long-lived objects and no garbage cycles worth
    # collecting; the cyclic collector rescanning them doubled render time at 1,000 models.
    gc.disable()
    try:
        args = build_parser().parse_args(argv)
        handler: Handler = args.handler
        if not getattr(args, "needs_repo", True):
            # Verbs that also run outside a checkout (the smoke test in its PostSync Job)
            # set needs_repo=False and call Repository.discover themselves when they need it.
            return handler(args, Repository((args.repo or Path.cwd()).resolve()))
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


def _render(args: argparse.Namespace, repo: Repository) -> int:
    from modelops import render, schemas

    names = repo.select(args.env)
    envs = repo.load_environments(names)
    schema_dir = repo.root / schemas.SCHEMA_DIR
    if args.check:
        drifts = render.check_environments(repo, envs)
        drifts += render.compare_files(repo.relative(schema_dir), schemas.schema_files(),
                                       render.read_tree(schema_dir))
        for drift in drifts:
            sys.stdout.write(drift.diff)
        if drifts:
            print(f"modelops: {len(drifts)} file(s) differ from what the specs render; run "
                  "`make render` and commit the result", file=sys.stderr)
            return EXIT_CHECK_FAILED
        print(f"rendered output is current: {', '.join(names)}")
        return EXIT_OK
    counts = render.write_environments(repo, envs)
    schema_dir.mkdir(parents=True, exist_ok=True)
    for filename, content in schemas.schema_files().items():
        render.write_if_changed(schema_dir / filename, content)
    for name, count in counts.items():
        print(f"{name}: {count} objects -> {repo.relative(repo.rendered_dir(name))}")
    return EXIT_OK


def crd_directory(given: Path | None) -> Path:
    """`--crds DIR`, else $MODELOPS_CRD_DIR: where the CRD schemas for strict validation are."""
    if given is not None:
        return given
    if os.environ.get(CRD_DIR_VARIABLE):
        return Path(os.environ[CRD_DIR_VARIABLE])
    raise UsageError(f"no CRD directory: pass --crds DIR or set {CRD_DIR_VARIABLE} "
                     "(export your cluster's with `kubectl get crd -o yaml > crds.yaml`)")


def _validate(args: argparse.Namespace, repo: Repository) -> int:
    from modelops import checks

    findings, count = checks.validate_rendered(repo, repo.select(args.env),
                                               crd_directory(args.crds))
    for finding in findings:
        print(finding)
    if findings:
        print(f"modelops: {len(findings)} schema problem(s) in {count} objects", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"{count} objects valid (strict)")
    return EXIT_OK


def _explain(args: argparse.Namespace, repo: Repository) -> int:
    from modelops import explain

    env = repo.load_environment(repo.select([args.env])[0])
    model = env.model(args.model)
    if model is None:
        raise UsageError(f"no model {args.model!r} in environment {env.name!r}; models: "
                         f"{', '.join(m.name for m in env.models)}")
    objects = explain.explain_model(env, model)
    if args.field is not None:
        objects = explain.select_field(objects, args.field)
    formatter = explain.format_json if args.format == "json" else explain.format_text
    sys.stdout.write(formatter(model.name, env.name, model.doc.display, objects) + (
        "" if args.format == "json" else "\n"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
