"""The input document every policy sees (documented for policy authors in policies/README.md).

    {"environment": <the Environment document, as rendered into the modelops-environment
                     ConfigMap's environment.json>,
     "objects":     [<manifests under review>],
     "cluster":     [<the rest of the environment: context, never judged>],
     "previous":    {"<kind>/<namespace>/<name>": <an object under review as it was before
                     the change>}}   (optional)

CI puts a whole rendered environment in `objects`; an incremental check puts only the changed
objects there and the unchanged ones in `cluster`; the admission plugin puts the object of the
AdmissionReview there and its indexes in `cluster`. Rules judge `objects` and look things up in
both, so one rule set serves all three. `previous` lets a rule compare an object with its
earlier self (what KServe refuses to change after creation): `check --base` puts there the
base's version of each reviewed object the change modifies, the admission plugin an UPDATE's
`oldObject`. (The plugin's engines hold each namespace's environment and cluster across
reviews: modelops.policy.held builds this same document from what they hold.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NotRequired, TypedDict

Manifest = dict[str, Any]
ENVIRONMENT_CONFIGMAP = "modelops-environment"
ENVIRONMENT_KEY = "environment.json"


class PolicyInput(TypedDict):
    environment: Mapping[str, Any]
    objects: list[Manifest]
    cluster: list[Manifest]
    previous: NotRequired[Mapping[str, Manifest]]


def identity(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name): what an object replaces when it is put under review."""
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))


def previous_key(obj: Mapping[str, Any]) -> str:
    """The key of an object in the input's `previous` map: "kind/namespace/name"."""
    return "/".join(identity(obj))


def environment_document(objects: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The Environment document carried by the rendered `modelops-environment` ConfigMap."""
    for obj in objects:
        if (obj.get("kind") == "ConfigMap"
                and (obj.get("metadata") or {}).get("name") == ENVIRONMENT_CONFIGMAP):
            raw = (obj.get("data") or {}).get(ENVIRONMENT_KEY)
            if isinstance(raw, str):
                parsed = json.loads(raw)
                if isinstance(parsed, dict):
                    return parsed
    return None


def build_input(objects: list[Manifest], cluster: Iterable[Manifest] = (),
                environment: Mapping[str, Any] | None = None) -> PolicyInput:
    """Objects under review, plus the cluster minus whatever they replace (same kind/ns/name).

    The environment defaults to the one found among `objects` or `cluster`; without one,
    environment-dependent rules fall back to the platform-wide thresholds.
    """
    replaced = {identity(obj) for obj in objects}
    context = [obj for obj in cluster if identity(obj) not in replaced]
    if environment is None:
        environment = environment_document(objects) or environment_document(context) or {}
    return {"environment": environment, "objects": objects, "cluster": context}
