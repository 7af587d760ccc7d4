"""Every `modelops` command starts without loading the spec models, the renderer or git code.

The PostSync smoke Job and the batch CronJob start a fresh `modelops` per run, and every CI
step starts one: the verb modules register their arguments only and import what a handler
uses when it runs. Building the parser must not pull in pydantic, jinja2 or the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

HEAVY = ("modelops.repository", "modelops.spec", "modelops.render", "modelops.gitops.workspace",
         "pydantic", "jinja2")

_PROBE = """
import json, sys
from modelops.cli import build_parser
parser = build_parser()
verbs = sorted(next(a for a in parser._actions if a.dest == "verb").choices)
roots = ("modelops", "pydantic", "jinja2")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in roots)
print(json.dumps({"verbs": verbs, "loaded": loaded}))
"""


@pytest.fixture(scope="module")
def startup() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          cwd=REPO_ROOT, check=True)
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


def test_the_parser_knows_every_verb(startup: dict[str, list[str]]) -> None:
    assert {"render", "check", "smoke", "batch", "advise", "admission"} <= set(startup["verbs"])


@pytest.mark.parametrize("module", HEAVY)
def test_building_the_parser_loads_no_heavy_module(startup: dict[str, list[str]],
                                                   module: str) -> None:
    assert not [m for m in startup["loaded"] if m == module or m.startswith(module + ".")]
