"""`modelops explain ENV MODEL`: every rendered field of a model and where it came from.

The model's objects are rendered once more with each provenance-carrying value replaced by a
unique token. Reading the tokens back out of the parsed YAML maps every output field to its
origin without a second description of the templates that could drift from them. Fields with
no token are fixed by the template itself (the platform's choice).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from modelops.derive import ObjectPlan, Sourced, model_plans, server_plan
from modelops.render import render_object
from modelops.repository import LoadedEnvironment, LoadedModel

_TOKEN = re.compile(r"@@(\d+)@@")


@dataclass(frozen=True)
class FieldOrigin:
    field: str
    value: str
    source: str
    origin: str


@dataclass(frozen=True)
class ObjectExplanation:
    kind: str
    name: str
    path: str
    fields: list[FieldOrigin]


def explain_model(env: LoadedEnvironment, model: LoadedModel) -> list[ObjectExplanation]:
    plans = model_plans(env, model)
    plans.append(server_plan(env, model.spec.spec.server))
    return [_explain(plan) for plan in plans]


def _explain(plan: ObjectPlan) -> ObjectExplanation:
    counter = itertools.count()
    table: dict[int, Sourced] = {}

    def tokenize(value: Any) -> Any:
        if type(value) is Sourced:
            index = next(counter)
            table[index] = value
            return f"@@{index}@@"
        if type(value) is dict:
            return {k: tokenize(v) for k, v in value.items()}
        if type(value) is list:
            return [tokenize(v) for v in value]
        return value

    document = yaml.safe_load(render_object(plan, tokenize(plan.values)))
    fields = [_origin(path, leaf, table) for path, leaf in _leaves(document, "")]
    return ObjectExplanation(plan.kind, plan.name, plan.path, fields)


def _origin(path: str, leaf: Any, table: dict[int, Sourced]) -> FieldOrigin:
    if isinstance(leaf, str):
        found = [int(i) for i in _TOKEN.findall(leaf)]
        if found:
            whole = _TOKEN.fullmatch(leaf) is not None
            first = table[found[0]]
            value = _TOKEN.sub(lambda m: _show(table[int(m.group(1))].value), leaf)
            if whole:
                return FieldOrigin(path, _show(first.value), first.source, first.origin)
            origins = "; ".join(table[i].origin for i in found)
            return FieldOrigin(path, value, "derived", f"template text with {origins}")
    return FieldOrigin(path, _show(leaf), "template", "fixed by the platform template")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value if "\n" not in value else value.splitlines()[0] + " …"
    return json.dumps(value, sort_keys=True)


def _leaves(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(value, dict | list) and value:
                yield from _leaves(value, child)
            else:
                yield child, value
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, dict | list) and value:
                yield from _leaves(value, f"{path}[{i}]")
            else:
                yield f"{path}[{i}]", value


def format_text(model: str, env: str, source: str,
                objects: list[ObjectExplanation]) -> str:
    lines = [f"{model} in {env}  (from {source})", ""]
    for obj in objects:
        lines.append(f"{obj.kind} {obj.name}  -> rendered/{obj.path}")
        width = max((len(f.field) for f in obj.fields), default=0)
        vwidth = min(40, max((len(f.value) for f in obj.fields), default=0))
        for item in obj.fields:
            value = item.value if len(item.value) <= 40 else item.value[:39] + "…"
            lines.append(f"  {item.field:<{width}}  {value:<{vwidth}}  {item.source:<11}  "
                         f"{item.origin}")
        lines.append("")
    return "\n".join(lines)
