"""The values the manifests under `platform/` take from `organization.yaml`, kept there by render.

`platform/` stays hand-written YAML whose comments explain each choice; only the fields that
make it one organisation's come from `organization.yaml`. `modelops render` writes them in
place, changing nothing but those values (`modelops.yamledit`), and `render --check` and
`check` fail while one differs. kustomize replacements could not do it: the root Application
is applied by hand, and a kustomization may not read a file above its own folder.

Which fields, by rule rather than by list, so a manifest a fork adds follows too:

- every git source of an Argo CD Application or ApplicationSet (`source` or an item of
  `sources` with a `path`; a Helm chart's source has `chart` instead and is left alone):
  `repoURL` and `targetRevision` from `spec.git`;
- every `git` generator of an ApplicationSet, nested ones too: `repoURL` and `revision`;
- every container of a Deployment labelled `app.kubernetes.io/part-of: modelops`: `image`
  from `spec.images`.

`platform/argocd/health/` holds Lua health checks and their test objects, not configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from modelops.errors import InputError
from modelops.organization import ORGANIZATION_FILE, LoadedOrganization, missing
from modelops.render import Drift, compare_files, write_if_changed
from modelops.repository import Repository
from modelops.yamledit import KeyPath, replace_scalars

PLATFORM_DIR = "platform"
SKIPPED_DIR = Path(PLATFORM_DIR) / "argocd" / "health"
ARGOCD_KINDS = ("Application", "ApplicationSet")
WORKLOAD_LABEL = ("app.kubernetes.io/part-of", "modelops")
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What each kind of field is set to: an attribute of LoadedOrganization.
REPO_URL = "repo_url"
REVISION = "revision"
IMAGE = "modelops_image"


def _git_sources(node: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """(path, setting) of every repository field under `node`, an Argo CD object's part."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _git_sources(item, (*path, index))
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        here = (*path, key)
        if key == "git" and isinstance(value, dict) and "repoURL" in value:
            yield (*here, "repoURL"), REPO_URL
            if "revision" in value:
                yield (*here, "revision"), REVISION
        elif key == "source" and _is_git_source(value):
            yield from _source_fields(value, here)
        elif key == "sources" and isinstance(value, list):
            for index, item in enumerate(value):
                if _is_git_source(item):
                    yield from _source_fields(item, (*here, index))
        else:
            yield from _git_sources(value, here)


def _is_git_source(value: Any) -> bool:
    return isinstance(value, dict) and "repoURL" in value and "path" in value \
        and "chart" not in value


def _source_fields(source: dict[str, Any], path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    yield (*path, "repoURL"), REPO_URL
    if "targetRevision" in source:
        yield (*path, "targetRevision"), REVISION


def _containers(doc: dict[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    labels = (doc.get("metadata") or {}).get("labels") or {}
    if labels.get(WORKLOAD_LABEL[0]) != WORKLOAD_LABEL[1]:
        return
    pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    for group in ("initContainers", "containers"):
        for index, container in enumerate(pod.get(group) or []):
            if isinstance(container, dict) and "image" in container:
                yield ("spec", "template", "spec", group, index, "image"), IMAGE


def fields_of(doc: Any) -> list[tuple[KeyPath, str]]:
    """The fields of one manifest that organization.yaml sets, and which setting each takes."""
    if not isinstance(doc, dict):
        return []
    if doc.get("apiVersion", "").startswith("argoproj.io/") and doc.get("kind") in ARGOCD_KINDS:
        return list(_git_sources(doc.get("spec"), ("spec",)))
    if doc.get("kind") == "Deployment":
        return list(_containers(doc))
    return []


def _manifests(repo: Repository) -> Iterator[Path]:
    platform = repo.root / PLATFORM_DIR
    skipped = repo.root / SKIPPED_DIR
    for path in sorted(platform.rglob("*.yaml")):
        if path.is_file() and not path.is_relative_to(skipped):
            yield path


def _bound_files(repo: Repository) -> dict[str, tuple[str, list[tuple[KeyPath, str]]]]:
    """Path under platform/ -> (its text, the fields organization.yaml sets in it)."""
    bound: dict[str, tuple[str, list[tuple[KeyPath, str]]]] = {}
    platform = repo.root / PLATFORM_DIR
    for path in _manifests(repo):
        shown = repo.relative(path)
        try:
            text = path.read_text(encoding="utf-8")
            docs = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError.at(shown, f"not readable as YAML: {exc}") from None
        fields = [f for doc in docs for f in fields_of(doc)]
        if not fields:
            continue
        if len(docs) > 1:
            raise InputError.at(shown, f"holds {len(docs)} documents; a manifest whose values "
                                f"come from {ORGANIZATION_FILE} must be alone in its file")
        bound[path.relative_to(platform).as_posix()] = (text, fields)
    return bound


def planned_files(repo: Repository) -> dict[str, bytes]:
    """Path under platform/ -> content, for every manifest there that takes values from
    organization.yaml, as it must read; empty when there is none."""
    bound = _bound_files(repo)
    if not bound:
        return {}
    organization = repo.load_organization()
    if organization is None:
        raise missing(f"{PLATFORM_DIR}/{sorted(bound)[0]}", "the git repository or image")
    return {rel: _with_values(text, f"{PLATFORM_DIR}/{rel}", fields, organization).encode()
            for rel, (text, fields) in bound.items()}


def _with_values(text: str, shown: str, fields: list[tuple[KeyPath, str]],
                 organization: LoadedOrganization) -> str:
    values = {path: str(getattr(organization, setting)) for path, setting in fields}
    return replace_scalars(text, shown, values)


def check_files(repo: Repository) -> list[Drift]:
    """How the manifests under platform/ differ from what organization.yaml says."""
    expected = planned_files(repo)
    platform = repo.root / PLATFORM_DIR
    return compare_files(PLATFORM_DIR, expected,
                         {rel: (platform / rel).read_bytes() for rel in expected})


def write_files(repo: Repository, expected: dict[str, bytes]) -> list[str]:
    """Write `planned_files`; the paths that changed."""
    platform = repo.root / PLATFORM_DIR
    return [f"{PLATFORM_DIR}/{rel}" for rel, content in sorted(expected.items())
            if write_if_changed(platform / rel, content)]
