"""Numbers live in benchmarks, not in code: no comment, docstring or README under `generators/`,
`plugins/` or `policies/` reports instruction counts, timings or speed-ups, or tells the history
of a change. The why stays, in a sentence; measurements go to `make bench` and closing notes.

Thresholds the platform enforces ("p99 > 500 ms") are rules, not measurements, and pass.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from conftest import REPO_ROOT

SCANNED = ("generators", "plugins", "policies")
MEASUREMENT = re.compile(
    r"callgrind|instructions? (count|per)|\b\d+(\.\d+)? ?[KM] instructions"
    r"|\bmeasured\b|\b\d+(\.\d+)? ?[x×] (faster|slower)|\b(faster|slower) by \d"
    r"|\bnow that\b|\b(doubled|halved|tenfold)\b"
    r"|\b(took|takes|cost|costs) (about |~)?\d+(\.\d+)? ?(ms|µs|s|%)\b",
    re.IGNORECASE)


def python_prose(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python module."""
    found = [(tok.start[0], tok.string) for tok in
             tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body:
                found.append((node.body[0].lineno, doc))
    return found


def prose(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return python_prose(text)
    if path.suffix == ".rego":
        return [(n, line) for n, line in enumerate(text.splitlines(), 1)
                if line.lstrip().startswith("#")]
    return list(enumerate(text.splitlines(), 1))


def measurements(path: Path) -> list[str]:
    return [f"{path.relative_to(REPO_ROOT)}:{line}: {match.group(0)!r}"
            for line, text in prose(path) for match in MEASUREMENT.finditer(text)]


def _files() -> list[Path]:
    return sorted(p for top in SCANNED for p in (REPO_ROOT / top).rglob("*")
                  if p.suffix in (".py", ".rego", ".md") and p.is_file())


def test_files_are_scanned() -> None:
    assert any(p.suffix == ".rego" for p in _files())
    assert any(p.suffix == ".py" for p in _files())


@pytest.mark.parametrize("top", SCANNED)
def test_no_measurements_in_comments_docstrings_or_readmes(top: str) -> None:
    found = [m for p in _files() if p.is_relative_to(REPO_ROOT / top) for m in measurements(p)]
    assert found == [], "move these to `make bench` output or a closing note:\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Evaluating a rule costs 12 ms."""\n\n'
                      "x = 1  # callgrind: 3.5 M instructions\n"
                      "y = 'took 40 ms in a string is code, not prose'\n")
    assert [line for line, _ in python_prose(module.read_text())] == [3, 1]
    hits = [MEASUREMENT.search(text) for _, text in python_prose(module.read_text())]
    assert all(hits)
    assert MEASUREMENT.search("p99 > 500 ms over 5 minutes") is None
    assert MEASUREMENT.search("2.5x faster than the interpreter")
    assert MEASUREMENT.search("now that the handlers are async")
