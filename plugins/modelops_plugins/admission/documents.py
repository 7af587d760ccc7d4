"""The policy input of a review as JSON text, without re-serialising the namespace every time.

Every review in a namespace sends the engine the same cluster context (the namespace's indexed
manifests) next to one new object. Serialising that context is most of the work of building
the input, so each namespace keeps the JSON text of its manifests for as long as the indexes
hold those very objects: kopf replaces an index value when its object changes (never mutates
it), so "the same object" (`is`) means "the same text". The cache holds strong references to
the manifests it describes, so an id can never be reused while its text is cached.

The document is the one `modelops.policy.build_input` makes (the reviewed object replaces an
indexed one of the same kind, namespace and name), as text for `evaluate_json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from modelops.policy.inputs import Manifest, identity


class _Cached(NamedTuple):
    manifests: tuple[Manifest, ...]
    identities: tuple[tuple[str, str, str], ...]
    texts: tuple[str, ...]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class InputDocuments:
    """Builds review inputs; remembers each namespace's serialised context."""

    def __init__(self) -> None:
        self._namespaces: dict[str, _Cached] = {}
        self._environments: dict[str, tuple[Mapping[str, Any], str]] = {}

    def build(self, obj: Manifest, cluster: Sequence[Manifest],
              environment: Mapping[str, Any]) -> str:
        replaced = identity(obj)
        namespace = replaced[1]
        cached = self._context(namespace, cluster)
        context = [text for key, text in zip(cached.identities, cached.texts, strict=True)
                   if key != replaced]
        return (f'{{"environment":{self._environment(namespace, environment)},'
                f'"objects":[{_dumps(obj)}],"cluster":[{",".join(context)}]}}')

    def _context(self, namespace: str, cluster: Sequence[Manifest]) -> _Cached:
        cached = self._namespaces.get(namespace)
        if cached is not None and len(cached.manifests) == len(cluster) and all(
                a is b for a, b in zip(cached.manifests, cluster, strict=True)):
            return cached
        known = ({id(m): t for m, t in zip(cached.manifests, cached.texts, strict=True)}
                 if cached is not None else {})
        manifests = tuple(cluster)
        fresh = _Cached(manifests, tuple(identity(m) for m in manifests),
                        tuple(known.get(id(m)) or _dumps(m) for m in manifests))
        if manifests:
            self._namespaces[namespace] = fresh
        else:
            self._namespaces.pop(namespace, None)   # a namespace emptied: nothing to keep
        return fresh

    def _environment(self, namespace: str, environment: Mapping[str, Any]) -> str:
        cached = self._environments.get(namespace)
        if cached is not None and cached[0] is environment:
            return cached[1]
        text = _dumps(environment)
        self._environments[namespace] = (environment, text)
        return text
