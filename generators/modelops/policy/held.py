"""Namespace contexts held across reviews, as generated Rego that the policies never see.

The admission plugin judges one object at a time against the rest of its namespace. Reading
that namespace with every review, and recomputing what the library derives from each of its
objects, would make every review pay for the whole namespace. So an engine holds each
namespace's context in its data (`data.contexts[id]`: the Environment document, the objects,
and each object's facts, computed once when the plugin first indexes the object), and a
review's input only names it: `{"objects": [<the object>], "context": {"id", "skip"}}`, and an
UPDATE's old object under `previous`.

The module generated here turns that back into the input document every policy reads
(`{"environment", "objects", "cluster", "previous"}`, the cluster less `skip`, the indexed copy
of the object under review) and hands the held facts to the library in place of its
`cluster_*_facts` rules, which compute the same from the cluster's objects. `policies/` stays
plain Rego; `tests/test_cluster_facts.py` proves both ways give the same findings.
"""

from __future__ import annotations

from collections.abc import Iterable

HELD_PACKAGE = "modelops_held"
# Each object's facts, one entry per object of `input.cluster` ({} for a kind without any).
FACTS_RULE = f"data.{HELD_PACKAGE}.object_facts"
LIB = "data.modelops_lib"
# The library's rule over the cluster's objects -> (the key of its fact in an object's entry,
# the library's test for such an object, the library's function computing the fact).
HELD_FACTS: dict[str, tuple[str, str, str]] = {
    "cluster_model_facts": ("model", 'is_seldon(o, "Model")', "model_fact"),
    "cluster_server_facts": ("server", 'is_seldon(o, "Server")', "server_fact"),
    "cluster_rule_file_facts": ("rule_file", "is_rule_file(o)", "rule_file_fact"),
}


def held_rule(verdict_rule: str) -> str:
    """The rule that evaluates `verdict_rule` of the verdict module on a held context."""
    return f"data.{HELD_PACKAGE}.{verdict_rule.rsplit('.', 1)[-1]}"


def held_module(verdict_rules: Iterable[str]) -> tuple[str, str]:
    """(path, source) of the module: one rule per verdict rule, and FACTS_RULE."""
    lines = [
        f"package {HELD_PACKAGE}",
        "",
        "import rego.v1",
        "",
        "_context := data.contexts[input.context.id]",
        "",
        "_skip := input.context.skip",
        "",
        "_cluster := _context.cluster if _skip < 0",
        "else := _less_skipped(_context.cluster)",
        "",
        "_facts := _context.cluster_facts if _skip < 0",
        "else := _less_skipped(_context.cluster_facts)",
        "",
        "_less_skipped(list) := array.concat(array.slice(list, 0, _skip), "
        "array.slice(list, _skip + 1, count(list)))",
        "",
        '_input := {"environment": _context.environment, "objects": input.objects, '
        '"cluster": _cluster, "previous": object.get(input, "previous", {})}',
        "",
    ]
    overrides = []
    for rule, (key, _, _) in HELD_FACTS.items():
        lines += [f"_{rule} := [f.{key} | some f in _facts; f.{key}]", ""]
        overrides.append(f"\t\twith {LIB}.{rule} as _{rule}")
    # A context held without facts: the library computes them from the cluster.
    for verdict in verdict_rules:
        name = verdict.rsplit(".", 1)[-1]
        lines += [f"{name} := v if {{", "\tis_array(_context.cluster_facts)",
                  f"\tv := {verdict} with input as _input", *overrides,
                  "} else := v if {", f"\tv := {verdict} with input as _input", "}", ""]
    lines += ['object_facts := [_facts_of(o) | some o in object.get(input, "cluster", [])]', ""]
    branches = [f'{{"{key}": {LIB}.{function}(o)}} if {LIB}.{test}'
                for key, test, function in HELD_FACTS.values()]
    lines += ["_facts_of(o) := " + "\nelse := ".join(branches) + "\nelse := {}", ""]
    return f"<generated>/{HELD_PACKAGE}.rego", "\n".join(lines)
