"""Policy engines: the same library evaluated in process (regorus, regopy) or by an OPA server.

One evaluation = one input document and one rule, the library's generated verdict
(`library.VERDICT_RULE`), which computes every policy's `deny` and `warn` sets in a single pass.
Modules are compiled once per engine.

OPA's own engine ("opa", its Go library in process) is the reference: the tests judge every
policy test, sample and rendered environment on it and on regorus, and any difference fails.
regorus (Microsoft's Rust engine, PyPI `gordon-to-regorus`) is the default for CI and the
admission plugin: it holds namespace contexts across reviews (`Context`). regopy stays
selectable; it is much slower and crashes the interpreter on `sprintf` inside a `with input as`
test, which every policy_test.rego uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from modelops.errors import UsageError
from modelops.policy.findings import Finding, findings_from_results
from modelops.policy.held import FACTS_RULE, held_rule
from modelops.policy.inputs import Manifest, PolicyInput
from modelops.policy.library import TEST_RUN_RULE, VERDICT_RULE, PolicyLibrary, PolicyTest

# regorus builds an `anyhow` error for many a failed lookup inside an evaluation, and with
# RUST_BACKTRACE=1 in the environment each one would capture a native stack. RUST_LIB_BACKTRACE
# governs library errors only (panics keep their backtraces); set it to 1 to see where an engine
# error came from.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")

# In-process engines. "opa" is OPA's own Go engine, the reference: the others must agree with it.
ENGINES = ("regorus", "opa", "regopy")
# How much a regorus engine holds before it drops every context it holds (Context): this many
# namespaces' contexts, or this much of their JSON text. A parsed context takes a few times its
# text and an admission worker process has two engines, so the byte budget is what keeps a
# cluster of large namespaces from growing the plugin past its memory limit
# (platform/admission/deployment.yaml).
HELD_CONTEXTS = 64
HELD_CONTEXT_BYTES = 8 * 1024 * 1024
_NO_INPUT: PolicyInput = {"environment": {}, "objects": [], "cluster": []}
_UNDEFINED = "<undefined>"   # what regorus's eval_rule gives for an undefined rule


class Context(NamedTuple):
    """What surrounds a review (its namespace), for an engine to hold across reviews.

    `text` is JSON: {"environment": <the Environment document>, "cluster": [...]} and, when
    precomputed, "cluster_facts" (one per object, as `cluster_facts` returns them). `id` names
    that text and nothing else (a digest of it). The input document that goes with it carries
    only `objects` and `"context": {"id": <id>, "skip": <index of the reviewed object's copy in
    the context, or -1>}`; generated Rego (modelops.policy.held) turns the two back into the
    input document. Why: a namespace's context changes far less often than reviews arrive, so
    the engine parses it once per change instead of once per review.
    """

    id: str
    text: str

    @classmethod
    def of(cls, text: str) -> Context:
        return cls(hashlib.blake2b(text.encode(), digest_size=16).hexdigest(), text)


def inline_context(context: Context, document: str) -> PolicyInput:
    """The input a `Context` and its document stand for, with its environment and cluster
    spelled out."""
    parsed = json.loads(document)
    where = parsed.pop("context")
    held = json.loads(context.text)
    parsed["environment"] = held.get("environment", {})
    parsed["cluster"] = [o for i, o in enumerate(held.get("cluster", [])) if i != where["skip"]]
    result: PolicyInput = parsed
    return result


class PolicyEngineError(UsageError):
    """The engine rejected a module or failed to evaluate: a broken policy, which the CLI reports
    as the library's error (exit 2), never as an internal one."""


class TestResult(NamedTuple):
    file: str
    name: str
    passed: bool
    detail: str


