"""The Argo CD health checks in platform/argocd/health/, run in a real Lua interpreter.

Argo CD runs health scripts in gopher-lua (Lua 5.1) with only the base, table and a safe `os`
library open, the object in the global `obj`, and the returned table's `status` and `message`
as the verdict (`util/lua/lua.go`). Each case below comes from a `health_test.yaml` in the
layout Argo CD uses for its bundled checks, so the same files would run under
`go test ./util/lua/` if the checks were ever contributed upstream. The interpreter is
lupa's Lua 5.1 with the libraries Argo CD leaves closed removed, including the string
metatable, so a script that calls `string.*` or `("x"):sub()` fails here as it would there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from lupa import lua51

HEALTH = REPO_ROOT / "platform" / "argocd" / "health"
SCRIPTS = sorted(HEALTH.glob("*/*/health.lua"))
STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
CLOSED = ("string", "math", "io", "os", "debug", "coroutine", "package", "require", "dofile",
          "loadfile")


def run_check(script: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Evaluate a health script against `obj` the way Argo CD's Lua VM does."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=False, register_eval=False,
                           register_builtins=False)
    lua.execute('local mt = getmetatable("") if mt then mt.__index = nil end')
    globals_ = lua.globals()
    for name in CLOSED:
        globals_[name] = None
    globals_.obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script)
    assert lua51.lua_type(result) == "table", f"the script returned {result!r}, not a table"
    verdict = {str(k): v for k, v in result.items()}
    assert set(verdict) <= {"status", "message"}, verdict
    return verdict


def cases() -> list[Any]:
    found = []
    for script in SCRIPTS:
        kind = f"{script.parent.parent.name}/{script.parent.name}"
        spec = yaml.safe_load((script.parent / "health_test.yaml").read_text(encoding="utf-8"))
        for case in spec["tests"]:
            found.append(pytest.param(script, case, id=f"{kind}:{Path(case['inputPath']).stem}"))
    return found


def test_every_seldon_and_kserve_kind_has_a_check() -> None:
    assert [f"{s.parent.parent.name}/{s.parent.name}" for s in SCRIPTS] == [
        "argoproj.io/Application", "mlops.seldon.io/Experiment", "mlops.seldon.io/Model",
        "mlops.seldon.io/Pipeline", "mlops.seldon.io/Server",
        "serving.kserve.io/ClusterServingRuntime", "serving.kserve.io/InferenceService",
        "serving.kserve.io/LocalModelCache", "serving.kserve.io/ServingRuntime"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.parent.name)
def test_cases_cover_every_verdict_and_every_testdata_file(script: Path) -> None:
    spec = yaml.safe_load((script.parent / "health_test.yaml").read_text(encoding="utf-8"))
    assert set(spec) == {"tests"}
    for case in spec["tests"]:
        assert set(case) == {"healthStatus", "inputPath"}
        assert set(case["healthStatus"]) == {"status", "message"}
    used = {case["inputPath"] for case in spec["tests"]}
    present = {f"testdata/{p.name}" for p in (script.parent / "testdata").glob("*.yaml")}
    assert used == present, "every testdata file is a case, every case has its file"
    verdicts = {case["healthStatus"]["status"] for case in spec["tests"]}
    if script.parent.name.endswith("ServingRuntime"):
        # A runtime has no status, so nothing about it is ever under way.
        assert verdicts == {"Healthy", "Suspended", "Degraded"}
    else:
        assert {"Healthy", "Progressing", "Degraded"} <= verdicts
    stems = {Path(p).stem for p in used}
    if script.parent.parent.name == "mlops.seldon.io":
        assert {"progressing_no_status", "progressing_generation"} <= stems
    elif script.parent.name in {"InferenceService", "LocalModelCache"}:
        assert "progressing_no_status" in stems


@pytest.mark.parametrize(("script", "case"), cases())
def test_health_case(script: Path, case: dict[str, Any]) -> None:
    obj = yaml.safe_load((script.parent / case["inputPath"]).read_text(encoding="utf-8"))
    assert obj["kind"] == script.parent.name
    verdict = run_check(script.read_text(encoding="utf-8"), obj)
    assert verdict["status"] in STATUSES
    assert verdict == case["healthStatus"]


def test_the_sandbox_is_as_closed_as_argo_cds() -> None:
    """A check that uses the string library would fail in Argo CD; it must fail here too."""
    with pytest.raises(lua51.LuaError):
        run_check('return {status = string.upper("healthy")}', {})
    with pytest.raises(lua51.LuaError):
        run_check('local s = "Healthy" return {status = s:sub(1)}', {})
    assert run_check('return {status = "Healthy", message = table.concat({"a", "b"}, ",") '
                     '.. " " .. 3}', {}) == {"status": "Healthy", "message": "a,b 3"}
