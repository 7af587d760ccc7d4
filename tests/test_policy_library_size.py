"""A library grows with every policy a fork adds; the modules modelops generates must keep
compiling on every engine however many policies there are (regorus refuses source lines over
1,024 columns, so one generated line per library would stop working at a dozen policies)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from modelops.policy import PolicyLibrary, create_engine

COPIES = 40


@pytest.fixture(scope="module")
def large_library(tmp_path_factory: pytest.TempPathFactory) -> PolicyLibrary:
    root = tmp_path_factory.mktemp("policies")
    shutil.copytree(REPO_ROOT / "policies", root, dirs_exist_ok=True)
    source = root / "overcommit"
    for i in range(COPIES):
        copy = root / f"overcommit-copy-{i:02d}"
        shutil.copytree(source, copy)
        for rego in copy.glob("*.rego"):
            rego.write_text(rego.read_text().replace(
                "modelops_policy_overcommit", f"modelops_policy_overcommit_copy_{i:02d}"))
    return PolicyLibrary.load(root)


def test_generated_modules_keep_lines_short(large_library: PolicyLibrary) -> None:
    assert len(large_library.policies) > COPIES
    for path, source in large_library.generated_modules(with_tests=True):
        longest = max(len(line) for line in source.splitlines())
        assert longest <= 1024, f"{path}: a line of {longest} columns"


@pytest.mark.parametrize("engine", ["regorus", "opa"])
def test_a_large_library_compiles_and_judges(large_library: PolicyLibrary, engine: str) -> None:
    judge = create_engine(large_library, engine)
    findings = judge.evaluate({"environment": {}, "objects": [], "cluster": []})
    assert findings == []
