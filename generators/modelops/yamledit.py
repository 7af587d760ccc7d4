"""Changing a few scalar values of a spec file in place, keeping everything else byte for byte.

Promotion, rollback and `env new` change one to four values of a file a person wrote. Editing
the text at the exact characters of each value keeps comments, key order and quoting style, so
the diff a reviewer sees is only those lines. The result is read back and compared with the
intended data: an edit that would change anything else is refused rather than written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import yaml

from modelops.errors import UsageError

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOM = "\ufeff"
# Mapping keys and sequence indexes, from the document's root.
KeyPath = tuple[str | int, ...]


class EditError(Exception):
    """The values could not be changed without changing anything else."""


def _node(root: yaml.Node, path: KeyPath) -> yaml.ScalarNode | None:
    node: yaml.Node | None = root
    for key in path:
        if isinstance(key, int) and isinstance(node, yaml.SequenceNode):
            node = node.value[key] if 0 <= key < len(node.value) else None
        elif isinstance(key, str) and isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value
                         if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        else:
            return None
    return node if isinstance(node, yaml.ScalarNode) else None


def _spelling(value: str, style: str | None) -> str:
    if not style:
        try:
            if yaml.load(f"k: {value}\n", Loader=_Loader) == {"k": value}:
                return value
        except yaml.YAMLError:
            pass
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def replace_scalars(text: str, shown: str, values: Mapping[KeyPath, str]) -> str:
    """`text` with only the string values at `values`' paths replaced."""
    bom = text.startswith(_BOM)
    body = text[1:] if bom else text
    try:
        root = yaml.compose(body, Loader=_Loader)
        expected = yaml.load(body, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise UsageError(f"{shown}: not valid YAML, fix it first: {exc}") from None
    nodes: list[tuple[yaml.ScalarNode, str]] = []
    for path, value in values.items():
        node = _node(root, path) if root is not None else None
        if node is None:
            raise UsageError(f"{shown}: has no {dotted(path)} to change")
        nodes.append((node, value))
    expected = with_values(expected, values)
    # Each value keeps its quoting style; if a plain spelling reads back differently in its
    # context (a flow mapping, say), every value is double-quoted instead.
    for force_quotes in (False, True):
        edited = body
        for node, value in sorted(nodes, key=lambda n: n[0].start_mark.index, reverse=True):
            spelling = _spelling(value, '"' if force_quotes else node.style)
            edited = edited[:node.start_mark.index] + spelling + edited[node.end_mark.index:]
        try:
            if yaml.load(edited, Loader=_Loader) == expected:
                return (_BOM if bom else "") + edited
        except yaml.YAMLError:
            continue
    raise EditError(f"{shown}: could not change {', '.join(dotted(p) for p in values)} "
                    "without changing anything else; edit it by hand")


def dotted(path: KeyPath) -> str:
    """`spec.sources[0].repoURL`: a key path as people write it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def with_values(data: Any, values: Mapping[KeyPath, Any]) -> Any:
    """A deep copy of `data` with `values` set at their paths."""
    result = copy.deepcopy(data)
    for path, value in values.items():
        target = result
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return result
