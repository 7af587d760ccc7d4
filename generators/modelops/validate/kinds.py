"""Validators for one apiVersion/kind: compiled fastjsonschema code, jsonschema to explain.

The compiled code answers "valid or not" cheaply; only an object it rejects is checked again
with jsonschema, which reports every error with its exact path.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import fastjsonschema

from modelops.validate.code_cache import CodeCache
from modelops.validate.messages import schema_problems
from modelops.validate.problems import SchemaProblem

_DRAFT7: Final = "http://json-schema.org/draft-07/schema#"
_COMPILE_SECONDS_PER_SCHEMA_BYTE: Final = 1.5e-6
_SLOW_SHARE_BEFORE_COMPILE: Final = 0.25


_REF_NAME_ARGUMENT: Final = re.compile(
    r', custom_formats, \(name_prefix or "data"\) \+ "(?:[^"\\\n]|\\.)*"'
    r"(?:\.format\(\*\*locals\(\)\))?\)$",
    re.MULTILINE,
)
"""The path argument of calls between generated functions. It only feeds error messages, which
come from jsonschema here, and inside loops it is built with `.format(**locals())`, a large share
of the time spent on every valid object; it is replaced by None."""


def _function_from_code(code: Any) -> Callable[[Any], Any]:
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    function: Callable[[Any], Any] = namespace["validate"]
    return function


class Checker(Protocol):
    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]: ...


class Fixed:
    """The answer for an apiVersion/kind that has no usable schema."""

    def __init__(self, message: str) -> None:
        self._problem = SchemaProblem("", message)
        self.engine = "none"

    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        return [self._problem]


class KindValidator:
    """Checks objects of one apiVersion/kind: compiled fastjsonschema first, jsonschema to explain.

    Compiling costs ~1.5 us per byte of prepared schema (5 ms for a Model, 55 ms for a Job,
    once per schema thanks to the disk cache); jsonschema costs 0.1-0.7 ms per object. So a
    kind starts on jsonschema and is compiled once the time spent on it reaches a quarter of
    the estimated compile time: a kind seen a few times is never compiled, a frequent one is
    compiled after a handful of objects. Code already in the disk cache is used at once.
    jsonschema has the last word: should it accept an object the compiled code rejected, the
    object is valid and `disagreements` counts the case (the tests keep it at zero).
    """

    def __init__(
        self, label: str, schema: dict[str, Any], *, draft: str, cache: CodeCache
    ) -> None:
        self.label = label
        self.schema = schema
        self.engine = "jsonschema"
        self.disagreements = 0
        self._draft = draft
        self._cache = cache
        self._canonical = json.dumps(
            {"$schema": _DRAFT7, **schema}, sort_keys=True, separators=(",", ":")
        )
        self._key = cache.key(self._canonical)
        self._compile_budget = (
            len(self._canonical) * _COMPILE_SECONDS_PER_SCHEMA_BYTE * _SLOW_SHARE_BEFORE_COMPILE
        )
        self._slow_seconds = 0.0
        self._slow: Any = None
        self._fast: Callable[[Any], Any] | None = None
        code = cache.load(self._key)
        if code is not None:
            try:
                self._fast = _function_from_code(code)
                self.engine = "fastjsonschema (cached code)"
            except Exception:
                self._fast = None

    def problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        fast = self._fast
        if fast is not None:
            try:
                fast(obj)
            except Exception:
                found = self.slow_problems(obj)
                if not found:
                    self.disagreements += 1
                return found
            return []
        started = time.perf_counter()
        found = self.slow_problems(obj)
        self._slow_seconds += time.perf_counter() - started
        if self._slow_seconds >= self._compile_budget and self.engine == "jsonschema":
            self.compile_fast()
        return found

    def compile_fast(self) -> bool:
        """Compile (or fetch) the fast validator now; False if fastjsonschema cannot do it."""
        if self._fast is not None:
            return True
        try:
            source = fastjsonschema.compile_to_code(
                json.loads(self._canonical),
                use_default=False,
                use_formats=False,
                detailed_exceptions=False,
            )
            source = _REF_NAME_ARGUMENT.sub(", custom_formats, None)", source)
            code = compile(source, f"<modelops schema {self.label}>", "exec")
            function = _function_from_code(code)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:160]
            self.engine = f"jsonschema (fastjsonschema failed: {type(exc).__name__}: {reason})"
            return False
        self._fast = function
        self.engine = "fastjsonschema"
        self._cache.store(self._key, code)
        return True

    def fast_accepts(self, obj: Mapping[str, Any]) -> bool:
        if not self.compile_fast() or self._fast is None:
            raise RuntimeError(f"{self.label}: no compiled validator: {self.engine}")
        try:
            self._fast(obj)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def slow_problems(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        validator = self._slow
        if validator is None:
            validator = self._slow = _jsonschema_validator(self.schema, self._draft)
        return schema_problems(validator.iter_errors(obj))


def _jsonschema_validator(schema: dict[str, Any], draft: str) -> Any:
    import jsonschema

    if draft == "2020-12":
        return jsonschema.Draft202012Validator(schema)
    return jsonschema.Draft7Validator(schema)
