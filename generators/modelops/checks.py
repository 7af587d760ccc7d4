"""`modelops validate`: every committed rendered object, or given files, against strict schemas.

Reads what is committed (not a fresh render), so it checks exactly what Argo CD will apply;
given files (multi-document YAML) are checked the same way. Core kinds are checked against
kubernetes-validate's schemas and custom kinds against the CRDs in the given directory, both
strictly (`modelops.validate`). Problems are located to the line in the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from modelops.crds import NEEDED
from modelops.errors import InputError, Problem, UsageError
from modelops.parallel import map_slices
from modelops.render import list_tree
from modelops.repository import Repository
from modelops.validate import CatalogError, CrdDirectoryError, SchemaCatalog
from modelops.yamlsource import MAX_MANIFEST_DEPTH, SourceDocument, check_depth, parse_yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_files: list[tuple[str, Path]] = []
_catalog: SchemaCatalog | None = None
_collect = False


class Validated(NamedTuple):
    problems: list[Problem]
    validated: int
    # environment -> path under rendered/ -> the object as JSON (only when collected)
    documents: dict[str, dict[str, str]]


def open_catalog(crd_dir: Path) -> SchemaCatalog:
    """The catalog of `crd_dir`; an unusable directory is a UsageError about the directory, a
    broken CRD file an InputError naming it."""
    try:
        return SchemaCatalog.from_crd_dir(crd_dir)
    except CrdDirectoryError as exc:
        raise UsageError(f"{exc}; {NEEDED}") from None
    except CatalogError as exc:
        raise InputError.at(str(crd_dir), str(exc)) from None


def validate_files(paths: list[Path], crd_dir: Path) -> tuple[list[Problem], int]:
    """Schema problems in every document of the given YAML files, and how many objects.

    A file that cannot be read, is not YAML, or holds something other than Kubernetes objects
    is bad input (InputError, every such file named); a schema problem names the file and the
    line of the field in it.
    """
    catalog = open_catalog(crd_dir)
    problems: list[Problem] = []
    broken: list[Problem] = []
    count = 0
    for path in paths:
        documents = _documents(path, broken)
        for obj, source in documents:
            count += 1
            for problem in catalog.problems(obj):
                line, col = source.locate(_loc(problem.path))
                problems.append(Problem(source.display, line, col, problem.path,
                                        problem.message))
    if broken:
        raise InputError(broken)
    return problems, count


def _documents(path: Path, broken: list[Problem]) -> list[tuple[dict[str, Any], SourceDocument]]:
    """The objects of one multi-document YAML file, each with its node tree for locating."""
    shown = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        broken.append(Problem(shown, 1, 1, "", f"cannot read file: {exc.strerror or exc}"))
        return []
    except UnicodeDecodeError:
        broken.append(Problem(shown, 1, 1, "", "not UTF-8 text"))
        return []
    try:
        check_depth(text, shown, MAX_MANIFEST_DEPTH)
    except InputError as exc:
        broken.extend(exc.problems)
        return []
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or exc
        broken.append(Problem(shown, line, col, "", f"not valid YAML: {reason}"))
        return []
    out: list[tuple[dict[str, Any], SourceDocument]] = []
    for number, node in enumerate(nodes, start=1):
        obj = yaml.SafeLoader("").construct_document(node) if node is not None else None
        if obj is None:
            continue
        if not isinstance(obj, dict):
            broken.append(Problem(shown, node.start_mark.line + 1, node.start_mark.column + 1,
                                  f"document {number}", "expected a Kubernetes object"))
            continue
        out.append((obj, SourceDocument(path, shown, obj, node)))
    if not out and not any(p.path == shown for p in broken):
        broken.append(Problem(shown, 1, 1, "", "no Kubernetes object in the file"))
    return out


def validate_rendered(repo: Repository, names: list[str], crd_dir: Path,
                      scope: Callable[[str, str], bool] | None = None,
                      ) -> tuple[list[Problem], int]:
    """Problems in every rendered file of the named environments, and how many files.

    With `scope` ((environment, path under rendered/) -> bool), only the files it accepts."""
    result = validate_and_read(repo, names, crd_dir, scope, collect=False)
    return result.problems, result.validated


def validate_and_read(repo: Repository, names: list[str], crd_dir: Path,
                      scope: Callable[[str, str], bool] | None = None,
                      collect: bool = True) -> Validated:
    """Validate, and hand back every object as JSON so later stages need not parse again.

    JSON text is what travels back from the workers: cheap to pickle, and the Rego engine
    takes it as is (`set_input_json`), so 18,000 objects are parsed from YAML exactly once.
    """
    global _files, _catalog, _collect
    _catalog = open_catalog(crd_dir)
    problems: list[Problem] = []
    _files, _collect = [], collect
    owners: list[tuple[str, str]] = []
    for name in names:
        root = repo.rendered_dir(name)
        listed = list_tree(root)
        if not listed:
            problems.append(Problem(repo.relative(root), 1, 1, "", "nothing rendered; run "
                                    "`modelops render`"))
        shown = repo.relative(root)
        for rel in sorted(listed):
            if scope is None or scope(name, rel):
                _files.append((f"{shown}/{rel}", root / rel))
                owners.append((name, rel))
    try:
        documents: dict[str, dict[str, str]] = {name: {} for name in names}
        texts: list[str | None] = []
        for part_problems, part_texts in map_slices(_check_slice, len(_files)):
            problems += part_problems
            texts += part_texts
        if collect:
            for (name, rel), text in zip(owners, texts, strict=True):
                if text is not None:
                    documents[name][rel] = text
        return Validated(problems, len(_files), documents)
    finally:
        _files, _catalog, _collect = [], None, False


def _check_slice(bounds: tuple[int, int]) -> tuple[list[Problem], list[str | None]]:
    assert _catalog is not None
    problems: list[Problem] = []
    texts: list[str | None] = []
    for shown, path in _files[bounds[0]:bounds[1]]:
        raw = path.read_bytes()
        found, obj = _check_file(_catalog, shown, raw)
        problems += found
        if _collect:
            texts.append(json.dumps(obj, separators=(",", ":")) if obj is not None else None)
    return problems, texts


def _check_file(catalog: SchemaCatalog, shown: str,
                raw: bytes) -> tuple[list[Problem], dict[str, Any] | None]:
    try:
        obj = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        return [Problem(shown, 1, 1, "", f"not valid YAML: {exc}")], None
    if not isinstance(obj, dict):
        return [Problem(shown, 1, 1, "", "expected one Kubernetes object")], None
    found = catalog.problems(obj)
    if not found:
        return [], obj
    doc = parse_yaml(raw, shown, limit=None)
    located: list[Problem] = []
    for problem in found:
        loc = _loc(problem.path)
        line, col = doc.locate(loc)
        located.append(Problem(shown, line, col, problem.path, problem.message))
    return located, obj


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
