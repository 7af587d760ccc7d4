"""The policy library on disk: `policies/<name>/` folders plus shared helpers in `policies/lib/`.

Each policy folder holds `policy.rego` (package `modelops_policy_<name with _>`, declaring the
kinds it judges as `judges := {"Model", ...}`),
`policy_test.rego`, `samples/allowed/*.yaml`, `samples/disallowed/*.yaml` and a README. Loading
checks the package name, so a copied folder with a stale package cannot shadow another policy.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from modelops.errors import UsageError
from modelops.policy.held import held_module

# Packages are one segment deep (`modelops_policy_overcommit`, `modelops_lib`); the prefix keeps
# them apart from other packages.
PACKAGE_PREFIX = "modelops_policy_"
LIB_DIR = "lib"
POLICY_FILE = "policy.rego"
TEST_SUFFIX = "_test.rego"
# Where an engine that evaluates rules faster than queries keeps verdict_query (verdict_module).
VERDICT_PACKAGE = "modelops_verdict"
VERDICT_RULE = f"data.{VERDICT_PACKAGE}.verdict"
# The generated module that runs every test_* rule in one evaluation (`test_module`).
TEST_RUN_PACKAGE = "modelops_test_run"
TEST_RUN_RULE = f"data.{TEST_RUN_PACKAGE}.passed"
_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]+)\s+if\b", re.MULTILINE)
_PACKAGE = re.compile(r"^package\s+([A-Za-z0-9_.]+)", re.MULTILINE)
# `judges := {"Model", "Server"}`: the kinds of object a policy reports on, as a literal set that
# is read here (like a Gatekeeper constraint's match.kinds), so that the verdict for a review of
# one kind leaves out the policies that never judge it (`verdict_rule`).
_JUDGES = re.compile(r"^judges\s*:=\s*\{([^{}]*)\}[ \t]*$", re.MULTILINE)
_KIND = re.compile(r'^"([A-Z][A-Za-z0-9]*)"$')
LIB_ALIAS = "lib"   # policies import `data.modelops_lib as lib` (policies/README.md)
LIB_PACKAGE = "modelops_lib"
# A rule (not a function) defined by a helper module: `name :=`, `name contains`, `name if`.
_RULE_HEAD = re.compile(r"^([a-z_][a-z0-9_]*)\s*(?::=|=|contains\b|if\b)", re.MULTILINE)


def _defines(source: str, rule: str) -> bool:
    return re.search(rf"^{rule}\s+contains\b", source, re.MULTILINE) is not None


def package_of(source: str) -> str:
    match = _PACKAGE.search(source)
    return match.group(1) if match else ""


def judges_of(source: str, path: Path) -> frozenset[str]:
    """The kinds in a policy's `judges := {...}`; UsageError when it is missing or not literal."""
    match = _JUDGES.search(source)
    if match is None:
        raise UsageError(f'{path}: declare the kinds the policy reports on, as a literal set: '
                         f'judges := {{"Model", "Server"}}')
    kinds = set()
    for item in (i.strip() for i in match.group(1).split(",")):
        kind = _KIND.match(item)
        if kind is None:
            raise UsageError(f'{path}: judges lists kinds as quoted names ("Model"), '
                             f'not {item or "nothing"}')
        kinds.add(kind.group(1))
    return frozenset(kinds)


class PolicyTest(NamedTuple):
    """One `test_*` rule of a *_test.rego file."""

    file: str      # display path, as `modules` names it
    package: str
    rule: str

    @property
    def ref(self) -> str:
        """`<package>.<rule>`: its path under `data`, and its name in the test run."""
        return f"{self.package}.{self.rule}"


@dataclass(frozen=True)
class Policy:
    name: str
    directory: Path
    package: str
    source: str
    judges: frozenset[str]   # the kinds of object it reports on (`judges` in policy.rego)

    @property
    def segment(self) -> str:
        """The package less PACKAGE_PREFIX: the key of this policy in the verdict."""
        return self.package.removeprefix(PACKAGE_PREFIX)

    @property
    def tests(self) -> tuple[Path, ...]:
        return tuple(sorted(self.directory.glob(f"*{TEST_SUFFIX}")))

    def samples(self, verdict: str) -> tuple[Path, ...]:
        """`samples/allowed` or `samples/disallowed` manifests, sorted."""
        folder = self.directory / "samples" / verdict
        return tuple(sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]))


