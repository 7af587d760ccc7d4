"""What may sit under `environments/`, and an error for everything else.

The loader reads exactly `<env>/environment.yaml` and `<env>/models/<name>.yaml`; Argo CD syncs
`<env>/rendered/`. A spec saved anywhere else (the environment's root, `model/`, a `.yml` file,
a repository-root `models/`) would be read by nothing: its model silently disappears from the
rendered tree while every check stays green. So every other file is an error that names it and
says where it probably belongs.

Allowed besides those: `README*` files in `environments/`, an environment folder and its
`models/`; `.gitkeep` and the junk editors and file managers leave (`.DS_Store`, swap and
backup files), which no one means as input. Any other hidden file is an error, a hidden
`.yaml` above all (it looks like a spec and is not loaded). Render's own staging folders
(`.rendered.new-*`) exist only while a render runs and are skipped. Empty folders hold
nothing to lose and git does not record them, so they pass.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator
from pathlib import Path

import yaml

from modelops.errors import Problem

ENVIRONMENTS_DIR = "environments"
ENVIRONMENT_FILE = "environment.yaml"
MODELS_DIR = "models"
RENDERED_DIR = "rendered"
SPEC_SUFFIX = ".yaml"
RENDER_STAGING = ".rendered.new-*"
IGNORED_HIDDEN = (".gitkeep", ".DS_Store", ".*.swp", ".*.swo", ".*.swx", ".#*", "._*")
_YAML_SUFFIXES = (".yaml", ".yml")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _is_readme(name: str) -> bool:
    return name.upper().startswith("README")


def _ignored(name: str) -> bool:
    return name.endswith("~") or any(fnmatch.fnmatchcase(name, p) for p in IGNORED_HIDDEN)


def _kind(path: Path) -> str | None:
    """The `kind:` of a YAML file, to say where it belongs; None when it has none."""
    if path.suffix not in _YAML_SUFFIXES or not path.is_file():
        return None
    try:
        data = yaml.load(path.read_bytes(), Loader=_Loader)
    except (OSError, yaml.YAMLError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def _where(path: Path, env: str | None) -> str:
    """A hint where a stray file belongs, from what it holds."""
    folder = f"{ENVIRONMENTS_DIR}/{env or '<env>'}"
    kind = _kind(path)
    if kind == "ModelDeployment":
        return f"a model spec is read only from {folder}/{MODELS_DIR}/: move it to " \
               f"{folder}/{MODELS_DIR}/{path.stem}{SPEC_SUFFIX}"
    if kind == "Environment":
        return f"environment settings are read only from {ENVIRONMENTS_DIR}/<name>/" \
               f"{ENVIRONMENT_FILE}"
    return (f"nothing reads it; {ENVIRONMENTS_DIR}/ holds only README files, "
            f"<env>/{ENVIRONMENT_FILE}, <env>/{MODELS_DIR}/<name>{SPEC_SUFFIX} and the "
            f"generated <env>/{RENDERED_DIR}/")


def _files(folder: Path) -> Iterator[Path]:
    """Every file under `folder` (symlinks included, not followed), junk left out."""
    for path in sorted(folder.iterdir()):
        if path.is_dir() and not path.is_symlink():
            yield from _files(path)
        elif not _ignored(path.name):
            yield path


def _problem(root: Path, path: Path, message: str) -> Problem:
    return Problem(path.relative_to(root).as_posix(), 1, 1, "", message)


def _hidden(root: Path, path: Path) -> list[Problem]:
    if _ignored(path.name):
        return []
    if path.suffix in _YAML_SUFFIXES:
        return [_problem(root, path, f"hidden file, never loaded; if it is a spec, rename it "
                         f"to {path.name.lstrip('.')}")]
    return [_problem(root, path, "hidden file under environments/; nothing reads it (only "
                     ".gitkeep and editor or file-manager leftovers are allowed)")]


def _model_entry(root: Path, env: str, path: Path) -> list[Problem]:
    name = path.name
    if _is_readme(name) or _ignored(name):
        return []
    if name.startswith("."):
        return _hidden(root, path)
    if path.suffix == SPEC_SUFFIX and (path.is_symlink() or not path.is_file()):
        return [_problem(root, path, "not a regular file; model specs are plain "
                         f"<name>{SPEC_SUFFIX} files (no symlinks)")]
    if path.is_dir() and not path.is_symlink():
        return [_problem(root, p, f"model specs sit directly in {ENVIRONMENTS_DIR}/{env}/"
                         f"{MODELS_DIR}/, not in a subfolder; nothing reads this file")
                for p in _files(path)]
    if path.suffix == ".yml":
        return [_problem(root, path, f"never loaded: a model spec is named <name>{SPEC_SUFFIX}; "
                         f"rename it to {path.stem}{SPEC_SUFFIX}")]
    if path.suffix != SPEC_SUFFIX:
        return [_problem(root, path, f"unexpected file in {MODELS_DIR}/; a model spec is named "
                         f"<name>{SPEC_SUFFIX}")]
    return []


def _environment_entry(root: Path, env: str, path: Path) -> list[Problem]:
    name = path.name
    if name in (ENVIRONMENT_FILE, RENDERED_DIR) or _is_readme(name) or _ignored(name) \
            or fnmatch.fnmatchcase(name, RENDER_STAGING):
        return []
    if name == MODELS_DIR and path.is_dir() and not path.is_symlink():
        return [p for entry in sorted(path.iterdir()) for p in _model_entry(root, env, entry)]
    if name.startswith("."):
        if path.is_dir() and not path.is_symlink():
            return [p for f in _files(path) for p in _hidden(root, f)]
        return _hidden(root, path)
    if name == "environment.yml":
        return [_problem(root, path, f"never loaded: rename it to {ENVIRONMENT_FILE}")]
    if path.is_dir() and not path.is_symlink():
        close = difflib.get_close_matches(name.lower(), [MODELS_DIR, RENDERED_DIR], n=1)
        folder = f" (did you mean {close[0]}/?)" if close else ""
        return [_problem(root, p, f"not read: {ENVIRONMENTS_DIR}/{env}/{name}/ is not a folder "
                         f"modelops knows{folder}; {_where(p, env)}") for p in _files(path)]
    return [_problem(root, path, f"not read: {_where(path, env)}")]


def environment_problems(root: Path, env: str) -> list[Problem]:
    """Files of one environment folder that nothing reads."""
    folder = root / ENVIRONMENTS_DIR / env
    if not folder.is_dir():
        return []
    return [p for entry in sorted(folder.iterdir()) for p in _environment_entry(root, env, entry)]


def is_environment(folder: Path) -> bool:
    """A folder under environments/ that is (or was) an environment."""
    return folder.is_dir() and not folder.name.startswith(".") and any(
        (folder / f).exists() for f in (ENVIRONMENT_FILE, MODELS_DIR, RENDERED_DIR))


def layout_problems(root: Path) -> list[Problem]:
    """Every file under environments/ (and a root-level models/) that nothing reads."""
    base = root / ENVIRONMENTS_DIR
    problems: list[Problem] = []
    for entry in sorted(base.iterdir()) if base.is_dir() else ():
        name = entry.name
        if is_environment(entry):
            problems += environment_problems(root, name)
        elif name.startswith("."):
            if entry.is_dir() and not entry.is_symlink():
                problems += [p for f in _files(entry) for p in _hidden(root, f)]
            else:
                problems += _hidden(root, entry)
        elif entry.is_dir() and not entry.is_symlink():
            problems += [_problem(root, f, f"not read: {ENVIRONMENTS_DIR}/{name}/ is not an "
                         f"environment (it has no {ENVIRONMENT_FILE}); {_where(f, None)}")
                         for f in _files(entry)]
        elif not (_is_readme(name) or _ignored(name)):
            problems.append(_problem(root, entry, f"not read: {_where(entry, None)}"))
    stray = root / MODELS_DIR
    if stray.is_dir() and not stray.is_symlink():
        problems += [_problem(root, f, f"not read: model specs live in {ENVIRONMENTS_DIR}/"
                     f"<env>/{MODELS_DIR}/<name>{SPEC_SUFFIX}, one copy per environment")
                     for f in _files(stray) if f.suffix in _YAML_SUFFIXES]
    return problems