class PolicyEngine(ABC):
    name: str

    def __init__(self, library: PolicyLibrary) -> None:
        self.library = library
        self._segments = library.names_by_segment()
        self._judges = library.judges_by_segment()

    def evaluate(self, document: PolicyInput) -> list[Finding]:
        return self._findings(self.evaluate_raw(document))

    def evaluate_json(self, document: str) -> list[Finding]:
        """The same, for an input document already serialised as JSON (no Python objects)."""
        return self._findings(self.evaluate_raw_json(document))

    def evaluate_in_context(self, context: Context, document: str,
                            kind: str | None = None) -> list[Finding]:
        """The same, for a document that names its `Context` instead of carrying it.

        `kind`: the kind of the object under review. An engine may then leave out the policies
        that do not judge it (the regorus engine does); the findings are the same, as a policy
        that reports on a kind it does not judge is an error (findings_from_results).
        """
        return self.evaluate(inline_context(context, document))

    def _findings(self, results: Mapping[str, Any]) -> list[Finding]:
        try:
            return findings_from_results(results, self._segments, self._judges)
        except ValueError as exc:
            raise PolicyEngineError(str(exc)) from exc

    @abstractmethod
    def evaluate_raw(self, document: PolicyInput) -> Mapping[str, Any]:
        """The verdict for this input: {policy segment: {"deny": [...], "warn": [...]}}."""

    @abstractmethod
    def value_of(self, document: PolicyInput, ref: str) -> Any:
        """The value of rule `ref` (`data.<package>.<rule>`) for this input; None if undefined."""

    def run_tests(self) -> list[TestResult]:
        """Every `test_*` rule of every *_test.rego, like `opa test`: pass iff it is true.

        All tests are judged by one rule of a generated module (`PolicyLibrary.test_module`),
        so the engine prepares one query, not one per test; only when that rule fails with an
        error is each test evaluated alone, to say which one raised it. The
        engine must have been built with the tests (`with_tests=True`).
        """
        tests = self.library.tests()
        try:
            passed = self.value_of(_NO_INPUT, TEST_RUN_RULE)
        except PolicyEngineError as exc:
            alone = [self._run_alone(test) for test in tests]
            if alone and all(not r.passed and r.detail == alone[0].detail for r in alone):
                raise PolicyEngineError(f"{self.name}: {alone[0].detail}") from exc
            return alone
        if not isinstance(passed, list):
            raise PolicyEngineError(f"{TEST_RUN_RULE} is {passed!r}, not a set of test names")
        return [TestResult(t.file, t.rule, t.ref in passed,
                           "" if t.ref in passed else "evaluated to undefined or false")
                for t in tests]

    def _run_alone(self, test: PolicyTest) -> TestResult:
        try:
            value = self.value_of(_NO_INPUT, f"data.{test.ref}")
        except PolicyEngineError as exc:
            return TestResult(test.file, test.rule, False, str(exc))
        passed = value is not None and value is not False
        return TestResult(test.file, test.rule, passed,
                          "" if passed else "evaluated to undefined or false")

    def cluster_facts(self, cluster: list[Manifest]) -> list[Any]:
        """Each object's facts, one per object in order, as a held `Context` carries them
        (modelops.policy.held).

        The library computes them from each object alone (never from the environment or the
        other objects), so a caller that judges many inputs against the same objects computes
        them once per object instead of once per input.
        """
        facts = self.value_of({"environment": {}, "objects": [], "cluster": cluster}, FACTS_RULE)
        if not isinstance(facts, list) or len(facts) != len(cluster):
            raise PolicyEngineError(f"{FACTS_RULE} does not give one entry per object")
        return facts

    def evaluate_raw_json(self, document: str) -> Mapping[str, Any]:
        parsed: PolicyInput = json.loads(document)
        return self.evaluate_raw(parsed)