@dataclass(frozen=True)
class PolicyLibrary:
    root: Path
    policies: tuple[Policy, ...]
    helpers: tuple[tuple[str, str], ...]   # (display path, source) of policies/lib/*.rego

    @classmethod
    def load(cls, root: Path) -> PolicyLibrary:
        if not root.is_dir():
            raise UsageError(f"no policy library at {root}")
        policies = []
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            if directory.name == LIB_DIR or directory.name.startswith("."):
                continue
            path = directory / POLICY_FILE
            if not path.is_file():
                raise UsageError(f"{directory}: a policy folder needs {POLICY_FILE}")
            source = path.read_text(encoding="utf-8")
            expected = PACKAGE_PREFIX + directory.name.replace("-", "_")
            if package_of(source) != expected:
                raise UsageError(f"{path}: package must be {expected}, "
                                 f"not {package_of(source) or 'missing'}")
            policies.append(Policy(directory.name, directory, expected, source,
                                   judges_of(source, path)))
        helpers = tuple((cls._display(root, p), p.read_text(encoding="utf-8"))
                        for p in sorted((root / LIB_DIR).glob("*.rego"))
                        if not p.name.endswith(TEST_SUFFIX))
        return cls(root, tuple(policies), helpers)

    @staticmethod
    def _display(root: Path, path: Path) -> str:
        return f"{root.name}/{path.relative_to(root)}"

    def modules(self, with_tests: bool = False) -> list[tuple[str, str]]:
        """(display path, source) of every module to compile, helpers first.

        A read of a helper rule through the import alias (`lib.models`) is given to the engines
        as the rule's full path (`data.modelops_lib.models`): the same rule, but regorus then
        evaluates just that rule instead of every rule of the helper package, so each policy
        (and each share of a split review) computes only the helpers it reads.
        """
        modules = list(self.helpers)
        modules += [(self._display(self.root, p.directory / POLICY_FILE), p.source)
                    for p in self.policies]
        if with_tests:
            modules += self._test_sources
        return [(path, self._with_rule_paths(source)) for path, source in modules]

    @cached_property
    def _test_sources(self) -> list[tuple[str, str]]:
        """(display path, source) of every *_test.rego, read once."""
        return [(self._display(self.root, t), t.read_text(encoding="utf-8"))
                for t in sorted(self.root.glob(f"**/*{TEST_SUFFIX}"))]

    @cached_property
    def _lib_rule_read(self) -> re.Pattern[str] | None:
        names = sorted({name for _, source in self.helpers
                        for name in _RULE_HEAD.findall(source)}, key=len, reverse=True)
        if not names:
            return None
        return re.compile(rf"\b{LIB_ALIAS}\.({'|'.join(names)})\b(?!\s*\()")

    def _with_rule_paths(self, source: str) -> str:
        pattern = self._lib_rule_read
        return source if pattern is None else pattern.sub(rf"data.{LIB_PACKAGE}.\1", source)

    def verdict_rules(self) -> list[str]:
        """Every rule of the verdict module: VERDICT_RULE, then one per judged kind."""
        return [VERDICT_RULE, *(f"{VERDICT_RULE}_{kind}" for kind in self.kinds)]

    def generated_modules(self, with_tests: bool = False) -> list[tuple[str, str]]:
        """The modules an engine compiles besides `modules`: the verdict, the held-context
        wrapper of modelops.policy.held and, with the tests, the rule that runs them all."""
        tests = [self.test_module()] if with_tests else []
        return [self.verdict_module(), held_module(self.verdict_rules()), *tests]

    def verdict_query(self, kind: str | None = None) -> str:
        """One Rego query for every policy's deny and warn sets, and nothing else; with `kind`,
        for the policies that judge that kind only.

        Only these: asking for whole packages would also compute and serialise every helper
        rule (objects, lookups): slower, and regopy 1.5.2 emits broken JSON for some of them.
        """
        fields = []
        for policy in self.policies:
            if kind is not None and kind not in policy.judges:
                continue
            rules = [f'"{rule}": data.{policy.package}.{rule}'
                     for rule in ("deny", "warn") if _defines(policy.source, rule)]
            fields.append(f'"{policy.segment}": {{{", ".join(rules)}}}')
        # A line per policy: regorus refuses source lines over 1,024 columns.
        return "{\n  " + ",\n  ".join(fields) + "\n}"

    def verdict_module(self) -> tuple[str, str]:
        """`verdict_query` as the rule VERDICT_RULE of a generated module (path, source), and
        the verdict for each judged kind as `verdict_rule(kind)`.

        For regorus: it parses and compiles a query on every evaluation, a rule only once.
        """
        rules = [f"verdict := {self.verdict_query()}\n"]
        rules += [f"verdict_{kind} := {self.verdict_query(kind)}\n" for kind in self.kinds]
        return (f"<generated>/{VERDICT_PACKAGE}.rego",
                f"package {VERDICT_PACKAGE}\n\n" + "\n".join(rules))

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """Every kind some policy judges, sorted (computed once: `verdict_rule` asks per review)."""
        return tuple(sorted({kind for policy in self.policies for kind in policy.judges}))

    def verdict_rule(self, kind: str | None = None) -> str | None:
        """The verdict module's rule for reviews of `kind` (None: of anything); None when no
        policy judges that kind, so there is nothing to evaluate."""
        if kind is None:
            return VERDICT_RULE
        return f"{VERDICT_RULE}_{kind}" if kind in self.kinds else None

    def only(self, names: Collection[str]) -> PolicyLibrary:
        """The same library with just these policies (and every helper): a smaller query."""
        unknown = set(names) - {p.name for p in self.policies}
        if unknown:
            raise UsageError(f"no policy {', '.join(sorted(unknown))}; policies: "
                             f"{', '.join(p.name for p in self.policies)}")
        return replace(self, policies=tuple(p for p in self.policies if p.name in names))

    def names_by_segment(self) -> dict[str, str]:
        return {p.segment: p.name for p in self.policies}

    def judges_by_segment(self) -> dict[str, frozenset[str]]:
        return {p.segment: p.judges for p in self.policies}

    def policy(self, name: str) -> Policy:
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise UsageError(f"no policy {name!r}; policies: "
                         f"{', '.join(p.name for p in self.policies)}")

    def tests(self) -> list[PolicyTest]:
        """Every `test_*` rule of the *_test.rego modules, in module order."""
        return [PolicyTest(path, package_of(source), rule)
                for path, source in self.modules(with_tests=True)
                if path.endswith(TEST_SUFFIX)
                for rule in _TEST_RULE.findall(source)]

    def test_module(self) -> tuple[str, str]:
        """A generated module whose rule TEST_RUN_RULE is the set of the tests that pass
        (`<package>.<rule>` of each true `test_*` rule): one evaluation runs them all."""
        lines = [f'passed contains "{t.ref}" if data.{t.ref}\n' for t in self.tests()]
        return (f"<generated>/{TEST_RUN_PACKAGE}.rego",
                f"package {TEST_RUN_PACKAGE}\n\nimport rego.v1\n\n" + "".join(lines))
