"""One way to register a verb: a module with `register(verbs)` named in the `modelops.verbs`
entry points, builtins and plugins alike, and `modelops --help` lists them all in that order.
"""

from __future__ import annotations

import argparse
import ast
import importlib
from importlib.metadata import entry_points
from pathlib import Path

from conftest import REPO_ROOT, run_cli
from import_contract import VERB_GROUP, discover, entry_point_modules
from modelops.cli import build_parser, verb_entries

PYPROJECT = REPO_ROOT / "pyproject.toml"


def _defines_register(path: Path) -> bool:
    """A top-level `def register(verbs...)`: the shape of a verb module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == "register"
               and [a.arg for a in node.args.args][:1] == ["verbs"] for node in tree.body)


def _verbs_added_by(module: str) -> list[str]:
    parser = argparse.ArgumentParser()
    verbs = parser.add_subparsers()
    importlib.import_module(module).register(verbs)
    return list(verbs.choices)


def test_every_verb_module_is_an_entry_point_and_nothing_else_is() -> None:
    modules = {**discover(REPO_ROOT / "generators" / "modelops", "modelops"),
               **discover(REPO_ROOT / "plugins" / "modelops_plugins", "modelops_plugins")}
    shaped = sorted(name for name, path in modules.items() if _defines_register(path))
    registered = sorted(entry_point_modules(PYPROJECT).values())
    assert "modelops.verbs" in shaped and "modelops.gate.verbs" in shaped
    assert shaped == registered


def test_the_installed_entry_points_are_pyprojects() -> None:
    installed = {e.name: e.value.split(":", 1)[0] for e in entry_points(group=VERB_GROUP)}
    assert installed == entry_point_modules(PYPROJECT), (
        "the installed metadata is stale: run `make setup-venv` (pip install --no-deps -e .)")


def test_cli_finds_verbs_only_through_entry_points() -> None:
    tree = ast.parse((REPO_ROOT / "generators" / "modelops" / "cli.py").read_text("utf-8"))
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else
              getattr(node.func, "id", "") for node in ast.walk(tree)
              if isinstance(node, ast.Call)}
    assert "import_module" not in called and "__import__" not in called
    handlers = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                and [a.arg for a in node.args.args] == ["args", "repo"]]
    assert handlers == [], "verb handlers belong in verb modules, not in cli.py"


def test_help_lists_every_verb_of_every_group_in_entry_point_order() -> None:
    expected = [verb for entry in verb_entries() for verb in _verbs_added_by(entry.module)]
    subparsers = next(a for a in build_parser()._actions
                      if isinstance(a, argparse._SubParsersAction))
    assert list(subparsers.choices) == expected
    builtin = [e.name for e in verb_entries() if e.module.startswith("modelops.")]
    assert builtin == sorted(builtin) and builtin[0] == "core"
    assert {"render", "validate", "explain", "policy", "check", "history"} <= set(expected)
    result = run_cli("--help")
    assert result.rc == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()
              if line.startswith("    ") and line.split() and line.split()[0] in expected]
    assert listed == expected
