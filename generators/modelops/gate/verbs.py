"""The `policy`, `plan` and `check` verbs: argument parsing and exit codes only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.crds import add_crds_argument, crd_directory
from modelops.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from modelops.policy.engine import ENGINES
from modelops.policy.library import PolicyLibrary

if TYPE_CHECKING:
    from modelops.repository import Repository

POLICY_DIR = "policies"


def register(verbs: Any) -> None:
    policy = verbs.add_parser("policy", help="evaluate the Rego policies on rendered manifests "
                              "or on given files (like `conftest test`)")
    policy.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help="manifests to judge (multi-document YAML); with --env, as part "
                             "of that environment, else on their own")
    policy.add_argument("--env", action="append", metavar="ENV",
                        help="environment (repeatable; default: all)")
    policy.add_argument("--test", action="store_true",
                        help="run the policies' own unit tests (policy_test.rego) instead")
    policy.add_argument("--coverage", action="store_true",
                        help="with --test: report which lines the tests cover, as "
                             "`opa test --coverage` does")
    policy.add_argument("--format", choices=("text", "json"), default="text")
    _engine_arguments(policy)
    policy.set_defaults(handler=_policy)

    plan = verbs.add_parser("plan", help="simulate Seldon's scheduler: capacity, load, "
                            "headroom and unschedulable models per pool; KServe models' pods "
                            "against spec.kserve.capacity")
    plan.add_argument("--env", action="append", metavar="ENV")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.set_defaults(handler=_plan)

    check = verbs.add_parser("check", help="render check, strict validation, policies and "
                             "plan in one report (what CI gates on)")
    check.add_argument("--base", metavar="REF",
                       help="check only what changed since this git ref and summarise it")
    check.add_argument("--env", action="append", metavar="ENV")
    check.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    check.add_argument("--output", type=Path, metavar="FILE",
                       help="also write the report to FILE (e.g. the PR comment)")
    add_crds_argument(check)
    _engine_arguments(check)
    check.set_defaults(handler=_check)


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default="regorus",
                        help="in-process Rego engine (default: regorus; opa is OPA's own)")
    parser.add_argument("--opa-url", metavar="URL",
                        help="evaluate on an OPA server instead (e.g. http://127.0.0.1:8181)")


def _engine(args: argparse.Namespace, repo: Repository) -> Any:
    from modelops.policy import create_engine

    return create_engine(PolicyLibrary.load(repo.root / POLICY_DIR), args.engine, args.opa_url)


def _policy(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.gate.manifests import read_files, read_rendered
    from modelops.policy import Finding, build_input

    if args.test:
        if args.files or args.env:
            raise UsageError("--test runs the policies' unit tests; it takes no FILE or --env")
        return _policy_tests(PolicyLibrary.load(repo.root / POLICY_DIR), args.coverage,
                             args.format)
    if args.coverage:
        raise UsageError("--coverage goes with --test")
    engine = _engine(args, repo)
    findings: list[Finding] = []
    judged = 0
    if args.files:
        objects = read_files(args.files)
        judged = len(objects)
        if args.env:
            for name in repo.select(args.env):
                context = list(read_rendered(repo, name).values())
                findings += engine.evaluate(build_input(objects, context))
        else:
            findings += engine.evaluate(build_input(objects))
    else:
        for name in repo.select(args.env):
            objects = list(read_rendered(repo, name).values())
            judged += len(objects)
            findings += engine.evaluate(build_input(objects))
    denies = sum(f.severity == "deny" for f in findings)
    if args.format == "json":
        print(json.dumps({"judged": judged, "findings": [f.as_json() for f in findings]},
                         indent=2))
    else:
        for finding in findings:
            print(finding)
        print(f"{judged} object(s), {denies} deny, {len(findings) - denies} warn "
              f"({engine.name})")
    return EXIT_CHECK_FAILED if denies else EXIT_OK


def _policy_tests(library: PolicyLibrary, coverage: bool, output: str) -> int:
    """Every test_* rule on OPA (the reference) and on regorus: a test passes when both say
    true, and a test the two judge differently is reported with both answers."""
    from modelops.policy.engine import OpaEngine, RegorusEngine

    opa = OpaEngine(library, with_tests=True)
    # Coverage traces every evaluation step, so it is collected only when asked for.
    reference, report = opa.run_tests_with_coverage() if coverage else (opa.run_tests(), {})
    other = {(r.file, r.name): r for r in RegorusEngine(library, with_tests=True).run_tests()}
    failed = 0
    lines = []
    for result in reference:
        second = other[(result.file, result.name)]
        if result.passed and second.passed:
            lines.append(f"PASS {result.file} {result.name}")
            continue
        failed += 1
        if result.passed != second.passed:
            lines.append(f"DISAGREE {result.file} {result.name}: opa "
                         f"{_test_answer(result)}, regorus {_test_answer(second)}")
        else:
            lines.append(f"FAIL {result.file} {result.name}: {result.detail}")
    if output == "json" and coverage:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(lines))
        if coverage:
            for path, entry in report["files"].items():
                print(f"coverage {entry.get('coverage', 0):6.2f}% {path}")
            lines_in_all = report["covered_lines"] + report["not_covered_lines"]
            print(f"coverage {report['coverage']:6.2f}% of {lines_in_all} line(s) in all")
        print(f"{len(reference) - failed} passed, {failed} failed (opa and regorus)")
    return EXIT_CHECK_FAILED if failed or not reference else EXIT_OK


def _test_answer(result: Any) -> str:
    return "passes" if result.passed else f"fails ({result.detail})"


def _plan(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.gate.manifests import is_context, read_rendered
    from modelops.plan import failures, format_text, plan_objects

    reports = [plan_objects(name, read_rendered(repo, name, is_context).values())
               for name in repo.select(args.env)]
    if args.format == "json":
        print(json.dumps(reports, indent=2))
    else:
        sys.stdout.write(format_text(reports))
    return EXIT_CHECK_FAILED if any(failures(r) for r in reports) else EXIT_OK


def _check(args: argparse.Namespace, repo: Repository) -> int:
    from modelops.gate import summary
    from modelops.gate.check import run_check

    report = run_check(repo, repo.select(args.env), crd_directory(args.crds),
                       _engine(args, repo), args.base)
    formatter = {"text": summary.format_text, "json": summary.format_json,
                 "markdown": summary.format_markdown}[args.format]
    text = formatter(report)
    sys.stdout.write(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return EXIT_CHECK_FAILED if report.failed else EXIT_OK
