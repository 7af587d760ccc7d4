"""Local mode: the in-cluster operator, with an environment's rendered manifests as its cluster.

`modelops admission serve --env E` must judge a manifest exactly as the cluster would, without a
cluster. Rather than a second code path that fills the indexes by hand (kopf's indexes have no
public way to be filled except by watching), local mode starts kmock's Kubernetes API emulator
in-process on loopback, loads it with the environment's rendered objects of the indexed kinds
(Seldon kinds, the PrometheusRule, the `modelops-environment` ConfigMap) and points the
unchanged operator at it. kopf lists and watches it like a real apiserver, so the indexes,
handlers and HTTPS server are the very ones that run in the pod. The tests use the same
emulator and change objects through its HTTP API to prove the indexes follow watch events too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import kmock
import kopf
import yaml
from modelops.errors import UsageError
from modelops.policy.inputs import Manifest

from modelops_plugins.admission.resources import INDEXED, WEBHOOKS, Indexed, Resource

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}
# kopf needs Namespaces in API discovery (part of its "backbone") even when it watches none.
_NAMESPACES = Resource("", "v1", "namespaces", "Namespace")
_SERVED = tuple(dict.fromkeys([*(i.resource for i in INDEXED), *(w.resource for w in WEBHOOKS),
                                _NAMESPACES]))


def resource_key(resource: Resource) -> str:
    """kmock's spelling of a resource: `group/version/plural`, core as `version/plural`."""
    prefix = f"{resource.group}/" if resource.group else ""
    return f"{prefix}{resource.version}/{resource.plural}"


def resource_of(obj: Manifest) -> Resource | None:
    """The served resource an object belongs to, or None if the emulator does not hold it."""
    for resource in _SERVED:
        api_version = (f"{resource.group}/{resource.version}" if resource.group
                       else resource.version)
        if obj.get("apiVersion") == api_version and obj.get("kind") == resource.kind:
            return resource
    return None


def indexed_objects(objects: Iterable[Manifest]) -> Iterator[tuple[Resource, Manifest]]:
    """The objects the operator indexes (the kinds and selectors of `resources.INDEXED`)."""
    for obj in objects:
        for indexed in INDEXED:
            if resource_of(obj) == indexed.resource and _selected(indexed, obj):
                yield indexed.resource, obj


def _selected(indexed: Indexed, obj: Manifest) -> bool:
    selected = indexed.selected_field
    if selected is None:
        return True
    field, value = selected
    return field == "metadata.name" and (obj.get("metadata") or {}).get("name") == value


def read_rendered(rendered: Path) -> list[Manifest]:
    """Every object under an environment's rendered/ tree."""
    if not rendered.is_dir():
        raise UsageError(f"{rendered} does not exist; run `make render` first")
    objects: list[Manifest] = []
    for path in sorted(rendered.rglob("*.yaml")):
        for doc in yaml.load_all(path.read_bytes(), Loader=_Loader):
            if isinstance(doc, dict):
                objects.append(doc)
    return objects


def with_uid(obj: Manifest) -> Manifest:
    """A copy with a stable metadata.uid (kopf tells objects apart by uid)."""
    meta = dict(obj.get("metadata") or {})
    identity = f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name', '')}"
    meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, identity)))
    return {**obj, "metadata": meta}


class LocalCluster:
    """kmock's Kubernetes emulator on loopback, holding the given objects.

        async with LocalCluster(objects) as local:
            registry = build_registry(judge, readiness, login=local.login)
    """

    def __init__(self, objects: Iterable[Manifest]) -> None:
        self._objects = list(indexed_objects(objects))
        self.emulator = kmock.KubernetesEmulator()
        self._server = kmock.Server(self.emulator)

    @property
    def url(self) -> str:
        return str(self._server.url).rstrip("/")

    async def __aenter__(self) -> LocalCluster:
        await self.emulator.__aenter__()
        await self._server.__aenter__()
        for resource in _SERVED:
            self.emulator.resources[resource_key(resource)] = kmock.ResourceInfo(
                kind=resource.kind, namespaced=resource is not _NAMESPACES, verbs=_VERBS)
        for resource, obj in self._objects:
            self.put(resource, obj)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._server.__aexit__(exc_type, exc, tb)
        await self.emulator.__aexit__(exc_type, exc, tb)

    def put(self, resource: Resource, obj: Manifest) -> None:
        """Store an object as if it existed before the operator started (no watch event)."""
        meta = obj.get("metadata") or {}
        namespace, name = meta.get("namespace"), str(meta.get("name", ""))
        self.emulator.objects[resource_key(resource), namespace, name] = with_uid(obj)

    def login(self, **_: Any) -> kopf.ConnectionInfo:
        """kopf login handler: the emulator, plain HTTP on loopback, no credentials."""
        return kopf.ConnectionInfo(server=self.url)
