"""The import contract of the project's Python code, read from source with `ast` (nothing runs).

Used by `test_import_contract.py` on the real tree and on synthetic packages that break it. The
rules, precisely:

1. Direction: `plugins` and `ci` may import `generators`, never the reverse. A module of the
   generators package (`modelops`) imports nothing from `modelops_plugins` or `ci`.
2. CLI modules: `modelops.cli`, every module named in the `modelops.verbs` entry-point group,
   and any module whose last name is `cli` or `verbs`. No module imports a CLI module, a CLI
   module included; the command finds verb modules through the entry points, never by import.
3. No import cycles among the project's modules.

What counts as an import: every `import` and `from ... import` anywhere in the file (inside
functions and `if TYPE_CHECKING:` blocks too, relative ones resolved), and
`importlib.import_module("literal")` / `import_module("literal")`. `from a.b import c` imports
the module `a.b.c` when there is one, else `a.b`. An import names the deepest project module it
reaches; the packages above it are not counted as imported (a package's `__init__` may
re-export its submodules without that being a cycle). Imports of anything outside the scanned
modules are ignored.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

GENERATORS = "modelops"
PLUGINS = "modelops_plugins"
CI = "ci"
CLI_MODULE = "modelops.cli"
CLI_NAMES = frozenset({"cli", "verbs"})
VERB_GROUP = "modelops.verbs"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def discover(root: Path, package: str) -> dict[str, Path]:
    """Module name -> file for every `*.py` under `root`, which is the package `package`."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def entry_point_modules(pyproject: Path, group: str = VERB_GROUP) -> dict[str, str]:
    """Entry-point name -> module, for one entry-point group of a pyproject.toml."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    entries: Mapping[str, str] = project.get("entry-points", {}).get(group, {})
    return {name: value.split(":", 1)[0] for name, value in entries.items()}


def _deepest(name: str, modules: Mapping[str, Path]) -> str | None:
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _literal_import_module(node: ast.Call) -> str | None:
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called != "import_module" or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) \
        else None


def imports_of(module: str, path: Path, modules: Mapping[str, Path]) -> list[Import]:
    """Every import of a project module by `module` (see the module docstring for what counts)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def add(name: str, line: int) -> None:
        target = _deepest(name, modules)
        if target is not None and target != module:
            found.append(Import(module, target, line))
        elif target == module and name == module:
            found.append(Import(module, module, line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                add(full if full in modules else base, node.lineno)
        elif isinstance(node, ast.Call):
            literal = _literal_import_module(node)
            if literal is not None:
                add(literal, node.lineno)
    return list(dict.fromkeys(found))


def is_cli_module(name: str, verb_modules: Iterable[str]) -> bool:
    return name == CLI_MODULE or name in set(verb_modules) or name.rsplit(".", 1)[-1] in CLI_NAMES


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def wrong_way(imports: Iterable[Import], verb_modules: Iterable[str]) -> list[str]:
    """Rules 1 and 2: each import that breaks them, as `importer:line: imports X (why)`."""
    verbs = set(verb_modules)
    broken: list[str] = []
    for imp in imports:
        if _top(imp.importer) == GENERATORS and _top(imp.imported) in (PLUGINS, CI):
            broken.append(f"{imp.importer}:{imp.line}: imports {imp.imported} "
                          "(the generators never import plugins or ci)")
        if is_cli_module(imp.imported, verbs):
            broken.append(f"{imp.importer}:{imp.line}: imports {imp.imported} "
                          "(a CLI module; verbs are found through the entry points)")
    return broken


def cycles(imports: Iterable[Import]) -> list[frozenset[str]]:
    """The import cycles: each strongly connected set of modules that import one another."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set()).add(imp.imported)
        graph.setdefault(imp.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(start: str) -> None:
        # Tarjan's algorithm, iterative so that deep import chains cannot hit the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1 or node in graph[node]:
                    found.append(frozenset(members))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found, key=sorted)


def cycle_problems(found: Iterable[frozenset[str]],
                   allowed: Iterable[frozenset[str]]) -> list[str]:
    """Cycles not in `allowed`, and allowances that name a cycle that no longer exists."""
    found_set, allowed_set = set(found), set(allowed)
    problems = [f"import cycle: {' <-> '.join(sorted(cycle))}"
                for cycle in sorted(found_set - allowed_set, key=sorted)]
    problems += [f"allowed cycle {' <-> '.join(sorted(cycle))} no longer exists: remove it "
                 "from the allowance list" for cycle in sorted(allowed_set - found_set, key=sorted)]
    return problems


def contract_problems(modules: Mapping[str, Path], verb_modules: Iterable[str],
                      allowed_cycles: Iterable[frozenset[str]]) -> list[str]:
    """Everything that breaks the contract in `modules`; [] when it holds."""
    imports = [imp for name, path in sorted(modules.items())
               for imp in imports_of(name, path, modules)]
    return wrong_way(imports, verb_modules) + cycle_problems(cycles(imports), allowed_cycles)
