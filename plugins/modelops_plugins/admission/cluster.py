"""What the indexes keep, and the policy context a review gets from them.

Index values are the manifests themselves, trimmed of what only the apiserver cares about
(`status`, `managedFields`, kubectl's last-applied copy), so they can go into the policy input's
`cluster` list exactly as CI puts rendered manifests there: the same rules, the same lookups.

Everything is keyed by namespace. One namespace is one environment (the generators put each
environment in its own Namespace with its own `modelops-environment` ConfigMap), and the policy
helpers look Servers up by name alone, so the context must never mix namespaces: a Model in
models-dev must not be judged against models-prod's `mlserver-cpu`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

from modelops.policy.inputs import ENVIRONMENT_KEY, Manifest

LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
_DROPPED_METADATA: Final = frozenset({"managedFields"})


def manifest(body: Mapping[str, Any]) -> Manifest:
    """The object as a policy sees it: everything but status and apiserver bookkeeping."""
    result: Manifest = {key: value for key, value in body.items() if key != "status"}
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping):
        meta = {k: v for k, v in metadata.items() if k not in _DROPPED_METADATA}
        annotations = meta.get("annotations")
        if isinstance(annotations, Mapping) and LAST_APPLIED in annotations:
            meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        result["metadata"] = meta
    return result


class EnvironmentEntry(NamedTuple):
    """The environment of one namespace, or why its ConfigMap cannot be used."""

    document: Mapping[str, Any] | None
    problem: str = ""


def environment_entry(body: Mapping[str, Any]) -> EnvironmentEntry:
    """The Environment document in a `modelops-environment` ConfigMap (`environment.json`)."""
    data = body.get("data")
    raw = data.get(ENVIRONMENT_KEY) if isinstance(data, Mapping) else None
    if not isinstance(raw, str):
        return EnvironmentEntry(None, f"it has no data.{ENVIRONMENT_KEY}")
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        return EnvironmentEntry(None, f"data.{ENVIRONMENT_KEY} is not JSON: {exc}")
    if not isinstance(document, dict):
        return EnvironmentEntry(None, f"data.{ENVIRONMENT_KEY} is not a JSON object")
    return EnvironmentEntry(document)


def context(namespace: str, *indexes: Mapping[str, Iterable[Manifest]]) -> list[Manifest]:
    """Every indexed manifest of `namespace`, in index order (Models first, then Servers)."""
    found: list[Manifest] = []
    for index in indexes:
        store = index.get(namespace)
        if store is not None:
            found.extend(store)
    return found


def environment_of(namespace: str,
                   index: Mapping[str, Iterable[EnvironmentEntry]]) -> EnvironmentEntry | None:
    """The namespace's environment entry, None when it has no `modelops-environment`."""
    store = index.get(namespace)
    return next(iter(store), None) if store is not None else None
