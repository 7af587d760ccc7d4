"""The import contract (`import_contract.py`) holds for the project, and the check can fail.

Rules and what counts as an import are in `import_contract`'s docstring: the generators never
import plugins or ci, nothing imports a CLI module, and no import cycles. The synthetic
packages below break each rule once, the hidden ways included (an import inside a function,
under TYPE_CHECKING, through importlib), so a check that stopped seeing them would fail here.
"""

from __future__ import annotations

from pathlib import Path

from conftest import REPO_ROOT
from import_contract import (
    contract_problems,
    cycle_problems,
    cycles,
    discover,
    entry_point_modules,
    imports_of,
)

# Cycles that exist and are being removed. Each entry must name a cycle that still exists (the
# test fails otherwise), so the list only shrinks. It is empty: keep it so.
ALLOWED_CYCLES: list[frozenset[str]] = []


def project_modules() -> dict[str, Path]:
    return {
        **discover(REPO_ROOT / "generators" / "modelops", "modelops"),
        **discover(REPO_ROOT / "plugins" / "modelops_plugins", "modelops_plugins"),
        **discover(REPO_ROOT / "ci", "ci"),
    }


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def synthetic(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    """Packages `modelops` and `modelops_plugins` made of `files` (paths relative to tmp_path)."""
    write(tmp_path, {"modelops/__init__.py": "", "modelops_plugins/__init__.py": "", **files})
    return {**discover(tmp_path / "modelops", "modelops"),
            **discover(tmp_path / "modelops_plugins", "modelops_plugins")}


def test_project_keeps_the_import_contract() -> None:
    modules = project_modules()
    assert "modelops.cli" in modules and "modelops.render" in modules
    verbs = entry_point_modules(REPO_ROOT / "pyproject.toml").values()
    assert contract_problems(modules, verbs, ALLOWED_CYCLES) == []


def test_cycles_hidden_in_functions_type_checking_and_importlib_are_found(
        tmp_path: Path) -> None:
    modules = synthetic(tmp_path, {
        "modelops/a.py": "def f():\n    from modelops import b\n",
        "modelops/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                         "    from modelops.c import thing\n",
        "modelops/c.py": "import importlib\nimportlib.import_module('modelops.a')\n",
        "modelops/d.py": "from . import e\n",
        "modelops/e.py": "from .d import x\n",
        "modelops/f.py": "from modelops import a\n",
    })
    imports = [i for name, path in modules.items() for i in imports_of(name, path, modules)]
    assert cycles(imports) == [frozenset({"modelops.a", "modelops.b", "modelops.c"}),
                               frozenset({"modelops.d", "modelops.e"})]
    assert contract_problems(modules, [], []) == [
        "import cycle: modelops.a <-> modelops.b <-> modelops.c",
        "import cycle: modelops.d <-> modelops.e",
    ]


def test_a_package_reexporting_its_modules_is_not_a_cycle(tmp_path: Path) -> None:
    modules = synthetic(tmp_path, {
        "modelops/pkg/__init__.py": "from modelops.pkg.inner import thing\n",
        "modelops/pkg/inner.py": "from modelops.pkg.base import other\n",
        "modelops/pkg/base.py": "other = 1\n",
    })
    assert contract_problems(modules, [], []) == []


def test_wrong_direction_and_cli_imports_are_named(tmp_path: Path) -> None:
    modules = synthetic(tmp_path, {
        "modelops/cli.py": "",
        "modelops/render.py": "def f():\n    from modelops_plugins.smoke import run\n",
        "modelops/gate/__init__.py": "",
        "modelops/gate/verbs.py": "from modelops.cli import build_parser\n",
        "modelops/gate/check.py": "from . import verbs\n",
        "modelops/extra.py": "import importlib\nimportlib.import_module('modelops.registered')\n",
        "modelops/registered.py": "",
        "modelops_plugins/smoke/__init__.py": "run = 1\n",
        "modelops_plugins/smoke/cli.py": "from modelops.render import f\n",
        "modelops_plugins/shadow.py": "from modelops_plugins.smoke.cli import g\n",
    })
    assert contract_problems(modules, ["modelops.registered"], []) == [
        "modelops.extra:2: imports modelops.registered (a CLI module; verbs are found "
        "through the entry points)",
        "modelops.gate.check:1: imports modelops.gate.verbs (a CLI module; verbs are found "
        "through the entry points)",
        "modelops.gate.verbs:1: imports modelops.cli (a CLI module; verbs are found through "
        "the entry points)",
        "modelops.render:2: imports modelops_plugins.smoke (the generators never import "
        "plugins or ci)",
        "modelops_plugins.shadow:1: imports modelops_plugins.smoke.cli (a CLI module; verbs "
        "are found through the entry points)",
    ]


def test_plugins_may_import_the_generators(tmp_path: Path) -> None:
    modules = synthetic(tmp_path, {
        "modelops/errors.py": "",
        "modelops_plugins/tool.py": "from modelops.errors import UsageError\n",
    })
    assert contract_problems(modules, [], []) == []


def test_an_allowance_for_a_cycle_that_is_gone_fails() -> None:
    kept = frozenset({"a", "b"})
    gone = frozenset({"c", "d"})
    assert cycle_problems([kept], [kept]) == []
    assert cycle_problems([kept], [kept, gone]) == [
        "allowed cycle c <-> d no longer exists: remove it from the allowance list"]