class RegorusEngine(PolicyEngine):
    """Holds each `Context` it is given in its data (`data.contexts`), up to HELD_CONTEXTS of
    them and HELD_CONTEXT_BYTES of their text; past either it drops them all at once (regorus
    can only clear its data, not remove a part), and the next review of each namespace parses
    its context again. Told the kind under review, it evaluates only the policies that judge
    it (`PolicyLibrary.verdict_rule`).

    Why the interpreter and not regorus's compiled VM (`regorus.Program`, `regorus.Rvm`): in
    gordon-to-regorus 0.13.0 the VM takes an undefined function result in an assignment for a
    value (`y := f(x)` with `f(x)` undefined keeps `"<undefined>"` in a comprehension or a
    `contains` rule instead of failing the body), so it judges some policy samples differently,
    and it has an instruction limit its Python binding cannot raise.
    """

    name = "regorus"

    def __init__(self, library: PolicyLibrary, with_tests: bool = False) -> None:
        import regorus

        super().__init__(library)
        self._engine = regorus.Engine()
        self.held: set[str] = set()   # ids of the contexts in data.contexts
        self.held_bytes = 0            # ... and the length of their text
        self.modules = library.modules(with_tests)
        for path, source in [*self.modules, *library.generated_modules(with_tests)]:
            try:
                self._engine.add_policy(path, source)
            except RuntimeError as exc:
                raise PolicyEngineError(_without_backtrace(str(exc))) from exc

    def evaluate_in_context(self, context: Context, document: str,
                            kind: str | None = None) -> list[Finding]:
        rule = self.library.verdict_rule(kind)
        if rule is None:   # no policy judges that kind
            return []
        if context.id not in self.held:
            size = len(context.text)
            if self.held and (len(self.held) >= HELD_CONTEXTS
                              or self.held_bytes + size > HELD_CONTEXT_BYTES):
                self._engine.clear_data()
                self.held.clear()
                self.held_bytes = 0
            try:
                self._engine.add_data_json(f'{{"contexts":{{"{context.id}":{context.text}}}}}')
            except RuntimeError as exc:
                raise PolicyEngineError(_without_backtrace(str(exc))) from exc
            self.held.add(context.id)
            self.held_bytes += size
        self._load_json(document)
        return self._findings(self._evaluate_loaded(held_rule(rule)))

    def evaluate_raw_json(self, document: str) -> Mapping[str, Any]:
        self._load_json(document)
        return self._evaluate_loaded()

    def evaluate_raw(self, document: PolicyInput) -> Mapping[str, Any]:
        self._load(document)
        return self._evaluate_loaded()

    def value_of(self, document: PolicyInput, ref: str) -> Any:
        self._load(document)
        return self.rule(ref)

    def _load(self, document: PolicyInput) -> None:
        try:
            self._engine.set_input(document)
        except RuntimeError as exc:
            raise PolicyEngineError(_without_backtrace(str(exc))) from exc

    def _load_json(self, document: str) -> None:
        try:
            self._engine.set_input_json(document)
        except RuntimeError as exc:
            raise PolicyEngineError(_without_backtrace(str(exc))) from exc

    def _evaluate_loaded(self, rule: str = VERDICT_RULE) -> Mapping[str, Any]:
        value = self.rule(rule)
        if not isinstance(value, dict):
            raise PolicyEngineError(f"{rule} is {value!r}, not an object")
        return value

    def rule(self, ref: str) -> Any:
        """The value of rule `ref` for the loaded input; None if undefined."""
        try:
            value = json.loads(self._engine.eval_rule_as_json(ref))
        except RuntimeError as exc:
            raise PolicyEngineError(_without_backtrace(str(exc))) from exc
        return None if value == _UNDEFINED else value


class RegopyEngine(PolicyEngine):
    name = "regopy"

    def __init__(self, library: PolicyLibrary) -> None:
        import regopy

        super().__init__(library)
        self._regopy = regopy
        self._modules = library.modules()
        self._query = library.verdict_query()
        # Compile once up front so a broken module fails here, not on the first request.
        self._interpreter().query("true")

    def _interpreter(self) -> Any:
        interpreter = self._regopy.Interpreter()
        for path, source in self._modules:
            interpreter.add_module(path, source)
        return interpreter

    def evaluate_raw(self, document: PolicyInput) -> Mapping[str, Any]:
        value = self.value_of(document, self._query)
        if not isinstance(value, dict):
            raise PolicyEngineError(f"regopy: unexpected result {str(value)[:500]}")
        return value

    def value_of(self, document: PolicyInput, ref: str) -> Any:
        interpreter = self._interpreter()
        interpreter.set_input(self._regopy.Input(document))
        try:
            output = str(interpreter.query(ref))
        except ValueError as exc:   # regopy parses its own output; broken JSON lands here
            raise PolicyEngineError(f"regopy: {exc}") from exc
        if output.strip() == "undefined":
            return None
        try:
            parsed = json.loads(output)
        except json.JSONDecodeError as exc:
            raise PolicyEngineError(f"regopy: {output.strip()[:2000]}") from exc
        values = parsed.get("expressions") if isinstance(parsed, dict) else None
        if not values:
            raise PolicyEngineError(f"regopy: unexpected result {output[:500]}")
        return values[0]


