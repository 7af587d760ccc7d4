"""`modelops explain ENV MODEL`: every rendered field of a model and where it came from.

The model's objects are rendered once more with each provenance-carrying value replaced by a
unique token. Reading the tokens back out of the parsed YAML maps every output field to its
origin without a second description of the templates that could drift from them. Fields with
no token are fixed by the template itself (the platform's choice).
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from modelops.derive import model_plans, server_plan
from modelops.errors import UsageError
from modelops.plans import ObjectPlan
from modelops.provenance import Sourced
from modelops.render import render_object
from modelops.repository import LoadedEnvironment, LoadedModel

_TOKEN = re.compile(r"@@(\d+)@@")


@dataclass(frozen=True)
class FieldOrigin:
    field: str
    value: str  # the whole value as one line of text (a multi-line string JSON-quoted)
    source: str
    origin: str
    data: Any = None  # the value itself, for `--format json`


@dataclass(frozen=True)
class ObjectExplanation:
    kind: str
    name: str
    path: str
    fields: list[FieldOrigin]


def explain_model(env: LoadedEnvironment, model: LoadedModel) -> list[ObjectExplanation]:
    plans = model_plans(env, model)
    if model.spec.spec.server is not None:
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
            if whole:
                return FieldOrigin(path, _show(first.value), first.source, first.origin,
                                   first.value)
            text = _TOKEN.sub(lambda m: _text(table[int(m.group(1))].value), leaf)
            origins = "; ".join(table[i].origin for i in found)
            return FieldOrigin(path, _show(text), "derived", f"template text with {origins}",
                               text)
    return FieldOrigin(path, _show(leaf), "template", "fixed by the platform template", leaf)


def _text(value: Any) -> str:
    """A value as it reads inside a string."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _show(value: Any) -> str:
    """A whole value on one line: strings as they are unless they span lines, others as JSON."""
    if isinstance(value, str) and not any(c in value for c in "\n\r"):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


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


def select_field(objects: list[ObjectExplanation], path: str) -> list[ObjectExplanation]:
    """Only `path` (and the fields under it) of each object that has it; unknown is an error."""
    def wanted(field: str) -> bool:
        return field == path or field.startswith((f"{path}.", f"{path}["))

    chosen = [ObjectExplanation(o.kind, o.name, o.path, [f for f in o.fields if wanted(f.field)])
              for o in objects]
    chosen = [o for o in chosen if o.fields]
    if not chosen:
        known = sorted({f.field for o in objects for f in o.fields})
        close = difflib.get_close_matches(path, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else \
            "; run without --field to see every field"
        raise UsageError(f"no rendered field {path!r} in this model's objects{hint}")
    return chosen


def format_text(model: str, env: str, source: str,
                objects: list[ObjectExplanation]) -> str:
    """One table per object: field, value, source, origin. Values are never shortened; a
    long one pushes its own row's last columns right."""
    lines = [f"{model} in {env}  (from {source})", ""]
    for obj in objects:
        lines.append(f"{obj.kind} {obj.name}  -> rendered/{obj.path}")
        width = max((len(f.field) for f in obj.fields), default=0)
        vwidth = min(40, max((len(f.value) for f in obj.fields), default=0))
        for item in obj.fields:
            lines.append(f"  {item.field:<{width}}  {item.value:<{vwidth}}  {item.source:<11}  "
                         f"{item.origin}")
        lines.append("")
    return "\n".join(lines)


def format_json(model: str, env: str, source: str, objects: list[ObjectExplanation]) -> str:
    """The documented JSON shape of `modelops explain --format json` (see the README)."""
    doc = {
        "model": model,
        "environment": env,
        "spec": source,
        "objects": [{
            "kind": obj.kind,
            "name": obj.name,
            "path": f"rendered/{obj.path}",
            "fields": [{"field": f.field, "value": f.data, "source": f.source,
                        "origin": f.origin} for f in obj.fields],
        } for obj in objects],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
