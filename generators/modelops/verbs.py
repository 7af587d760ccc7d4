"""The `render`, `validate` and `explain` verbs: argument parsing and output only.

Registered like every other verb group, through the `modelops.verbs` entry-point group
(pyproject.toml). The work is imported inside each handler, so `modelops --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.crds import add_crds_argument, crd_directory
from modelops.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from modelops.repository import Repository


def register(verbs: Any) -> None:
    render = verbs.add_parser("render", help="render specs into environments/<env>/rendered/")
    render.add_argument("--env", action="append", metavar="ENV",
                        help="only this environment (repeatable)")
    render.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 with a diff if committed output is stale")
    render.set_defaults(handler=_render)

    validate = verbs.add_parser("validate", help="strictly validate every rendered object, "
                                "or the objects in given files")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE",
                          help="manifests to validate (multi-document YAML) instead of the "
                               "rendered environments")
    add_crds_argument(validate)
    validate.add_argument("--env", action="append", metavar="ENV",
                          help="only this environment (repeatable)")
    # Given files need no repository: they can be checked from anywhere.
    validate.set_defaults(handler=_validate, needs_repo=False)

    explain = verbs.add_parser("explain", help="where each rendered field of a model comes from")
    explain.add_argument("env", metavar="ENV")
    explain.add_argument("model", metavar="MODEL")
    explain.add_argument("--field", metavar="PATH",
                         help="only this field (and those under it), e.g. spec.memory")
    explain.add_argument("--format", choices=("text", "json"), default="text")
    explain.set_defaults(handler=_explain)


def _render(args: argparse.Namespace, repo: Repository) -> int:
    from modelops import argocd, kserve_runtimes, placeholders, platformvalues, render, schemas

    names = repo.select(args.env)
    envs = repo.load_environments(names)
    schema_dir = repo.root / schemas.SCHEMA_DIR
    # The Argo CD projects depend on every environment: rendered only when all are.
    projects = None if args.env else argocd.planned_files(repo)
    platform_files = platformvalues.planned_files(repo)
    runtime_files = kserve_runtimes.planned_files(repo)
    for warning in [*placeholders.placeholder_warnings(repo),
                    *repo.stale_promotion_sources(), *repo.deprecated_modes()]:
        print(f"warning: {warning}", file=sys.stderr)
    if args.check:
        drifts = render.check_environments(repo, envs)
        drifts += render.compare_files(repo.relative(schema_dir), schemas.schema_files(),
                                       render.read_tree(schema_dir))
        drifts += platformvalues.check_files(repo)
        drifts += kserve_runtimes.check_files(repo)
        if not args.env:
            drifts += argocd.check_projects(repo)
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
    if projects is not None:
        for path in argocd.write_projects(repo, projects):
            print(f"Argo CD: {path}")
    for path in platformvalues.write_files(repo, platform_files):
        print(f"organization.yaml: {path}")
    for path in kserve_runtimes.write_files(repo, runtime_files):
        print(f"KServe runtimes: {path}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from modelops import checks

    if args.files and args.env:
        raise UsageError("--env selects rendered environments; give FILEs or --env, not both")
    crd_dir = crd_directory(args.crds)
    if args.files:
        findings, count = checks.validate_files(args.files, crd_dir)
    else:
        from modelops.repository import Repository

        repo = Repository.discover(args.repo)
        findings, count = checks.validate_rendered(repo, repo.select(args.env), crd_dir)
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
