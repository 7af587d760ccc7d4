"""The strict schemas of built-in Kubernetes kinds, as bundled with kubernetes-validate.

They are read in place from the installed package, for the newest Kubernetes version it ships
that is not newer than `KUBERNETES_VERSION`; the library is opened once per process.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from modelops.validate.problems import CatalogError

KUBERNETES_VERSION: Final = "1.32"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


class CoreLibrary:
    """The strict built-in schemas that ship inside kubernetes-validate (read in place)."""

    def __init__(self) -> None:
        import kubernetes_validate.utils as kv

        self._kv = kv
        wanted = _version_key(KUBERNETES_VERSION)
        candidates = [v for v in kv.all_versions() if _version_key(kv.major_minor(v)) <= wanted]
        if not candidates:
            raise CatalogError(
                f"kubernetes-validate has no schemas for Kubernetes {KUBERNETES_VERSION} or older"
            )
        self.version: str = max(candidates, key=_version_key)
        self._dir = f"kubernetes-json-schema/v{self.version}-local-strict"
        self.definitions: dict[str, Any] = self._read("_definitions.json")["$defs"]

    def _read(self, name: str) -> Any:
        try:
            return self._kv.schema_contents(f"{self._dir}/{name}", self.version)
        except (self._kv.VersionNotSupportedError, self._kv.InvalidSchemaError) as exc:
            raise CatalogError(f"kubernetes-validate: {exc.message}") from exc

    def kind_schema(self, group: str, version: str, kind: str) -> dict[str, Any] | None:
        api = f"{group.split('.', 1)[0]}-{version}" if group else version
        try:
            schema: dict[str, Any] = self._read(f"{kind.lower()}-{api}.json")
        except FileNotFoundError:
            return None
        gvk = {"group": group, "version": version, "kind": kind}
        if gvk not in schema.get("x-kubernetes-group-version-kind", []):
            return None
        return schema


@functools.cache
def core_library() -> CoreLibrary:
    return CoreLibrary()