class OpaEngine(PolicyEngine):
    """OPA's own engine (its Go library, in process through `opa-golib-python-bindings`): the
    reference every other engine is compared with. `run_tests_with_coverage` also reports what
    the tests covered, in the shape of `opa test --coverage --format json`.
    """

    name = "opa"

    def __init__(self, library: PolicyLibrary, with_tests: bool = False) -> None:
        from opa_bindings import OpaEngine as GoEngine

        super().__init__(library)
        self._engine = GoEngine()
        self._engine.print_handler = lambda message, location: None
        self._coverage: dict[str, Any] | None = None
        self._collect_coverage = False
        try:
            for path, source in [*library.modules(with_tests),
                                 *library.generated_modules(with_tests)]:
                self._engine.add_policy(path, source)
            self._engine.eval_query("true")   # compile now: a broken module fails here
        except Exception as exc:   # opa_bindings raises OpaError with the compiler's message
            raise PolicyEngineError(f"opa: {exc}") from exc

    def evaluate_raw(self, document: PolicyInput) -> Mapping[str, Any]:
        value = self.value_of(document, VERDICT_RULE)
        if not isinstance(value, dict):
            raise PolicyEngineError(f"{VERDICT_RULE} is {value!r}, not an object")
        return value

    def value_of(self, document: PolicyInput, ref: str) -> Any:
        from opa_bindings import OpaUndefinedError

        try:
            return self._engine.eval_document(ref.removeprefix("data."),
                                              dict(document),
                                              coverage=self._collect_coverage)
        except OpaUndefinedError:
            return None
        except Exception as exc:
            raise PolicyEngineError(f"opa: {exc}") from exc
        finally:
            if self._collect_coverage:
                self._coverage = self._engine.last_coverage

    def run_tests_with_coverage(self) -> tuple[list[TestResult], dict[str, Any]]:
        """`run_tests`, and the coverage report of the library's modules (generated ones left
        out) as `opa test --coverage` prints it."""
        self._collect_coverage = True
        try:
            results = self.run_tests()
        finally:
            self._collect_coverage = False
        report = self._coverage or {"files": {}}
        files = {path: entry for path, entry in sorted(report.get("files", {}).items())
                 if not path.startswith("<generated>")}
        covered = sum(int(f.get("covered_lines", 0)) for f in files.values())
        missed = sum(int(f.get("not_covered_lines", 0)) for f in files.values())
        total = covered + missed
        return results, {"files": files, "covered_lines": covered, "not_covered_lines": missed,
                         "coverage": round(100 * covered / total, 2) if total else 0.0}


class OpaServerEngine(PolicyEngine):
    """An OPA server reached through `opa-python-client`; the library is uploaded on start."""

    name = "opa-server"

    def __init__(self, library: PolicyLibrary, url: str) -> None:
        from opa_client import OpaClient

        super().__init__(library)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--opa-url must be http(s)://host:port, not {url!r}")
        self._client = OpaClient(host=parts.hostname, ssl=parts.scheme == "https",
                                 port=parts.port or (443 if parts.scheme == "https" else 8181),
                                 timeout=30.0)
        try:
            for path, source in [*library.modules(), library.verdict_module()]:
                self._client.update_policy_from_string(source, _policy_id(path),
                                                       rego_compat=False)
        except Exception as exc:   # requests and opa_client raise many types
            raise PolicyEngineError(f"OPA server at {url}: {exc}") from exc

    def evaluate_raw(self, document: PolicyInput) -> Mapping[str, Any]:
        try:
            response = self._client.query_rule(dict(document), VERDICT_RULE.removeprefix("data."))
        except Exception as exc:
            raise PolicyEngineError(f"OPA server: {exc}") from exc
        result = response.get("result")
        return result if isinstance(result, dict) else {}

    def value_of(self, document: PolicyInput, ref: str) -> Any:
        try:
            return self._client.query_rule(dict(document),
                                           ref.removeprefix("data.")).get("result")
        except Exception as exc:
            raise PolicyEngineError(f"OPA server: {exc}") from exc


def _without_backtrace(message: str) -> str:
    """regorus appends a native stack backtrace to its errors; people need only the first part."""
    return message.split("Stack backtrace:", maxsplit=1)[0].strip()


def _policy_id(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", path)


def create_engine(library: PolicyLibrary, kind: str = "regorus",
                  opa_url: str | None = None) -> PolicyEngine:
    """An engine of `kind` (one of ENGINES) for this library, or the OPA server at `opa_url`."""
    if opa_url:
        return OpaServerEngine(library, opa_url)
    if kind == "regorus":
        return RegorusEngine(library)
    if kind == "opa":
        return OpaEngine(library)
    if kind == "regopy":
        return RegopyEngine(library)
    raise UsageError(f"unknown policy engine {kind!r}; choose one of {', '.join(ENGINES)}")
