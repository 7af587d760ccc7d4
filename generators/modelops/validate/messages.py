"""jsonschema's errors turned into messages a person can act on.

Each error becomes one `SchemaProblem` per wrong field: a dotted path (`spec.containers[0]`)
and a message that names the value and what was expected, with the schema's own pattern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from modelops.validate.patterns import original_pattern
from modelops.validate.problems import SchemaProblem


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


_PLAIN_KEY: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*\Z")


def _format_path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quote(text: str) -> str:
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in _shorten(text, 80))
    return f"'{shown}'"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    return describe_value(value)


def describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {_show(value)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {_quote(value)}"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    if hasattr(value, "isoformat"):
        return f"timestamp {value.isoformat()} (quote it in YAML to keep it a string)"
    return f"{type(value).__name__} {_shorten(str(value), 40)}"


def _type_names(expected: Any) -> str:
    types = _as_list(expected)
    shown = [t for t in types if t != "null"] or types
    return " or ".join(dict.fromkeys(str(t) for t in shown))


def _message(validator: str, expected: Any, instance: Any, fallback: str) -> str:
    size = len(instance) if isinstance(instance, Mapping | list | str) else 0
    messages: dict[str, Callable[[], str]] = {
        "type": lambda: f"expected {_type_names(expected)}, got {describe_value(instance)}",
        "enum": lambda: (
            f"{_show(instance)} is not one of "
            f"[{', '.join(_show(v) for v in expected if v is not None)}]"
        ),
        "const": lambda: f"{_show(instance)} is not {_show(expected)}",
        "pattern": lambda: (
            f"{_show(instance)} does not match pattern "
            f"{_quote(original_pattern(expected))}"
        ),
        "minimum": lambda: f"{_show(instance)} is less than the minimum of {expected}",
        "maximum": lambda: f"{_show(instance)} is greater than the maximum of {expected}",
        "exclusiveMinimum": lambda: f"{_show(instance)} must be greater than {expected}",
        "exclusiveMaximum": lambda: f"{_show(instance)} must be less than {expected}",
        "multipleOf": lambda: f"{_show(instance)} is not a multiple of {expected}",
        "minLength": lambda: f"{_show(instance)} is shorter than {expected} characters",
        "maxLength": lambda: f"{_show(instance)} is longer than {expected} characters",
        "minItems": lambda: f"has {size} items, fewer than the minimum of {expected}",
        "maxItems": lambda: f"has {size} items, more than the maximum of {expected}",
        "minProperties": lambda: f"has {size} fields, fewer than the minimum of {expected}",
        "maxProperties": lambda: f"has {size} fields, more than the maximum of {expected}",
        "uniqueItems": lambda: "has duplicate items",
        "not": lambda: "matches a schema it must not match",
    }
    build = messages.get(validator)
    return build() if build is not None else _shorten(fallback, 160)


def _describe(error: Any) -> Iterator[SchemaProblem]:
    path = list(error.absolute_path)
    where = _format_path(path)
    validator, expected, instance = error.validator, error.validator_value, error.instance
    if validator == "additionalProperties" and expected is False and isinstance(instance, Mapping):
        known = error.schema.get("properties", {})
        patterns = list(error.schema.get("patternProperties", {}))
        for key in instance:
            if key not in known and not any(re.search(p, str(key)) for p in patterns):
                yield SchemaProblem(_format_path([*path, key]), f"unknown field {_quote(str(key))}")
        return
    if validator == "required" and isinstance(instance, Mapping):
        for name in expected:
            if name not in instance:
                yield SchemaProblem(where, f"missing required field {_quote(str(name))}")
        return
    if validator in ("anyOf", "oneOf"):
        yield from _describe_alternatives(error, where)
        return
    yield SchemaProblem(where, _message(str(validator), expected, instance, str(error.message)))


def _describe_alternatives(error: Any, where: str) -> Iterator[SchemaProblem]:
    options = error.validator_value
    instance = error.instance
    if not error.context:
        yield SchemaProblem(
            where, f"{describe_value(instance)} matches more than one {error.validator} choice"
        )
        return
    if all(isinstance(option, Mapping) and set(option) == {"type"} for option in options):
        types = [t for o in options for t in _as_list(o["type"])]
        got = describe_value(instance)
        yield SchemaProblem(where, f"expected {_type_names(types)}, got {got}")
        return
    from jsonschema.exceptions import best_match

    for problem in _describe(best_match(error.context)):
        yield SchemaProblem(
            problem.path, f"{problem.message} (no {error.validator} choice matches)"
        )


def schema_problems(errors: Iterator[Any]) -> list[SchemaProblem]:
    found = dict.fromkeys(problem for error in errors for problem in _describe(error))
    return sorted(found, key=lambda problem: (problem.path, problem.message))
