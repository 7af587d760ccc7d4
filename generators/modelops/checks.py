"""`modelops validate`: every committed rendered object against strict schemas.

Reads what is committed (not a fresh render), so it checks exactly what Argo CD will apply.
Core kinds are checked against kubernetes-validate's schemas and custom kinds against the CRDs
in the given directory, both strictly (`modelops.validate`). Problems are located to the line
in the rendered file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from modelops.errors import InputError, Problem
from modelops.parallel import map_slices
from modelops.render import list_tree
from modelops.repository import Repository
from modelops.validate import CatalogError, SchemaCatalog
from modelops.yamlsource import parse_yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_files: list[tuple[str, Path]] = []
_catalog: SchemaCatalog | None = None


def validate_rendered(repo: Repository, names: list[str], crd_dir: Path,
                      scope: Callable[[str, str], bool] | None = None,
                      ) -> tuple[list[Problem], int]:
    """Problems in every rendered file of the named environments, and how many files.

    With `scope` ((environment, path under rendered/) -> bool), only the files it accepts."""
    global _files, _catalog
    try:
        _catalog = SchemaCatalog.from_crd_dir(crd_dir)
    except CatalogError as exc:
        raise InputError.at(str(crd_dir), str(exc)) from None
    problems: list[Problem] = []
    _files = []
    for name in names:
        root = repo.rendered_dir(name)
        listed = list_tree(root)
        if not listed:
            problems.append(Problem(repo.relative(root), 1, 1, "", "nothing rendered; run "
                                    "`modelops render`"))
        _files += [(f"{repo.relative(root)}/{rel}", root / rel) for rel in sorted(listed)
                   if scope is None or scope(name, rel)]
    try:
        for part in map_slices(_check_slice, len(_files)):
            problems += part
        return problems, len(_files)
    finally:
        _files, _catalog = [], None


def _check_slice(bounds: tuple[int, int]) -> list[Problem]:
    assert _catalog is not None
    problems: list[Problem] = []
    for shown, path in _files[bounds[0]:bounds[1]]:
        problems += _check_file(_catalog, shown, path.read_bytes())
    return problems


def _check_file(catalog: SchemaCatalog, shown: str, raw: bytes) -> list[Problem]:
    try:
        obj = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        return [Problem(shown, 1, 1, "", f"not valid YAML: {exc}")]
    if not isinstance(obj, dict):
        return [Problem(shown, 1, 1, "", "expected one Kubernetes object")]
    found = catalog.problems(obj)
    if not found:
        return []
    doc = parse_yaml(raw, shown, limit=None)
    located: list[Problem] = []
    for problem in found:
        loc = _loc(problem.path)
        line, col = doc.locate(loc)
        located.append(Problem(shown, line, col, problem.path, problem.message))
    return located


_PATH_PART = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.\[\]]+)')


def _loc(path: str) -> tuple[str | int, ...]:
    """`metadata.labels["app.kubernetes.io/name"]` -> ("metadata", "labels", "app...")."""
    parts: list[str | int] = []
    for quoted, index, plain in _PATH_PART.findall(path):
        if quoted:
            parts.append(json.loads(f'"{quoted}"'))
        elif index:
            parts.append(int(index))
        else:
            parts.append(plain)
    return tuple(parts)
